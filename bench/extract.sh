#!/usr/bin/env bash
# Generic article extraction, newsfold beside trafilatura, in one run on the same 181 pages.
#   bash bench/extract.sh [DATA_DIR]
# DATA_DIR defaults to ../shared/data/article-extraction-benchmark. Both extract every page on one
# pinned core; the benchmark's own scorer (score.py) scores both.
set -euo pipefail
cd "$(dirname "$0")/.."
data=${1:-../shared/data/article-extraction-benchmark}
data=$(cd "$data" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

python3 -m venv "$work/venv"
"$work/venv/bin/pip" install --quiet --disable-pip-version-check trafilatura lxml_html_clean

echo "== newsfold"
cargo build --quiet --release
taskset -c 0 cargo bench --quiet --bench extract -- "$data" "$work/newsfold" 3
python3 "$data/score.py" "$work/newsfold"

echo "== trafilatura $("$work/venv/bin/python" -c 'import trafilatura; print(trafilatura.__version__)')"
taskset -c 0 "$work/venv/bin/python" - "$data" "$work/trafilatura" <<'PY'
import gzip, sys, time
from pathlib import Path
import trafilatura

data, out = Path(sys.argv[1]), Path(sys.argv[2])
out.mkdir()
pages = {p.name[:-len(".html.gz")]: gzip.decompress(p.read_bytes()).decode("utf-8", "replace")
         for p in sorted((data / "html").glob("*.html.gz"))}
t = time.perf_counter()
bodies = {pid: trafilatura.extract(html) or "" for pid, html in pages.items()}
secs = time.perf_counter() - t
for pid, body in bodies.items():
    (out / f"{pid}.txt").write_text(body, encoding="utf-8")
print(f"trafilatura: {len(pages)} pages in {secs:.2f}s = {len(pages) / secs:.0f} pages/s (one thread)")
PY
python3 "$data/score.py" "$work/trafilatura"

#!/usr/bin/env bash
# Generic article extraction, newsfold beside trafilatura, in one run on the same pages: the
# article-extraction benchmark (181 pages, body) and Readability's test pages (130 pages, body,
# title, byline, date).
#   bash bench/extract.sh [DATA_DIR...]
# DATA_DIRs default to ../shared/data/article-extraction-benchmark and
# ../shared/data/readability-test-pages. Both tools extract every page on one pinned core; each
# set's own scorer (score.py) scores both (metadata where the set has it and the tool wrote it).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ $# -eq 0 ]; then
  set -- ../shared/data/article-extraction-benchmark ../shared/data/readability-test-pages
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

python3 -m venv "$work/venv"
"$work/venv/bin/pip" install --quiet --disable-pip-version-check trafilatura lxml_html_clean
cargo build --quiet --release

for data in "$@"; do
  data=$(cd "$data" && pwd)
  name=$(basename "$data")
  echo "=== $name"
  echo "== newsfold"
  taskset -c 0 cargo bench --quiet --bench extract -- "$data" "$work/$name-newsfold" 3
  python3 "$data/score.py" "$work/$name-newsfold"

  echo "== trafilatura $("$work/venv/bin/python" -c 'import trafilatura; print(trafilatura.__version__)')"
  taskset -c 0 "$work/venv/bin/python" - "$data" "$work/$name-trafilatura" <<'PY'
import gzip, json, sys, time
from pathlib import Path
import trafilatura

data, out = Path(sys.argv[1]), Path(sys.argv[2])
out.mkdir()
pages = {p.name[:-len(".html.gz")]: gzip.decompress(p.read_bytes()).decode("utf-8", "replace")
         for p in sorted((data / "html").glob("*.html.gz"))}
t = time.perf_counter()
docs = {pid: trafilatura.bare_extraction(html, with_metadata=True) for pid, html in pages.items()}
secs = time.perf_counter() - t
for pid, doc in docs.items():
    doc = doc if isinstance(doc, dict) else (doc.as_dict() if doc is not None else {})
    (out / f"{pid}.txt").write_text(doc.get("text") or "", encoding="utf-8")
    meta = {"title": doc.get("title"), "authors": [doc["author"]] if doc.get("author") else [],
            "published_at": doc.get("date")}
    (out / f"{pid}.json").write_text(json.dumps(meta), encoding="utf-8")
print(f"trafilatura: {len(pages)} pages in {secs:.2f}s = {len(pages) / secs:.0f} pages/s (one thread)")
PY
  python3 "$data/score.py" "$work/$name-trafilatura"
done

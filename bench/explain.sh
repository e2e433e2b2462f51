#!/usr/bin/env bash
# The decision log's cost (issue 15): the same `newsfold once` (files → scrape → fold → JSON Lines)
# over PAGES real pages (default 3,000) with `[state] decision_log` on and off, best of ROUNDS
# (default 3) fresh runs each: pages/s of both, how much slower the log makes it (goal: at most
# 10 %), and what it costs on disk per decision (the state store's size with it, less without).
#   bash bench/explain.sh [PAGES] [ROUNDS]
set -euo pipefail
cd "$(dirname "$0")/.."
pages=${1:-3000}
rounds=${2:-3}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cargo build --release --quiet
bin=$PWD/target/release/newsfold

# Real pages: the article-extraction benchmark, Readability's test pages and the Vietnamese
# pages, each written COPIES times with a sentence of its own added (distinct content, so every
# copy is a decision of its own: most fold as near duplicates of the first, as re-posts do).
python3 - "$work/pages" "$pages" ../shared/data <<'PY'
import gzip, os, re, sys
from pathlib import Path
out, n, data = Path(sys.argv[1]), int(sys.argv[2]), Path(sys.argv[3])
out.mkdir(parents=True, exist_ok=True)
srcs = sorted(data.glob("article-extraction-benchmark/html/*.html.gz")) + sorted(data.glob("readability-test-pages/html/*.html.gz")) + sorted(data.glob("vn-news-pages/html/*.html.gz"))
pages = [gzip.decompress(p.read_bytes()).decode("utf-8", "replace") for p in srcs]
for i in range(n):
    html = pages[i % len(pages)]
    html = re.sub(r"</p>", f" Reference {i} of the copy.</p>", html, count=1)
    (out / f"p{i:06d}.html").write_text(html, encoding="utf-8")
PY

run() { # decision_log → "seconds state_bytes"
  local dir; dir=$(mktemp -d -p "$work")
  cat > "$dir/c.toml" <<TOML
[state]
path = "state.sqlite"
decision_log = $1
[sources.p]
type = "files"
path = "$work/pages"
glob = "*.html"
[sinks.out]
type = "jsonl"
path = "out.jsonl"
TOML
  local start end
  start=$(date +%s.%N)
  "$bin" once --config "$dir/c.toml" >/dev/null 2>"$dir/err" || { tail -5 "$dir/err"; exit 1; }
  end=$(date +%s.%N)
  local bytes
  bytes=$(python3 -c "import sqlite3,os,sys; d=sys.argv[1]; c=sqlite3.connect(d+'/state.sqlite'); c.execute('PRAGMA wal_checkpoint(TRUNCATE)'); c.close(); print(sum(os.path.getsize(os.path.join(d,f)) for f in os.listdir(d) if f.startswith('state.sqlite')))" "$dir")
  echo "$(python3 -c "print($end - $start)") $bytes"
  rm -rf "$dir"
}

best() { # decision_log → best "seconds bytes"
  local b="" r
  for _ in $(seq "$rounds"); do
    r=$(run "$1")
    if [ -z "$b" ] || python3 -c "import sys; sys.exit(0 if float('${r% *}') < float('${b% *}') else 1)"; then b=$r; fi
  done
  echo "$b"
}

on=$(best true)
off=$(best false)
python3 - "$pages" "$on" "$off" <<'PY'
import sys
n = int(sys.argv[1])
ts, bs = sys.argv[2].split(); tf, bf = sys.argv[3].split()
ts, tf, bs, bf = float(ts), float(tf), int(bs), int(bf)
print(f"pages: {n}")
print(f"decision log on:  {n / ts:8.0f} pages/s  state store {bs / 1e6:7.1f} MB")
print(f"decision log off: {n / tf:8.0f} pages/s  state store {bf / 1e6:7.1f} MB")
print(f"slower by {100 * (ts - tf) / tf:+.1f} % (goal at most +10 %); {(bs - bf) / n:.0f} bytes on disk per decision")
PY

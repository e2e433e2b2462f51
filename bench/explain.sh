#!/usr/bin/env bash
# The decision log's cost (issue 15): the same `newsfold once` (files → scrape → fold → JSON Lines)
# over PAGES distinct pages (default 20,000) with `[state] decision_log` on and off, best of ROUNDS
# (default 3) fresh runs each: pages/s of both, how much slower the log makes it (goal: at most
# 10 %), and what it costs on disk per decision (the state store's size with it, less without).
#   bash bench/explain.sh [PAGES] [ROUNDS]
set -euo pipefail
cd "$(dirname "$0")/.."
pages=${1:-20000}
rounds=${2:-3}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cargo build --release --quiet
bin=$PWD/target/release/newsfold

python3 - "$work/pages" "$pages" <<'PY'
import os, sys
out, n = sys.argv[1], int(sys.argv[2])
os.makedirs(out, exist_ok=True)
provinces = ["Quảng Nam", "Quảng Trị", "Hà Giang", "Lào Cai", "Bình Định", "Nghệ An", "Kon Tum"]
for i in range(n):
    p = provinces[i % len(provinces)]
    with open(f"{out}/p{i:06d}.txt", "w", encoding="utf-8") as f:
        f.write(f"(QNO) - Sáng {1 + i % 28}/{1 + (i // 28) % 12}/2024, tại {p}, Công an tỉnh tổ chức hội nghị số {i} "
                f"triển khai Nghị định {i % 97:02d}/2019/NĐ-CP.\n\n"
                f"Các lực lượng đã phối hợp tổ chức {100 + i} đợt vận động với hơn {10 + i % 90}.{i % 1000:03d} người tham dự; "
                f"ông Nguyễn Văn {chr(65 + i % 26)}ăng, Giám đốc Công an tỉnh, chủ trì.\n\n"
                f"Lực lượng chức năng thu giữ {1 + i % 9},{i % 10}kg ma túy và {200 + i} triệu đồng trong vụ án mã {i}.\n")
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

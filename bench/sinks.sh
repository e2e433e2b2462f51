#!/usr/bin/env bash
# Sinks under load, through the whole pipeline (files → scrape → fold → sink):
#   bash bench/sinks.sh [PAGES] [STALLED_PAGES]
# 1. records/s into each sink kind (jsonl, sqlite, postgres, nats, webhook to a local receiver)
#    for PAGES distinct pages (default 20,000), batches of 256;
# 2. peak RSS of `newsfold run` while its only sink (a webhook whose receiver accepts connections
#    and never answers) is stalled and STALLED_PAGES pages (default 100,000) wait upstream.
# Uses the local PostgreSQL (127.0.0.1:5432, database test) and NATS (127.0.0.1:4222).
set -euo pipefail
cd "$(dirname "$0")/.."
pages=${1:-20000}
stalled=${2:-100000}
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT

cargo build --release --quiet
bin=$PWD/target/release/newsfold

python3 - "$work" "$stalled" <<'PY'
import os, sys
work, n = sys.argv[1], int(sys.argv[2])
os.makedirs(f"{work}/pages", exist_ok=True)
provinces = ["Quảng Nam", "Quảng Trị", "Hà Giang", "Lào Cai", "Bình Định"]
for i in range(n):
    with open(f"{work}/pages/s{i:06d}.txt", "w", encoding="utf-8") as f:
        f.write(f"(QNO) - Sáng {1 + i % 28}/{1 + (i // 28) % 12}/2024, tại {provinces[i % 5]}, Công an tỉnh tổ chức hội nghị số {i}.\n"
                f"Các lực lượng đã phối hợp tổ chức {100 + i} đợt vận động với hơn {10 + i % 90}.{i % 1000:03d} người tham dự.\n"
                f"Lực lượng chức năng thu giữ {1 + i % 9},{i % 10}kg ma túy và {200 + i} triệu đồng trong vụ án mã {i}.\n" * 3)
PY
# The throughput runs read the first PAGES pages.
mkdir -p "$work/some"
ls "$work/pages" | sed -n "1,${pages}p" | while read -r f; do ln -s "$work/pages/$f" "$work/some/$f"; done

# A webhook receiver that answers 200 at once, and one that never answers.
python3 - "$work/ok.port" <<'PY' &
import http.server, socketserver, sys
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.send_response(200); self.send_header("Content-Length", "0"); self.end_headers()
    def log_message(self, *a): pass
s = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
open(sys.argv[1], "w").write(str(s.server_address[1])); s.serve_forever()
PY
python3 - "$work/stall.port" <<'PY' &
import socket, sys, time
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(64)
open(sys.argv[1], "w").write(str(s.getsockname()[1]))
held = []
while True:
    c, _ = s.accept(); held.append(c)
PY
for _ in $(seq 50); do [ -s "$work/ok.port" ] && [ -s "$work/stall.port" ] && break; sleep 0.1; done
ok_port=$(cat "$work/ok.port"); stall_port=$(cat "$work/stall.port")
stamp=$(date +%s)

sink_conf() {
    case $1 in
        jsonl) printf '[sinks.s]\ntype = "jsonl"\npath = "%s/out.jsonl"\n' "$work" ;;
        sqlite) printf '[sinks.s]\ntype = "sqlite"\npath = "%s/out.sqlite"\n' "$work" ;;
        postgres) printf '[sinks.s]\ntype = "postgres"\nurl = "postgres://postgres@127.0.0.1:5432/test"\ntable = "bench_%s"\n' "$stamp" ;;
        nats) printf '[sinks.s]\ntype = "nats"\nurl = "nats://127.0.0.1:4222"\nstream = "BENCH_%s"\nsubject = "bench%s.{source}.{lang}"\n' "$stamp" "$stamp" ;;
        webhook) printf '[sinks.s]\ntype = "webhook"\nurl = "http://127.0.0.1:%s/ingest"\nsecret = "bench"\n' "$ok_port" ;;
    esac
}

echo "== records/s per sink ($pages pages, pipeline.sink_batch 256, release build)"
for kind in jsonl sqlite postgres nats webhook; do
    rm -rf "$work/state" "$work/out.jsonl" "$work/out.sqlite"
    { printf '[state]\npath = "%s/state/state.sqlite"\n[pipeline]\nsink_batch = 256\n[sources.b]\ntype = "files"\npath = "%s/some"\n' "$work" "$work"; sink_conf "$kind"; } > "$work/$kind.toml"
    start=$(date +%s.%N)
    "$bin" --log-level warn once --config "$work/$kind.toml" > "$work/$kind.summary"
    end=$(date +%s.%N)
    records=$(awk '$1 == "b" {print $4}' "$work/$kind.summary")
    python3 -c "import sys; r, s, e = int(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3]); print(f'{sys.argv[4]:>9}: {r} records in {e - s:.1f}s = {r / (e - s):.0f} records/s')" "$records" "$start" "$end" "$kind"
done
psql -h 127.0.0.1 -U postgres -d test -qc "DROP TABLE IF EXISTS bench_$stamp; DELETE FROM newsfold_schema WHERE table_name = 'bench_$stamp'" >/dev/null 2>&1 || true

echo "== peak RSS with the only sink stalled and $stalled pages upstream"
rm -rf "$work/state"
{ printf '[state]\npath = "%s/state/state.sqlite"\n[sources.b]\ntype = "files"\npath = "%s/pages"\n' "$work" "$work"
  printf '[sinks.s]\ntype = "webhook"\nurl = "http://127.0.0.1:%s/ingest"\ntimeout = "60s"\n' "$stall_port"; } > "$work/stall.toml"
"$bin" --log-level warn run --config "$work/stall.toml" > /dev/null 2> "$work/stall.log" &
pid=$!
sleep 30
hwm=$(awk '/VmHWM/ {print $2}' /proc/$pid/status)
rss=$(awk '/VmRSS/ {print $2}' /proc/$pid/status)
kill -KILL $pid 2>/dev/null || true
echo "stalled sink: peak RSS $((hwm / 1024)) MB, RSS $((rss / 1024)) MB after 30 s (goal: at most 150 MB)"

#!/usr/bin/env bash
# Fuzzes scrape::scrape and config parsing with cargo fuzz (libFuzzer), each for RUNS executions
# (default 10 million), and prints each target's executions, time, rate and coverage. Not run in
# CI. Needs cargo-fuzz (installed here if missing); the stable toolchain is asked for the nightly
# flags libFuzzer needs through RUSTC_BOOTSTRAP. Edge coverage without comparison tracing (twice the
# executions a second on scrape). No sanitizer: newsfold forbids unsafe code, and
# the point is panics, hangs and runaway memory on hostile input.
#   bash bench/fuzz.sh [RUNS] [TARGET...]
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-10000000}
shift || true
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=(scrape config)
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
export RUSTC_BOOTSTRAP=1
(cd fuzz && cargo fuzz build -s none -O --no-trace-compares)

corpus=fuzz/corpus
mkdir -p "$corpus/scrape" "$corpus/config"
# Seed corpora: the seed pages and the scrape fixtures (a mode byte first: 0 = HTML, no charset),
# and the shipped configs.
for f in seeds/* tests/fixtures/scrape/*/*.html tests/fixtures/scrape/*.html; do
  [ -f "$f" ] || continue
  out="$corpus/scrape/seed-$(basename "$f")"
  [ -e "$out" ] || { printf '\0' | cat - "$f" | head -c 65536 > "$out"; }
done
cp -n config/*.toml deploy/*.toml "$corpus/config/" 2>/dev/null || true

for t in "${targets[@]}"; do
  echo "=== $t: $runs runs"
  log=$(mktemp)
  # -max_len: pages big enough for real structure, small enough for millions of runs;
  # -rss_limit_mb and -timeout catch runaway memory and time on one input.
  (cd fuzz && taskset -c 1 cargo fuzz run -s none -O --no-trace-compares "$t" "corpus/$t" -- \
    -runs="$runs" -max_len=4096 -rss_limit_mb=1024 -timeout=10 -print_final_stats=1) >"$log" 2>&1 || {
    tail -40 "$log"; echo "=== $t: FAILED (artifacts in fuzz/artifacts/$t)"; exit 1; }
  grep -E "^Done|stat::number_of_executed_units|stat::average_exec_per_sec|stat::peak_rss_mb|cov:" "$log" | tail -5
  rm -f "$log"
done

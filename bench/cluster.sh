#!/usr/bin/env bash
# Scale-out, in one run: the same crawl by the embedded default, a one-member cluster and a
# MEMBERS-member cluster (default 3) on this machine, over the local NATS JetStream and PostgreSQL.
#   bash bench/cluster.sh [HOSTS] [PAGES] [DELAY_MS] [MEMBERS]
# HOSTS local sites (default 200) serve PAGES pages in all (default 20,000) through sitemaps, one
# request at a time per host and DELAY_MS (default 20) between requests to a host; the servers
# check it. Prints pages/s, CPU seconds per 1,000 pages, the largest member's peak RSS, and the
# cluster's CPU per page against the embedded default's. Members of one machine share its cores:
# the figures say what the cluster costs, not what more machines would gain.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v /usr/bin/time >/dev/null || { apt-get install -y -qq time >/dev/null; }
ulimit -n 65536 2>/dev/null || true
pg_isready -h 127.0.0.1 -p 5432 -q || { echo "PostgreSQL is not running on 127.0.0.1:5432" >&2; exit 1; }
(exec 3<>/dev/tcp/127.0.0.1/4222) 2>/dev/null || { echo "NATS is not running on 127.0.0.1:4222" >&2; exit 1; }
cargo build --quiet --release
cargo bench --quiet --bench cluster -- "${1:-200}" "${2:-20000}" "${3:-20}" "${4:-3}"

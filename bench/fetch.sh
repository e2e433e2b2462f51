#!/usr/bin/env bash
# Fetching at scale, newsfold beside Scrapy, in one run against the same local sites.
#   bash bench/fetch.sh [HOSTS] [PAGES] [DELAY_MS]
# HOSTS sites (default 200) on loopback addresses serve PAGES article pages in all (default
# 20,000) through their sitemaps. Both crawlers obey robots.txt, keep one request at a time per
# host and DELAY_MS (default 20) between requests to a host; the servers check that they did.
# Prints pages/s, CPU seconds per 1,000 pages and peak RSS for both.
set -euo pipefail
cd "$(dirname "$0")/.."
hosts=${1:-200}
pages=${2:-20000}
delay=${3:-20}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
command -v /usr/bin/time >/dev/null || { apt-get install -y -qq time >/dev/null; }
ulimit -n 65536 2>/dev/null || true

python3 -m venv "$work/venv"
"$work/venv/bin/pip" install --quiet --disable-pip-version-check scrapy
echo "scrapy $("$work/venv/bin/python" -c 'import scrapy; print(scrapy.__version__)')"
cargo build --quiet --release
cargo bench --quiet --bench fetch -- "$hosts" "$pages" "$delay" "$work/venv/bin/python"

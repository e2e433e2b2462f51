#!/usr/bin/env bash
# Fold at scale, newsfold beside datasketch's MinHashLSH, in one run on the same documents.
#   bash bench/fold.sh [DOCS] [PEER_DOCS]
# DOCS documents (default 1,000,000) go through newsfold's fingerprint + story index on one
# thread; the first PEER_DOCS of them (default 50,000: datasketch is slow enough that a full
# million would take most of an hour) go through datasketch (128 permutations, word 4-shingles,
# threshold 0.5, query then insert per document, as an online dedup would).
set -euo pipefail
cd "$(dirname "$0")/.."
docs=${1:-1000000}
peer_docs=${2:-50000}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

python3 -m venv "$work/venv"
"$work/venv/bin/pip" install --quiet --disable-pip-version-check datasketch

echo "== newsfold"
taskset -c 0 cargo bench --quiet --bench fold -- "$docs" "$work/docs.tsv" "$peer_docs"

echo "== datasketch $("$work/venv/bin/python" -c 'import datasketch; print(datasketch.__version__)')"
taskset -c 0 "$work/venv/bin/python" - "$work/docs.tsv" <<'PY'
import sys, time, unicodedata, re
from datasketch import MinHash, MinHashLSH

def fold(s):
    s = unicodedata.normalize("NFD", s)
    s = "".join(c for c in s if not unicodedata.combining(c)).replace("đ", "d").replace("Đ", "D")
    return s.lower()

docs = [line.rstrip("\n").split("\t", 2) for line in open(sys.argv[1], encoding="utf-8")]
lsh = MinHashLSH(threshold=0.5, num_perm=128)
t = time.perf_counter()
for i, (lang, story, text) in enumerate(docs):
    words = [w for w in re.split(r"\W+", fold(text)) if w]
    m = MinHash(num_perm=128)
    for j in range(max(1, len(words) - 3)):
        m.update(" ".join(words[j:j + 4]).encode("utf-8"))
    lsh.query(m)
    lsh.insert(str(i), m)
secs = time.perf_counter() - t
print(f"datasketch MinHashLSH: {len(docs)} documents in {secs:.1f}s = {len(docs) / secs:.0f} docs/s (one thread)")
PY

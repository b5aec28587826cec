#!/usr/bin/env bash
# Both store engines side by side at one size: for each engine in STORES, the ingest benchmark
# (OTLP/HTTP, a fresh store, stopped after SPANS spans) and then the query benchmark (a fresh
# store loaded with SPANS spans), one after the other; then one table with both columns, ready
# for BENCHMARKS.md.
#
# Usage: SPANS=1000000 bench/compare.sh
# Environment overrides:
#   SPANS=1000000 STORES="sqlite clickhouse" PROTOCOL=http DURATION=3600 ITERATIONS=200 DAYS=7
#   SKIP_BUILD=0 BIN=... OUT=...  (and the settings of bench/ingest.sh and bench/query.sh)
# DURATION only bounds a slow ingest run; at the expected rates SPANS is reached first.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

SPANS="${SPANS:-1000000}"
STORES="${STORES:-sqlite clickhouse}"
PROTOCOL="${PROTOCOL:-http}"
DURATION="${DURATION:-3600}"
OUT="${OUT:-$(mktemp -t sightline-compare.XXXXXX.jsonl)}"
export OUT SPANS

if [[ -z "${BIN:-}" && "${SKIP_BUILD:-0}" != "1" ]]; then
    (cd "$HERE/.." && cargo build --release -p sightline)
fi
for store in $STORES; do
    echo "==== $store: ingest, $SPANS spans over OTLP/$PROTOCOL" >&2
    STORE="$store" SKIP_BUILD=1 MAX_SPANS="$SPANS" DURATION="$DURATION" PROTOCOLS="$PROTOCOL" \
        "$HERE/ingest.sh"
    echo "==== $store: query, $SPANS spans loaded" >&2
    STORE="$store" SKIP_BUILD=1 "$HERE/query.sh"
done

echo
echo "Reproduce: SPANS=$SPANS ITERATIONS=${ITERATIONS:-200} DAYS=${DAYS:-7} STORES=\"$STORES\" PROTOCOL=$PROTOCOL bench/compare.sh"
echo "Results: $OUT"
python3 "$HERE/compare_table.py" "$OUT" $STORES

#!/usr/bin/env bash
# Ingest benchmark: for each protocol, start a fresh `sightline serve` on loopback over an empty
# store (SQLite, or a private ClickHouse with STORE=clickhouse), drive it with
# `sightline bench ingest`, record its figures (bytes per span stored included), and stop it.
#
# Usage: bench/ingest.sh            (from anywhere; builds the release binary first)
# Environment overrides:
#   STORE=sqlite|clickhouse  DURATION=20 CONCURRENCY=8 BATCH=500 MAX_SPANS=5000000 SEED=1 GZIP=0
#   PROTOCOLS="http grpc"  HTTP_PORT=14318 GRPC_PORT=14317  SKIP_BUILD=0  BIN=...  KEEP_DATA=0
# A run stops after DURATION seconds or MAX_SPANS spans, whichever comes first: for a fixed
# size, set MAX_SPANS and a long DURATION. See bench/lib.sh for STORE, BIN, OUT and TMPDIR.
# The lines starting with `RESULT ` are also collected into $OUT (default: results.jsonl in a
# temporary directory, path printed at the end).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

DURATION="${DURATION:-20}"
CONCURRENCY="${CONCURRENCY:-8}"
BATCH="${BATCH:-500}"
MAX_SPANS="${MAX_SPANS:-5000000}"
SEED="${SEED:-1}"
GZIP="${GZIP:-0}"
PROTOCOLS="${PROTOCOLS:-http grpc}"
HTTP_PORT="${HTTP_PORT:-14318}"
GRPC_PORT="${GRPC_PORT:-14317}"

bench_init bench-ingest

for protocol in $PROTOCOLS; do
    start_store "$protocol"
    start_server "$protocol"
    args=(bench ingest --protocol "$protocol"
        --http-url "http://127.0.0.1:$HTTP_PORT" --grpc-url "http://127.0.0.1:$GRPC_PORT"
        --concurrency "$CONCURRENCY" --batch-spans "$BATCH" --duration "$DURATION"
        --max-spans "$MAX_SPANS" --seed "$SEED" "${BENCH_STORE_ARGS[@]}" --server-pid "$SERVER_PID")
    [[ "$GZIP" == "1" ]] && args+=(--gzip)
    run_bench "ingest-$protocol" "STORE=$STORE PROTOCOLS=$protocol DURATION=$DURATION CONCURRENCY=$CONCURRENCY BATCH=$BATCH MAX_SPANS=$MAX_SPANS SEED=$SEED GZIP=$GZIP bench/ingest.sh" "${args[@]}"
    stop_all
done

bench_done

#!/usr/bin/env bash
# Query benchmark: start a fresh `sightline serve` on loopback over an empty store (SQLite, or a
# private ClickHouse with STORE=clickhouse), load spans into it over OTLP (trace starts spread
# over the last DAYS days), time the read API (cost rollup included) with
# `sightline bench query`, record its figures, and stop the server.
#
# Usage: bench/query.sh             (from anywhere; builds the release binary first)
# Environment overrides:
#   STORE=sqlite|clickhouse  SPANS=1000000 ITERATIONS=200 DAYS=7 CONCURRENCY=4 BATCH=500 SEED=1
#   HTTP_PORT=14328 GRPC_PORT=14327  SKIP_BUILD=0  KEEP_DATA=0  BIN=target/release/sightline
# See bench/lib.sh for STORE, BIN, OUT and TMPDIR. The `RESULT ` line is also appended to $OUT
# (default: results.jsonl in a temporary directory, path printed at the end).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

SPANS="${SPANS:-1000000}"
ITERATIONS="${ITERATIONS:-200}"
DAYS="${DAYS:-7}"
CONCURRENCY="${CONCURRENCY:-4}"
BATCH="${BATCH:-500}"
SEED="${SEED:-1}"
HTTP_PORT="${HTTP_PORT:-14328}"
GRPC_PORT="${GRPC_PORT:-14327}"

bench_init bench-query
start_store query
start_server query
run_bench query "STORE=$STORE SPANS=$SPANS ITERATIONS=$ITERATIONS DAYS=$DAYS CONCURRENCY=$CONCURRENCY BATCH=$BATCH SEED=$SEED bench/query.sh" \
    bench query --url "http://127.0.0.1:$HTTP_PORT" \
    --load-spans "$SPANS" --days "$DAYS" --concurrency "$CONCURRENCY" --batch-spans "$BATCH" \
    --iterations "$ITERATIONS" --seed "$SEED" "${BENCH_STORE_ARGS[@]}"
bench_done

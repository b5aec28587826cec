#!/usr/bin/env bash
# Dashboard benchmark: start a fresh `sightline serve` on loopback over an empty store (SQLite, or
# a private ClickHouse with STORE=clickhouse), load SPANS spans over the last DAYS days with the
# query benchmark's loader (`sightline bench query`, one timed round, which also warms the store),
# then run bench/dashboard.py: each page's HTML p50/p99 over ITERATIONS requests, a 10,000-span
# trace until ready to interact in headless Chromium, and how long after its export's 2xx a live
# span shows on the open overview and trace list. Prints the figures and the reproducing command.
#
# Usage: bench/dashboard.sh         (from anywhere; builds the release binary first)
# Environment overrides:
#   STORE=sqlite|clickhouse  SPANS=1000000 DAYS=7 ITERATIONS=50 CONCURRENCY=4 BATCH=500 SEED=1
#   HTTP_PORT=14338 GRPC_PORT=14337  SKIP_BUILD=0  KEEP_DATA=0  BIN=target/release/sightline
#   PYTHON=.venv/bin/python (with tests/e2e/requirements.txt; `make venv` makes it)
# Needs chromium and chromedriver (Debian `chromium`, `chromium-driver`).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

SPANS="${SPANS:-1000000}"
DAYS="${DAYS:-7}"
ITERATIONS="${ITERATIONS:-50}"
CONCURRENCY="${CONCURRENCY:-4}"
BATCH="${BATCH:-500}"
SEED="${SEED:-1}"
HTTP_PORT="${HTTP_PORT:-14338}"
GRPC_PORT="${GRPC_PORT:-14337}"
PYTHON="${PYTHON:-$ROOT/.venv/bin/python}"
[[ -x "$PYTHON" ]] || { echo "missing $PYTHON: run \`make venv\` (or set PYTHON)" >&2; exit 1; }

bench_init bench-dashboard
start_store dashboard
start_server dashboard
echo "== loading $SPANS spans over $DAYS days" >&2
"$BIN" bench query --url "http://127.0.0.1:$HTTP_PORT" --load-spans "$SPANS" --days "$DAYS" \
    --concurrency "$CONCURRENCY" --batch-spans "$BATCH" --iterations 1 --seed "$SEED" \
    "${BENCH_STORE_ARGS[@]}" >"$WORK/load.txt"
grep -E '^(  loaded|loaded|stored)' "$WORK/load.txt" >&2 || true
"$PYTHON" "$ROOT/bench/dashboard.py" --url "http://127.0.0.1:$HTTP_PORT" --iterations "$ITERATIONS" \
    --reproduce "STORE=$STORE SPANS=$SPANS DAYS=$DAYS ITERATIONS=$ITERATIONS SEED=$SEED bench/dashboard.sh" \
    | tee "$WORK/dashboard.txt"
grep '^RESULT ' "$WORK/dashboard.txt" | sed 's/^RESULT //' >>"$OUT"
bench_done

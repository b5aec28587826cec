#!/usr/bin/env bash
# Query benchmark: start a fresh `sightline serve` on loopback with an empty data directory,
# load spans into it over OTLP (trace starts spread over the last DAYS days), time the read API
# with `sightline bench query`, record its figures, and stop the server.
#
# Usage: bench/query.sh             (from anywhere; builds the release binary first)
# Environment overrides:
#   SPANS=1000000 ITERATIONS=200 DAYS=7 CONCURRENCY=4 BATCH=500 SEED=1
#   HTTP_PORT=14328 GRPC_PORT=14327  SKIP_BUILD=0  KEEP_DATA=0  BIN=target/release/sightline
# The `RESULT ` line is also appended to $OUT (default: results.jsonl in a temporary directory,
# path printed at the end).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BIN="${BIN:-$ROOT/target/release/sightline}"
SPANS="${SPANS:-1000000}"
ITERATIONS="${ITERATIONS:-200}"
DAYS="${DAYS:-7}"
CONCURRENCY="${CONCURRENCY:-4}"
BATCH="${BATCH:-500}"
SEED="${SEED:-1}"
HTTP_PORT="${HTTP_PORT:-14328}"
GRPC_PORT="${GRPC_PORT:-14327}"
WORK="$(mktemp -d -t sightline-bench-query.XXXXXX)"
OUT="${OUT:-$WORK/results.jsonl}"
SERVER_PID=""

cleanup() {
    if [[ -n "$SERVER_PID" ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
        kill -TERM "$SERVER_PID" 2>/dev/null || true
        for _ in $(seq 1 100); do
            kill -0 "$SERVER_PID" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL "$SERVER_PID" 2>/dev/null || true
    fi
    SERVER_PID=""
    if [[ "${KEEP_DATA:-0}" != "1" ]]; then
        rm -rf "$WORK/data" 2>/dev/null || true
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [[ "${SKIP_BUILD:-0}" != "1" ]]; then
    (cd "$ROOT" && cargo build --release -p sightline)
fi
[[ -x "$BIN" ]] || { echo "missing $BIN" >&2; exit 1; }

# Waits until the HTTP listener answers /health, 30 s at most.
wait_ready() {
    local deadline=$((SECONDS + 30))
    while ((SECONDS < deadline)); do
        kill -0 "$SERVER_PID" 2>/dev/null || { echo "server exited during start-up" >&2; return 1; }
        if command -v curl >/dev/null; then
            curl -fsS -o /dev/null --max-time 1 "http://127.0.0.1:$HTTP_PORT/health" && return 0
        elif (exec 3<>"/dev/tcp/127.0.0.1/$HTTP_PORT") 2>/dev/null; then
            return 0
        fi
        sleep 0.2
    done
    echo "server not ready after 30 s" >&2
    return 1
}

data="$WORK/data"
mkdir -p "$data"
echo "== starting server (data dir $data)" >&2
"$BIN" serve --data-dir "$data" \
    --http-addr "127.0.0.1:$HTTP_PORT" --grpc-addr "127.0.0.1:$GRPC_PORT" \
    >"$WORK/server.log" 2>&1 &
SERVER_PID=$!
if ! wait_ready; then
    tail -n 20 "$WORK/server.log" >&2
    exit 1
fi

"$BIN" bench query --url "http://127.0.0.1:$HTTP_PORT" \
    --load-spans "$SPANS" --days "$DAYS" --concurrency "$CONCURRENCY" --batch-spans "$BATCH" \
    --iterations "$ITERATIONS" --seed "$SEED" --data-dir "$data" | tee "$WORK/bench-query.txt"
grep '^RESULT ' "$WORK/bench-query.txt" | sed 's/^RESULT //' >>"$OUT"
cleanup

echo "results: $OUT" >&2

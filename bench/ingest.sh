#!/usr/bin/env bash
# Ingest benchmark: for each protocol, start a fresh `sightline serve` on loopback with an empty
# data directory, drive it with `sightline bench ingest`, record its figures, and stop it.
#
# Usage: bench/ingest.sh            (from anywhere; builds the release binary first)
# Environment overrides:
#   DURATION=20 CONCURRENCY=8 BATCH=500 MAX_SPANS=5000000 SEED=1 GZIP=0
#   PROTOCOLS="http grpc"  HTTP_PORT=14318 GRPC_PORT=14317  SKIP_BUILD=0
# The lines starting with `RESULT ` are also collected into $OUT (default: bench/results.jsonl
# under a temporary directory, path printed at the end).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BIN="$ROOT/target/release/sightline"
DURATION="${DURATION:-20}"
CONCURRENCY="${CONCURRENCY:-8}"
BATCH="${BATCH:-500}"
MAX_SPANS="${MAX_SPANS:-5000000}"
SEED="${SEED:-1}"
GZIP="${GZIP:-0}"
PROTOCOLS="${PROTOCOLS:-http grpc}"
HTTP_PORT="${HTTP_PORT:-14318}"
GRPC_PORT="${GRPC_PORT:-14317}"
WORK="$(mktemp -d -t sightline-bench.XXXXXX)"
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
    # Keep the results file if it lives in the work dir; remove the data dirs.
    rm -rf "$WORK"/data-* 2>/dev/null || true
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [[ "${SKIP_BUILD:-0}" != "1" ]]; then
    (cd "$ROOT" && cargo build --release -p sightline)
fi
[[ -x "$BIN" ]] || { echo "missing $BIN" >&2; exit 1; }

# Waits until the HTTP listener answers /health (or, failing curl, accepts TCP), 30 s at most.
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

for protocol in $PROTOCOLS; do
    data="$WORK/data-$protocol"
    mkdir -p "$data"
    echo "== $protocol: starting server (data dir $data)" >&2
    "$BIN" serve --data-dir "$data" \
        --http-addr "127.0.0.1:$HTTP_PORT" --grpc-addr "127.0.0.1:$GRPC_PORT" \
        >"$WORK/server-$protocol.log" 2>&1 &
    SERVER_PID=$!
    if ! wait_ready; then
        tail -n 20 "$WORK/server-$protocol.log" >&2
        exit 1
    fi

    args=(bench ingest --protocol "$protocol"
        --http-url "http://127.0.0.1:$HTTP_PORT" --grpc-url "http://127.0.0.1:$GRPC_PORT"
        --concurrency "$CONCURRENCY" --batch-spans "$BATCH" --duration "$DURATION"
        --max-spans "$MAX_SPANS" --seed "$SEED"
        --data-dir "$data" --server-pid "$SERVER_PID")
    [[ "$GZIP" == "1" ]] && args+=(--gzip)
    "$BIN" "${args[@]}" | tee "$WORK/bench-$protocol.txt"
    grep '^RESULT ' "$WORK/bench-$protocol.txt" | sed 's/^RESULT //' >>"$OUT"
    cleanup
done

echo "results: $OUT" >&2

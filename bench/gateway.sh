#!/usr/bin/env bash
# Gateway benchmark: start the mock LLM upstream (`sightline bench mock-upstream`) and a fresh
# `sightline serve` whose `openai` upstream is the mock (recording every call into its store),
# then run `sightline bench gateway`: the same client calls the mock directly and through the
# gateway, interleaved, at RATE requests/s to each side and with CONCURRENCY clients, non-streaming
# and streaming, DURATION seconds per phase; it reports the gateway's added p50/p99 latency and
# time to first chunk, and the server's CPU and peak RSS.
#
# Usage: bench/gateway.sh            (from anywhere; builds the release binary first)
# Environment overrides:
#   RATE=1000 CONCURRENCY=16 DURATION=10 HTTP_PORT=14318 GRPC_PORT=14317 MOCK_PORT=14319
#   STORE=sqlite|clickhouse  SKIP_BUILD=0  BIN=...  (see bench/lib.sh)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

RATE="${RATE:-1000}"
CONCURRENCY="${CONCURRENCY:-16}"
DURATION="${DURATION:-10}"
HTTP_PORT="${HTTP_PORT:-14318}"
GRPC_PORT="${GRPC_PORT:-14317}"
MOCK_PORT="${MOCK_PORT:-14319}"
MOCK_PID=""

bench_init bench-gateway
stop_mock() {
    if [[ -n "$MOCK_PID" ]]; then
        kill -TERM "$MOCK_PID" 2>/dev/null || true
        MOCK_PID=""
    fi
    stop_all
}
trap stop_mock EXIT

"$BIN" bench mock-upstream --port "$MOCK_PORT" >"$WORK/mock.log" 2>&1 &
MOCK_PID=$!
for _ in $(seq 1 50); do
    grep -q "listening on" "$WORK/mock.log" && break
    sleep 0.1
done
export SIGHTLINE_GATEWAY__UPSTREAMS="openai=http://127.0.0.1:$MOCK_PORT/v1"
start_store gateway
# A key, as in production: callers are known by their Sightline key (sent in Sightline-Auth).
KEY="$("$BIN" keys create --project bench --json "${SERVE_STORE_ARGS[@]}" | sed 's/.*"secret_key":"\([^"]*\)".*/\1/')"
start_server gateway
run_bench gateway "STORE=$STORE RATE=$RATE CONCURRENCY=$CONCURRENCY DURATION=$DURATION bench/gateway.sh" \
    bench gateway --mock-url "http://127.0.0.1:$MOCK_PORT" --gateway-url "http://127.0.0.1:$HTTP_PORT" \
    --rate "$RATE" --concurrency "$CONCURRENCY" --duration "$DURATION" --server-pid "$SERVER_PID" --api-key "$KEY"
bench_done

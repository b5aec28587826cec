# Shared by the bench scripts (sourced, not run): the binary, the store a private server runs
# on, and starting and stopping both. Nothing here outlives the script that sources it: the
# EXIT trap stops the server and ClickHouse and removes their data.
#
# Environment:
#   STORE=sqlite|clickhouse  the engine of the private server (default sqlite). clickhouse starts
#                            a private clickhouse-server with scripts/clickhouse-test-server.sh:
#                            a free loopback port, its data under the bench's temporary directory
#   BIN=path                 the sightline binary (default target/release/sightline, built first;
#                            a given BIN is not built, e.g. BIN=target/debug/sightline)
#   SKIP_BUILD=1             do not build the release binary
#   KEEP_DATA=1              keep the data directories (SQLite only; ClickHouse is always removed)
#   OUT=file                 the RESULT lines are appended here as JSON (one line per run)
#   TMPDIR                   where the temporary directory (and with it all data) goes
# Functions: bench_init NAME, start_store LABEL, start_server LABEL, stop_all, run_bench LABEL
# ARGS..., bench_done. After start_store: SERVE_STORE_ARGS (for `sightline serve`) and
# BENCH_STORE_ARGS (for `sightline bench`, which measures bytes on disk through them).

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CLICKHOUSE_SCRIPT="$ROOT/scripts/clickhouse-test-server.sh"
STORE="${STORE:-sqlite}"
SERVER_PID=""
BENCH_PID=""
CLICKHOUSE_URL=""
SERVE_STORE_ARGS=()
BENCH_STORE_ARGS=()

# bench_init NAME: checks the settings, makes the work directory, installs the cleanup traps and
# builds the binary when needed.
bench_init() {
    case "$STORE" in
        sqlite | clickhouse) ;;
        *) echo "STORE=$STORE: expected sqlite or clickhouse" >&2; exit 2 ;;
    esac
    WORK="$(mktemp -d -t "sightline-$1.XXXXXX")"
    OUT="${OUT:-$WORK/results.jsonl}"
    trap stop_all EXIT
    trap 'exit 130' INT TERM
    if [[ -n "${BIN:-}" ]]; then
        [[ "$BIN" == /* ]] || BIN="$PWD/$BIN"
    else
        BIN="$ROOT/target/release/sightline"
        if [[ "${SKIP_BUILD:-0}" != "1" ]]; then
            (cd "$ROOT" && cargo build --release -p sightline)
        fi
    fi
    [[ -x "$BIN" ]] || { echo "missing $BIN (build it, or set BIN)" >&2; exit 1; }
}

# start_store LABEL: an empty store for one run.
start_store() {
    local label="$1"
    if [[ "$STORE" == "clickhouse" ]]; then
        mkdir -p "$WORK/clickhouse"
        # --owner-pid: should this script die without its trap, ClickHouse still stops.
        CLICKHOUSE_URL="$(TMPDIR="$WORK/clickhouse" "$CLICKHOUSE_SCRIPT" start --owner-pid $$)"
        local url="${CLICKHOUSE_URL}?database=sightline"
        echo "== $label: ClickHouse at $CLICKHOUSE_URL (data under $WORK/clickhouse)" >&2
        SERVE_STORE_ARGS=(--store clickhouse --clickhouse-url "$url")
        BENCH_STORE_ARGS=(--clickhouse-url "$url")
    else
        local data="$WORK/data-$label"
        mkdir -p "$data"
        echo "== $label: SQLite in $data" >&2
        SERVE_STORE_ARGS=(--store sqlite --data-dir "$data")
        BENCH_STORE_ARGS=(--data-dir "$data")
    fi
}

# start_server LABEL: `sightline serve` on HTTP_PORT / GRPC_PORT over the store, once it answers.
start_server() {
    local label="$1"
    "$BIN" serve "${SERVE_STORE_ARGS[@]}" \
        --http-addr "127.0.0.1:$HTTP_PORT" --grpc-addr "127.0.0.1:$GRPC_PORT" \
        >"$WORK/server-$label.log" 2>&1 &
    SERVER_PID=$!
    if ! wait_ready; then
        tail -n 20 "$WORK/server-$label.log" >&2
        exit 1
    fi
}

# Waits until the HTTP listener answers /health, 60 s at most (ClickHouse migrations included).
wait_ready() {
    local deadline=$((SECONDS + 60))
    while ((SECONDS < deadline)); do
        kill -0 "$SERVER_PID" 2>/dev/null || { echo "server exited during start-up" >&2; return 1; }
        curl -fsS -o /dev/null --max-time 1 "http://127.0.0.1:$HTTP_PORT/health" && return 0
        sleep 0.2
    done
    echo "server not ready after 60 s" >&2
    return 1
}

# stop_all: stops the benchmark client and the server, then ClickHouse, and removes the data
# (the results stay).
stop_all() {
    if [[ -n "$BENCH_PID" ]]; then
        kill -TERM "$BENCH_PID" 2>/dev/null || true
        BENCH_PID=""
    fi
    if [[ -n "$SERVER_PID" ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
        kill -TERM "$SERVER_PID" 2>/dev/null || true
        for _ in $(seq 1 100); do
            kill -0 "$SERVER_PID" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL "$SERVER_PID" 2>/dev/null || true
    fi
    SERVER_PID=""
    if [[ -n "$CLICKHOUSE_URL" ]]; then
        TMPDIR="$WORK/clickhouse" "$CLICKHOUSE_SCRIPT" stop "$CLICKHOUSE_URL" || true
        CLICKHOUSE_URL=""
    fi
    if [[ -n "${WORK:-}" && "${KEEP_DATA:-0}" != "1" ]]; then
        rm -rf "$WORK"/data-* "$WORK/clickhouse" 2>/dev/null || true
    fi
}

# run_bench LABEL REPRODUCE ARGS...: runs `sightline ARGS...` (a bench command), shows its report,
# and appends its RESULT line to $OUT with the script command that reproduces it.
run_bench() {
    local label="$1" reproduce="$2"
    shift 2
    local file="$WORK/bench-$label.txt" status=0 tail_pid
    # In the background, so that INT/TERM interrupt the wait and the cleanup stops it.
    "$BIN" "$@" >"$file" &
    BENCH_PID=$!
    tail -n +1 -f --pid="$BENCH_PID" "$file" &
    tail_pid=$!
    wait "$BENCH_PID" || status=$?
    BENCH_PID=""
    wait "$tail_pid" || true
    ((status == 0)) || { echo "the benchmark exited with status $status" >&2; exit 1; }
    local result
    result="$(grep '^RESULT ' "$file" | sed 's/^RESULT //')" || {
        echo "no RESULT line from the benchmark (see above)" >&2
        exit 1
    }
    # The reproducing command has no quotes or backslashes (plain settings), so it embeds as is.
    echo "{\"script\": \"$reproduce\", ${result#\{}" >>"$OUT"
    echo "  reproduce           $reproduce"
}

bench_done() {
    stop_all
    echo "results: $OUT" >&2
}

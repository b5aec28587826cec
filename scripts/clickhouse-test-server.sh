#!/usr/bin/env bash
# A throwaway clickhouse-server for tests: its own temporary data dir and config, loopback only,
# a free port, no dependency on the system service.
#
#   scripts/clickhouse-test-server.sh start [--owner-pid PID]   prints the server's URL
#   scripts/clickhouse-test-server.sh start-cluster N [--owner-pid PID]
#       starts N servers that each know the cluster `sightline_test` (one shard per server, in
#       <remote_servers>) for Distributed tables; prints their URLs, one a line, shard 1 first
#   scripts/clickhouse-test-server.sh restart URL|PORT   starts a stopped or killed server again on
#       the same port and data (fault tests kill -9 the pid in $TMPDIR/sightline-clickhouse-PORT/pid)
#   scripts/clickhouse-test-server.sh stop URL|PORT             stops it and removes its data
#
# With --owner-pid the server also stops (and its data is removed) once that process exits, so a
# test run that dies never leaves a server behind; a server killed on purpose keeps its data
# until then, so it can be restarted.
set -euo pipefail

BIN="${CLICKHOUSE_SERVER_BIN:-$(command -v clickhouse-server || echo /usr/sbin/clickhouse-server)}"
STATE_ROOT="${TMPDIR:-/tmp}"

die() { echo "clickhouse-test-server: $*" >&2; exit 1; }

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

state_dir() { echo "$STATE_ROOT/sightline-clickhouse-$1"; }

port_of() {
  local port="${1:-}"
  port="${port%/}"; port="${port##*:}"; port="${port%%/*}"
  [[ "$port" =~ ^[0-9]+$ ]] || die "expected the URL or port that start printed, got '${1:-}'"
  echo "$port"
}

stop() {
  local port; port="$(port_of "${1:-}")"
  local dir; dir="$(state_dir "$port")"
  [[ -d "$dir" ]] || die "no test server on port $port ($dir missing)"
  if [[ -f "$dir/pid" ]]; then
    local pid; pid="$(cat "$dir/pid")"
    if kill -0 "$pid" 2>/dev/null; then
      kill "$pid" 2>/dev/null || true
      for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -9 "$pid" 2>/dev/null || true
    fi
  fi
  if [[ -f "$dir/watchdog.pid" ]]; then
    kill "$(cat "$dir/watchdog.pid")" 2>/dev/null || true
  fi
  rm -rf "$dir" "$dir.tcp"
}

# write_config PORT [CLUSTER_PORTS...]: the config of the server on PORT; with CLUSTER_PORTS, a
# <remote_servers> cluster `sightline_test` with one shard per port.
write_config() {
  local port="$1"; shift
  local dir; dir="$(state_dir "$port")"
  mkdir -p "$dir/data" "$dir/tmp" "$dir/user_files" "$dir/format_schemas" "$dir/log"
  local remote="" tcp="" p
  if [[ $# -gt 0 ]]; then
    tcp="<tcp_port>$(tcp_port "$port")</tcp_port>"
    remote="<remote_servers><sightline_test>"
    for p in "$@"; do
      remote+="<shard><replica><host>127.0.0.1</host><port>$(tcp_port "$p")</port></replica></shard>"
    done
    remote+="</sightline_test></remote_servers>"
  fi
  cat >"$dir/config.xml" <<EOF
<?xml version="1.0"?>
<yandex>
    <logger>
        <level>warning</level>
        <log>$dir/log/server.log</log>
        <errorlog>$dir/log/server.err.log</errorlog>
        <size>10M</size>
        <count>1</count>
    </logger>
    <http_port>$port</http_port>
    $tcp
    $remote
    <listen_host>127.0.0.1</listen_host>
    <max_connections>256</max_connections>
    <keep_alive_timeout>10</keep_alive_timeout>
    <max_concurrent_queries>100</max_concurrent_queries>
    <uncompressed_cache_size>67108864</uncompressed_cache_size>
    <mark_cache_size>67108864</mark_cache_size>
    <path>$dir/data/</path>
    <tmp_path>$dir/tmp/</tmp_path>
    <user_files_path>$dir/user_files/</user_files_path>
    <format_schema_path>$dir/format_schemas/</format_schema_path>
    <users_config>$dir/users.xml</users_config>
    <default_profile>default</default_profile>
    <default_database>default</default_database>
    <timezone>UTC</timezone>
    <mlock_executable>false</mlock_executable>
</yandex>
EOF
  cat >"$dir/users.xml" <<EOF
<?xml version="1.0"?>
<yandex>
    <profiles><default><max_memory_usage>2000000000</max_memory_usage></default></profiles>
    <users>
        <default>
            <password></password>
            <networks><ip>127.0.0.1</ip><ip>::1</ip></networks>
            <profile>default</profile>
            <quota>default</quota>
        </default>
    </users>
    <quotas><default><interval><duration>3600</duration><queries>0</queries><errors>0</errors>
        <result_rows>0</result_rows><read_rows>0</read_rows><execution_time>0</execution_time>
    </interval></default></quotas>
</yandex>
EOF
}

# The native (TCP) port a cluster member listens on for the other shards (picked at start-up).
tcp_port() { cat "$(state_dir "$1").tcp"; }

# launch PORT: runs the server configured in its state dir and waits until it answers.
launch() {
  local port="$1"
  local dir; dir="$(state_dir "$port")"
  [[ -x "$BIN" ]] || die "clickhouse-server not found; install it: apt-get install -y clickhouse-server"
  [[ -f "$dir/config.xml" ]] || die "no test server on port $port ($dir/config.xml missing)"
  (cd "$dir" && exec "$BIN" --config-file="$dir/config.xml" >>"$dir/log/stdout.log" 2>&1) &
  local pid=$!
  echo "$pid" >"$dir/pid"
  local url="http://127.0.0.1:$port/"
  for _ in $(seq 1 300); do
    if ! kill -0 "$pid" 2>/dev/null; then
      cat "$dir/log/stdout.log" "$dir/log/server.err.log" >&2 2>/dev/null || true
      echo "clickhouse-test-server: clickhouse-server on port $port exited during start-up (output above)" >&2
      return 1
    fi
    if [[ "$(curl -s --max-time 1 "${url}ping" 2>/dev/null || true)" == "Ok." ]]; then
      return 0
    fi
    sleep 0.1
  done
  echo "clickhouse-test-server: clickhouse-server did not answer on $url within 30 s" >&2
  return 1
}

# watch PORT OWNER: once OWNER exits, stops the server (whatever pid it has by then) and removes
# its data; a server killed on purpose is left for `restart`. Exits by itself after `stop`.
watch() {
  local port="$1" owner="$2"
  local dir; dir="$(state_dir "$port")"
  (
    trap '' HUP
    while kill -0 "$owner" 2>/dev/null && [[ -d "$dir" ]]; do sleep 1; done
    [[ -d "$dir" ]] || exit 0
    pid="$(cat "$dir/pid" 2>/dev/null || true)"
    if [[ -n "$pid" ]]; then
      kill "$pid" 2>/dev/null || true
      for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -9 "$pid" 2>/dev/null || true
    fi
    rm -rf "$dir" "$dir.tcp"
  ) </dev/null >/dev/null 2>&1 &
  echo $! >"$dir/watchdog.pid"
}

owner_option() {
  case "${1:-}" in
    --owner-pid) echo "${2:-}" ;;
    "") echo "" ;;
    *) die "unknown option $1 (expected --owner-pid PID)" ;;
  esac
}

start() {
  local owner; owner="$(owner_option "$@")"
  local port; port="$(free_port)"
  write_config "$port"
  launch "$port" || { stop "$port"; exit 1; }
  if [[ -n "$owner" ]]; then watch "$port" "$owner"; fi
  echo "http://127.0.0.1:$port/"
}

start_cluster() {
  local n="${1:-}"; shift || true
  [[ "$n" =~ ^[1-9]$ ]] || die "start-cluster needs the number of shards (1-9)"
  local owner; owner="$(owner_option "$@")"
  local ports=() p q
  for _ in $(seq 1 "$n"); do
    p="$(free_port)"
    ports+=("$p")
    free_port >"$(state_dir "$p").tcp"
  done
  for p in "${ports[@]}"; do write_config "$p" "${ports[@]}"; done
  for p in "${ports[@]}"; do
    if ! launch "$p"; then
      for q in "${ports[@]}"; do [[ -d "$(state_dir "$q")" ]] && stop "$q"; done
      exit 1
    fi
    if [[ -n "$owner" ]]; then watch "$p" "$owner"; fi
  done
  for p in "${ports[@]}"; do echo "http://127.0.0.1:$p/"; done
}

restart() {
  local port; port="$(port_of "${1:-}")"
  local dir; dir="$(state_dir "$port")"
  # A killed server may linger as a zombie until its new parent reaps it: that counts as gone.
  local state
  state="$(ps -o stat= -p "$(cat "$dir/pid" 2>/dev/null || echo 0)" 2>/dev/null || true)"
  if [[ -n "$state" && "$state" != Z* ]]; then
    die "the server on port $port is still running"
  fi
  launch "$port" || exit 1
  echo "http://127.0.0.1:$port/"
}

case "${1:-}" in
  start) shift; start "$@" ;;
  start-cluster) shift; start_cluster "$@" ;;
  restart) shift; restart "${1:-}" ;;
  stop) shift; stop "${1:-}" ;;
  *) die "usage: $0 start [--owner-pid PID] | start-cluster N [--owner-pid PID] | restart URL|PORT | stop URL|PORT" ;;
esac

#!/usr/bin/env bash
# A throwaway clickhouse-server for tests: its own temporary data dir and config, loopback only,
# a free port, no dependency on the system service.
#
#   scripts/clickhouse-test-server.sh start [--owner-pid PID]   prints the server's URL
#   scripts/clickhouse-test-server.sh stop URL|PORT             stops it and removes its data
#
# With --owner-pid the server also stops (and its data is removed) once that process exits, so a
# test run that dies never leaves a server behind.
set -euo pipefail

BIN="${CLICKHOUSE_SERVER_BIN:-$(command -v clickhouse-server || echo /usr/sbin/clickhouse-server)}"
STATE_ROOT="${TMPDIR:-/tmp}"

die() { echo "clickhouse-test-server: $*" >&2; exit 1; }

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

state_dir() { echo "$STATE_ROOT/sightline-clickhouse-$1"; }

stop() {
  local port="${1:-}"
  port="${port##*:}"; port="${port%%/*}"
  [[ "$port" =~ ^[0-9]+$ ]] || die "stop needs the URL or port that start printed"
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
  rm -rf "$dir"
}

start() {
  local owner=""
  while [[ $# -gt 0 ]]; do
    case "$1" in
      --owner-pid) owner="${2:-}"; shift 2 ;;
      *) die "unknown option $1 (expected --owner-pid PID)" ;;
    esac
  done
  [[ -x "$BIN" ]] || die "clickhouse-server not found; install it: apt-get install -y clickhouse-server"
  local port dir
  port="$(free_port)"
  dir="$(state_dir "$port")"
  mkdir -p "$dir/data" "$dir/tmp" "$dir/user_files" "$dir/format_schemas" "$dir/log"
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
  (cd "$dir" && exec "$BIN" --config-file="$dir/config.xml" >"$dir/log/stdout.log" 2>&1) &
  local pid=$!
  echo "$pid" >"$dir/pid"
  local url="http://127.0.0.1:$port/"
  local ready=""
  for _ in $(seq 1 300); do
    if ! kill -0 "$pid" 2>/dev/null; then
      cat "$dir/log/stdout.log" "$dir/log/server.err.log" >&2 2>/dev/null || true
      rm -rf "$dir"
      die "clickhouse-server exited during start-up (output above)"
    fi
    if [[ "$(curl -s --max-time 1 "${url}ping" 2>/dev/null || true)" == "Ok." ]]; then
      ready=1; break
    fi
    sleep 0.1
  done
  if [[ -z "$ready" ]]; then
    stop "$port"
    die "clickhouse-server did not answer on $url within 30 s"
  fi
  if [[ -n "$owner" ]]; then
    (
      trap '' HUP
      while kill -0 "$owner" 2>/dev/null && kill -0 "$pid" 2>/dev/null; do sleep 1; done
      kill "$pid" 2>/dev/null || true
      for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -9 "$pid" 2>/dev/null || true
      rm -rf "$dir"
    ) </dev/null >/dev/null 2>&1 &
    echo $! >"$dir/watchdog.pid"
  fi
  echo "$url"
}

case "${1:-}" in
  start) shift; start "$@" ;;
  stop) shift; stop "${1:-}" ;;
  *) die "usage: $0 start [--owner-pid PID] | stop URL|PORT" ;;
esac

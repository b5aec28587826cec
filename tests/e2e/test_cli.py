"""The terminal clients (`traces`, `trace`, `sessions`, `session`, `logs`, `tail`) run as the real
binary against a real server: tables, the trace tree, conversations, --json, the live tail,
the server's error messages, connection failures and key auth."""

import http.server
import json
import queue
import re
import signal
import subprocess
import threading
import time

from conftest import BIN, clean_env, free_port

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
OTHER = "0af7651916cd43dd8448eb211c80319c"
ROOT, CHAT, TOOL, ORPHAN = "00f067aa0ba902b7", "1111111111111111", "2222222222222222", "3333333333333333"
MISSING_PARENT = "9999999999999999"
MS = 1_000_000


def kv(key, value):
    if isinstance(value, bool):
        v = {"boolValue": value}
    elif isinstance(value, int):
        v = {"intValue": str(value)}
    else:
        v = {"stringValue": value}
    return {"key": key, "value": v}


def span(trace_id, span_id, name, start, end, attrs, parent=None, status=None):
    s = {"traceId": trace_id, "spanId": span_id, "name": name, "kind": 1,
         "startTimeUnixNano": str(start), "endTimeUnixNano": str(end),
         "attributes": [kv(k, v) for k, v in attrs.items()]}
    if parent:
        s["parentSpanId"] = parent
    if status:
        s["status"] = status
    return s


def export(server, spans, service, key=None):
    body = {"resourceSpans": [{
        "resource": {"attributes": [kv("service.name", service)]},
        "scopeSpans": [{"scope": {"name": "cli-e2e"}, "spans": spans}],
    }]}
    r = server.post("/v1/traces", json.dumps(body), key=key)
    assert r.status_code == 200, r.text


def store_data(server, key=None):
    """Two traces and two logs, timed a minute ago. The first trace has an agent root, an llm
    call, a failed tool call with a log, and an orphan; the second is a plain background job."""
    t0 = time.time_ns() - 60_000 * MS
    common = {"session.id": "sess-cli", "user.id": "u-cli"}
    export(server, [
        span(TRACE, ROOT, "invoke_agent planner", t0, t0 + 2000 * MS, {
            **common, "gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": "planner",
            "input.value": "Plan a weekend in Paris", "output.value": "Here is your plan",
        }),
        span(TRACE, CHAT, "chat gpt-4o", t0 + 100 * MS, t0 + 1100 * MS, {
            **common, "gen_ai.operation.name": "chat", "gen_ai.provider.name": "openai",
            "gen_ai.request.model": "gpt-4o",
            "gen_ai.usage.input_tokens": 1200, "gen_ai.usage.output_tokens": 300,
        }, parent=ROOT),
        span(TRACE, TOOL, "execute_tool search", t0 + 1200 * MS, t0 + 1500 * MS, {
            **common, "gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": "search",
        }, parent=ROOT, status={"code": 2, "message": "search timed out after 300ms"}),
        span(TRACE, ORPHAN, "late step", t0 + 1600 * MS, t0 + 2000 * MS, common, parent=MISSING_PARENT),
    ], "cli-svc", key)
    export(server, [span(OTHER, ROOT, "background job", t0 + 5000 * MS, t0 + 5100 * MS, {})],
           "other-svc", key)
    events = [
        {"timestamp": (t0 + 1450 * MS) // MS, "message": "retrying search", "level": "warn",
         "trace_id": TRACE, "span_id": TOOL, "service": "cli-svc"},
        {"timestamp": (t0 + 1900 * MS) // MS, "message": "planner finished", "level": "info",
         "trace_id": TRACE, "service": "cli-svc"},
    ]
    r = server.post("/api/v1/events", json.dumps(events), key=key)
    assert r.status_code == 200, r.text


def cli(server, *args, key=None, url=None, check=True):
    """Runs `sightline ARGS` against `server`; returns the CompletedProcess."""
    env = {"SIGHTLINE_URL": url or server.url}
    if key:
        env["SIGHTLINE_API_KEY"] = key
    out = subprocess.run([str(BIN), *args], capture_output=True, text=True, timeout=60,
                         env=clean_env(env))
    if check:
        assert out.returncode == 0, f"exit {out.returncode}\nstdout:\n{out.stdout}\nstderr:\n{out.stderr}"
    return out


def rows(stdout):
    """Table rows (the header line and any cursor hint left out)."""
    lines = stdout.rstrip("\n").split("\n")
    assert lines[0].startswith("TIME"), stdout
    return [line for line in lines[1:] if not line.startswith("more: ")]


def test_traces_table_and_filters(server):
    store_data(server)
    out = cli(server, "traces", "--wide").stdout
    listed = rows(out)
    assert len(listed) == 2, out
    # newest first: the background job started 5 s after the agent run
    assert OTHER in listed[0] and "background job" in listed[0] and "other-svc" in listed[0]
    agent = listed[1]
    assert TRACE in agent and "invoke_agent planner" in agent and "cli-svc" in agent
    assert re.search(r"\b2\.00s\b", agent) and re.search(r"\b1\.5k\b", agent), agent
    assert agent.rstrip().endswith("✗ 1"), agent  # one failed observation
    assert "✗" not in listed[0]

    short = rows(cli(server, "traces").stdout)
    assert short[1].split()[2] == TRACE[:8], short

    def ids(*flags):
        return [line for line in rows(cli(server, "traces", "--wide", *flags).stdout)]

    assert [TRACE in r for r in ids("--service", "cli-svc")] == [True]
    assert [TRACE in r for r in ids("--status", "error")] == [True]
    assert [TRACE in r for r in ids("--model", "gpt-4o", "--kind", "llm")] == [True]
    assert [OTHER in r for r in ids("--name", "background job")] == [True]
    assert [TRACE in r for r in ids("--session", "sess-cli", "--user", "u-cli")] == [True]
    assert [TRACE in r for r in ids("--min-duration", "1s", "--since", "1h")] == [True]
    assert [OTHER in r for r in ids("--asc", "--sort", "duration")][0] is True
    assert cli(server, "traces", "--service", "nobody").stdout == "no traces found\n"

    first = cli(server, "traces", "--wide", "--limit", "1").stdout
    hint = re.search(r"^more: add --cursor (\S+)$", first, re.M)
    assert hint and OTHER in rows(first)[0], first
    second = cli(server, "traces", "--wide", "--limit", "1", "--cursor", hint.group(1)).stdout
    assert TRACE in rows(second)[0] and "more:" not in second, second


def test_trace_tree(server):
    store_data(server)
    out = cli(server, "trace", TRACE).stdout
    lines = out.split("\n")
    assert lines[0] == f"trace {TRACE}"
    assert "invoke_agent planner" in lines[1] and "4 spans" in lines[1] and "✗ 1 error" in lines[1]

    table = next(i for i, line in enumerate(lines) if line.startswith("KIND "))

    def line_of(text):
        found = [i for i, line in enumerate(lines) if text in line and i > table]
        assert found, f"{text!r} not in\n{out}"
        return found[0]

    root, chat, tool, orphan = (line_of(n) for n in
                                ("invoke_agent planner  ", "chat gpt-4o", "execute_tool search", "late step"))
    assert root < chat < tool < orphan, out
    assert lines[root].startswith("agent ") and lines[chat].startswith("llm ") and lines[tool].startswith("tool ")
    # children are indented under their parent
    indent = lambda i, name: lines[i].index(name)
    assert indent(chat, "chat gpt-4o") == indent(root, "invoke_agent planner") + 2
    assert "gpt-4o" in lines[chat].split("chat gpt-4o", 1)[1] and "1.5k" in lines[chat]
    # timing bars: 30 columns between pipes; the root fills them, the tool sits in the middle
    bars = {i: re.search(r"\|([ █]{30})\|$", lines[i]) for i in (root, chat, tool, orphan)}
    assert all(bars.values()), out
    assert bars[root].group(1) == "█" * 30
    assert bars[tool].group(1).startswith(" " * 15) and bars[tool].group(1).endswith(" " * 6)
    # the failure: marked on the row and spelled out under it, with its log
    assert "✗" in lines[tool]
    assert "✗ error: search timed out after 300ms" in lines[tool + 1], out
    assert "retrying search" in lines[tool + 2] and "WARN" in lines[tool + 2], out
    assert "[orphan]" in lines[orphan] and MISSING_PARENT in lines[orphan + 1]
    # the log without a span is listed after the tree
    assert "logs not attached to a span:" in out and "planner finished" in out.split("logs not attached")[1]
    assert "Plan a weekend" not in out

    with_payloads = cli(server, "trace", TRACE, "--payloads").stdout
    assert "input: Plan a weekend in Paris" in with_payloads
    assert "output: Here is your plan" in with_payloads


def test_sessions_and_conversation(server):
    store_data(server)
    out = cli(server, "sessions").stdout
    (row,) = rows(out.replace("LAST SEEN", "TIME", 1))
    assert "sess-cli" in row and "u-cli" in row and row.rstrip().endswith("✗ 1"), out

    conv = cli(server, "session", "sess-cli").stdout
    assert conv.startswith("session sess-cli\n"), conv
    assert f"[1] " in conv and TRACE in conv
    assert "    > Plan a weekend in Paris\n    < Here is your plan\n" in conv, conv


def test_logs(server):
    store_data(server)
    out = cli(server, "logs").stdout
    listed = rows(out)
    assert len(listed) == 2 and "planner finished" in listed[0] and "retrying search" in listed[1], out
    assert "WARN" in listed[1] and TRACE[:8] in listed[1] and "cli-svc" in listed[1]

    warn = rows(cli(server, "logs", "--level", "warn").stdout)
    assert len(warn) == 1 and "retrying search" in warn[0]
    found = rows(cli(server, "logs", "-q", "FINISHED", "--trace", TRACE, "--since", "1h").stdout)
    assert len(found) == 1 and "planner finished" in found[0]


def test_json_output_is_the_api_json(server):
    store_data(server)
    listed = json.loads(cli(server, "traces", "--json").stdout)
    assert {t["trace_id"] for t in listed["data"]} == {TRACE, OTHER}
    tree = json.loads(cli(server, "trace", TRACE, "--json").stdout)
    assert tree == server.get(f"/api/v1/traces/{TRACE}").json()
    assert json.loads(cli(server, "sessions", "--json").stdout)["data"][0]["session_id"] == "sess-cli"
    assert json.loads(cli(server, "session", "sess-cli", "--json").stdout)["session"]["trace_count"] == 1
    assert len(json.loads(cli(server, "logs", "--json").stdout)["data"]) == 2


def read_lines(stream, into):
    for line in stream:
        into.put(line)
    into.put(None)


def start_tail(server, *args):
    proc = subprocess.Popen([str(BIN), "tail", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=clean_env({"SIGHTLINE_URL": server.url}))
    out, err = queue.Queue(), queue.Queue()
    threading.Thread(target=read_lines, args=(proc.stdout, out), daemon=True).start()
    threading.Thread(target=read_lines, args=(proc.stderr, err), daemon=True).start()
    first = err.get(timeout=20)  # printed once the stream is open
    assert first and first.startswith("following "), first
    return proc, out


def test_tail_prints_events_exported_after_it_starts(server):
    store_data(server)  # before the tail: not shown, the stream starts at the end of the feed
    proc, out = start_tail(server, "--count", "2")
    try:
        now = time.time_ns()
        export(server, [span("a" * 32, "0102030405060708", "live step", now, now + 5 * MS, {})], "tail-svc")
        r = server.post("/api/v1/events", json.dumps(
            [{"message": "live log line", "level": "error", "service": "tail-svc"}]))
        assert r.status_code == 200, r.text
        assert proc.wait(timeout=20) == 0
        lines = [out.get(timeout=5), out.get(timeout=5)]
    finally:
        if proc.poll() is None:
            proc.kill()
    assert "live step" in lines[0] and "(tail-svc)" in lines[0] and "trace aaaaaaaa" in lines[0], lines
    assert "log ERROR" in lines[1] and "live log line" in lines[1], lines
    assert not any("invoke_agent" in line for line in lines)


def test_tail_json_lines_and_filters(server):
    proc, out = start_tail(server, "--json", "--count", "1", "--types", "observations",
                           "--service", "wanted-svc")
    try:
        now = time.time_ns()
        export(server, [span("b" * 32, "0102030405060708", "unwanted", now, now + MS, {})], "other-svc")
        export(server, [span("c" * 32, "0102030405060708", "wanted", now, now + MS, {})], "wanted-svc")
        assert proc.wait(timeout=20) == 0
        line = out.get(timeout=5)
    finally:
        if proc.poll() is None:
            proc.kill()
    event = json.loads(line)
    assert event["event"] == "observation" and event["id"]
    assert event["data"]["name"] == "wanted" and event["data"]["trace_id"] == "c" * 32


def test_bad_parameters_show_the_server_message(server):
    out = cli(server, "traces", "--limit", "5000", check=False)
    assert out.returncode != 0 and out.stdout == ""
    assert out.stderr.startswith("error: limit:") and "5000" in out.stderr, out.stderr
    out = cli(server, "logs", "--level", "loud", check=False)
    assert out.returncode != 0 and out.stderr.startswith("error: level:"), out.stderr
    out = cli(server, "trace", "not-hex", check=False)
    assert out.returncode != 0 and out.stderr.startswith("error: "), out.stderr
    out = cli(server, "trace", "f" * 32, check=False)
    assert out.returncode != 0 and out.stderr.startswith("error: ") and "not found" in out.stderr, out.stderr
    out = cli(server, "tail", "--types", "metrics", check=False)
    assert out.returncode != 0 and out.stderr.startswith("error: types:"), out.stderr


def test_connection_refused_names_the_url(server):
    url = f"http://127.0.0.1:{free_port()}"
    for args in (["traces"], ["tail"]):
        out = cli(server, *args, url=url, check=False)
        assert out.returncode != 0
        assert out.stderr.startswith("error: could not connect to " + url), out.stderr
        assert "sightline serve" in out.stderr and "SIGHTLINE_URL" in out.stderr


def test_api_key_from_the_environment(server):
    key = server.create_key("cli-project")["secret_key"]
    store_data(server, key=key)
    denied = cli(server, "traces", check=False)
    assert denied.returncode != 0 and denied.stderr.startswith("error: "), denied.stderr
    assert "SIGHTLINE_API_KEY" in denied.stderr
    listed = rows(cli(server, "traces", "--wide", key=key).stdout)
    assert len(listed) == 2 and TRACE in listed[1]
    assert TRACE in cli(server, "trace", TRACE, "--api-key", key).stdout


def test_tail_survives_a_server_restart_and_stops_on_ctrl_c(server):
    proc, out = start_tail(server)
    try:
        now = time.time_ns()
        export(server, [span("d" * 32, "0102030405060708", "before restart", now, now + MS, {})], "tail-svc")
        assert "before restart" in out.get(timeout=20)
        server.restart()
        now = time.time_ns()
        export(server, [span("e" * 32, "0102030405060708", "after restart", now, now + MS, {})], "tail-svc")
        line = out.get(timeout=30)
        assert line and "after restart" in line, line
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()


class FakeStream(http.server.BaseHTTPRequestHandler):
    """An event stream that sends one event and hangs up; it records each Last-Event-ID."""

    seen = []

    def do_GET(self):
        FakeStream.seen.append(self.headers.get("Last-Event-ID"))
        n = len(FakeStream.seen)
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.end_headers()
        body = (f"id: {n}.0\nevent: log\n"
                f'data: {{"time_ns": 1700000000000000000, "severity_number": 9, "body": "event {n}"}}\n\n')
        self.wfile.write(body.encode())
        self.wfile.flush()
        self.close_connection = True

    def log_message(self, *args):
        pass


def test_tail_reconnects_with_last_event_id():
    FakeStream.seen = []
    fake = http.server.ThreadingHTTPServer(("127.0.0.1", 0), FakeStream)
    threading.Thread(target=fake.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{fake.server_address[1]}"
        out = subprocess.run([str(BIN), "tail", "--count", "3"], capture_output=True, text=True,
                             timeout=30, env=clean_env({"SIGHTLINE_URL": url}))
    finally:
        fake.shutdown()
        fake.server_close()
    assert out.returncode == 0, out.stderr
    assert [line.split("  ")[-1].strip() for line in out.stdout.splitlines()] == ["event 1", "event 2", "event 3"]
    assert FakeStream.seen == [None, "1.0", "2.0"]
    assert out.stderr.count("reconnected") == 2, out.stderr


def test_short_trace_ids(server):
    """`traces` prints 8-digit ids; `trace` takes any unique start of an id, and says how to see
    whole ids when a start matches several traces or none."""
    store_data(server)
    listed = rows(cli(server, "traces").stdout)
    assert TRACE[:8] in listed[1] and TRACE not in listed[1]
    for short in (TRACE[:8], TRACE[:4], TRACE[:8].upper()):
        out = cli(server, "trace", short).stdout
        assert out.startswith(f"trace {TRACE}"), out
    # A second trace whose id starts the same way makes the 4-digit start ambiguous.
    twin = TRACE[:4] + "0" * 28
    t0 = time.time_ns() - 30_000 * MS
    export(server, [span(twin, ROOT, "twin", t0, t0 + MS, {})], "cli-svc")
    out = cli(server, "trace", TRACE[:4], check=False)
    assert out.returncode != 0 and out.stderr.startswith("error: trace_id:"), out.stderr
    assert TRACE in out.stderr and twin in out.stderr and "--wide" in out.stderr, out.stderr
    assert cli(server, "trace", TRACE[:5]).stdout.startswith(f"trace {TRACE}")
    missing = cli(server, "trace", "deadbeef", check=False)
    assert missing.returncode != 0 and "no trace starting with deadbeef" in missing.stderr
    assert "sightline traces --wide" in missing.stderr and "--json" in missing.stderr, missing.stderr
    short = cli(server, "trace", "abc", check=False)
    assert short.returncode != 0 and "at least 4" in short.stderr, short.stderr

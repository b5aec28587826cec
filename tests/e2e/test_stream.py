"""GET /api/v1/stream (Server-Sent Events) with real streaming HTTP clients: delivery within a
second of the export's 2xx (through the real OpenTelemetry exporter), filters, resume with
Last-Event-ID, heartbeats, and a stalled reader that must not slow ingest."""

import json
import socket
import statistics
import time

from api_data import (
    MS, SseClient, hex_id, json_log, json_span, logs_body, names_of, post_json, sdk_provider,
    traces_body,
)
from opentelemetry.sdk.trace.export import SpanExportResult


def open_stream(server, params, **kw):
    sse = SseClient(server, {"heartbeat": "1", **params}, **kw)
    assert sse.resp.status_code == 200, f"GET /api/v1/stream {params}: {sse.resp.status_code} {sse.resp.text[:300]}"
    assert sse.resp.headers.get("Content-Type", "").startswith("text/event-stream"), sse.resp.headers
    # The first heartbeat proves the subscription is live before anything is exported.
    assert sse.wait(lambda r: sse.heartbeats() or sse.events(), 5), "no heartbeat within 5 s (heartbeat=1)"
    return sse


def export_spans(server, service, spans_by_name, trace_label="t", key=None):
    now = time.time_ns()
    tid = hex_id(f"{trace_label}/{now}", 16)
    spans = [json_span(tid, hex_id(f"{tid}/{n}", 8), n, now, MS, attrs) for n, attrs in spans_by_name.items()]
    post_json(server, "/v1/traces", traces_body([({"service.name": service}, spans)]), key)
    return tid


def export_log(server, service, body, severity=13, trace_id=None, key=None):
    rec = json_log(time.time_ns(), severity, "WARN" if severity == 13 else str(severity), body, trace_id)
    post_json(server, "/v1/logs", logs_body([({"service.name": service}, [rec])]), key)


def test_event_arrives_within_a_second_of_the_ack(server):
    export_spans(server, "live", {"before-connect": {}})
    sse = open_stream(server, {"types": "observations", "service": "live"})
    provider, exporter = sdk_provider(server, {"service.name": "live"})
    tracer = provider.get_tracer("e2e.stream")
    try:
        for i in range(5):
            with tracer.start_as_current_span(f"live-{i}") as span:
                pass  # the SimpleSpanProcessor exports on end, synchronously
            result, acked_at = exporter.results[-1]
            assert result == SpanExportResult.SUCCESS
            name = f"live-{i}"
            assert sse.wait(lambda r: name in names_of(r), 3), f"{name} not streamed within 3 s"
            ev = next(e for e in sse.events() if e.get("json", {}).get("name") == name)
            assert ev["t"] - acked_at <= 1.0, f"{name} arrived {ev['t'] - acked_at:.2f} s after the 2xx"
            assert ev["event"] == "observation" and ev.get("id")
            obs = ev["json"]
            assert obs["trace_id"] == format(span.get_span_context().trace_id, "032x")
            assert obs["span_id"] == format(span.get_span_context().span_id, "016x")
            assert obs["service_name"] == "live"
        assert "before-connect" not in names_of(sse.received), "a new connection starts at the end of the feed"
    finally:
        provider.shutdown()
        sse.close()


def test_filters_apply_to_observations_and_logs(server):
    llm = {"gen_ai.operation.name": "chat", "gen_ai.request.model": "gpt-4o"}
    obs = open_stream(server, {"types": "observations", "service": "f-svc", "kind": "llm"})
    logs = open_stream(server, {"types": "logs", "level": "warn", "service": "f-svc"})
    target = export_spans(server, "other", {"t-tool": {"gen_ai.tool.name": "x"}})
    both = open_stream(server, {"trace_id": target})
    try:
        export_spans(server, "f-svc", {"f-llm": llm, "f-tool": {"gen_ai.tool.name": "x"}})
        export_spans(server, "other", {"o-llm": llm})
        export_log(server, "f-svc", "f info", severity=9)
        export_log(server, "other", "o warn")
        export_log(server, "f-svc", "f warn", trace_id=target)
        export_spans(server, "f-svc", {"f-marker": llm})
        export_log(server, "f-svc", "f error marker", severity=17)
        assert obs.wait(lambda r: "f-marker" in names_of(r), 3)
        assert logs.wait(lambda r: any(e.get("json", {}).get("body") == "f error marker" for e in r), 3)
        assert both.wait(lambda r: any(e.get("json", {}).get("body") == "f warn" for e in r), 3)
        assert names_of(obs.events()) == ["f-llm", "f-marker"]
        assert {e["event"] for e in obs.events()} == {"observation"}
        assert [e["json"]["body"] for e in logs.events()] == ["f warn", "f error marker"]
        assert {e["event"] for e in logs.events()} == {"log"}
        # Default types: observations and logs; trace_id applies to both. (t-tool came before.)
        assert [(e["event"], e["json"].get("body")) for e in both.events()] == [("log", "f warn")]
    finally:
        for s in (obs, logs, both):
            s.close()


def test_resume_with_last_event_id_loses_nothing(server):
    first = open_stream(server, {"service": "resume"})
    export_spans(server, "resume", {"r-0": {}})
    assert first.wait(lambda r: "r-0" in names_of(r), 3)
    last_id = first.events()[-1]["id"]
    first.close()
    # Exported while nobody is connected.
    for i in range(1, 6):
        export_spans(server, "resume", {f"r-{i}": {}})
    export_log(server, "resume", "r-log")
    export_spans(server, "elsewhere", {"x-0": {}})
    expected = ["r-1", "r-2", "r-3", "r-4", "r-5"]
    for how in ({"headers": {"Last-Event-ID": last_id}}, {"params": {"last_event_id": last_id}}):
        params = {"heartbeat": "1", "service": "resume", **how.get("params", {})}
        sse = SseClient(server, params, headers=how.get("headers"))
        assert sse.resp.status_code == 200, sse.resp.text[:300]
        try:
            assert sse.wait(lambda r: "r-5" in names_of(r) and any(
                e.get("json", {}).get("body") == "r-log" for e in r), 3), (how, names_of(sse.received))
            assert names_of(sse.events("observation")) == expected, how
            assert [e["json"]["body"] for e in sse.events("log")] == ["r-log"]
        finally:
            sse.close()


def test_heartbeats(server):
    sse = open_stream(server, {"service": "nobody-sends-this"})
    try:
        start = time.monotonic()
        assert sse.wait(lambda r: len(sse.heartbeats()) >= 3, 4.5), f"heartbeats: {sse.heartbeats()}"
        beats = [b["t"] for b in sse.heartbeats()]
        assert all(b["comment"] == "heartbeat" for b in sse.heartbeats())
        assert all(later - earlier >= 0.5 for earlier, later in zip(beats, beats[1:])), beats
        assert time.monotonic() - start < 4.5 and not sse.events()
    finally:
        sse.close()


# --- a reader that stalls -----------------------------------------------------------------

def dechunk(raw):
    """The body of a chunked HTTP/1.1 response (headers stripped); stops at a partial chunk."""
    head, _, rest = raw.partition(b"\r\n\r\n")
    if b"chunked" not in head.lower():
        return rest
    out = bytearray()
    while rest:
        size_line, sep, rest = rest.partition(b"\r\n")
        if not sep:
            break
        size = int(size_line.split(b";")[0], 16)
        if size == 0 or len(rest) < size:
            out += rest[:size] if size else b""
            break
        out += rest[:size]
        rest = rest[size + 2:]
    return bytes(out)


def sse_events(text):
    events, ev = [], {}
    for line in text.splitlines():
        if not line:
            if ev:
                events.append(ev)
            ev = {}
        elif not line.startswith(":"):
            field, _, value = line.partition(":")
            ev[field] = value[1:] if value.startswith(" ") else value
    return events


def timed_export(server, body, latencies):
    t = time.monotonic()
    r = server.post("/v1/traces", body)
    latencies.append(time.monotonic() - t)
    assert r.status_code == 200, r.text[:300]


def read_until_closed(sock, timeout):
    """Everything the peer sends until it closes (or `timeout` s); (bytes, how it ended)."""
    sock.settimeout(timeout)
    raw, deadline = bytearray(), time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            chunk = sock.recv(1 << 16)
        except socket.timeout:
            return bytes(raw), "timeout"
        except ConnectionResetError:
            return bytes(raw), "reset"
        if not chunk:
            return bytes(raw), "closed"
        raw += chunk
    return bytes(raw), "timeout"


def test_stalled_reader_does_not_slow_ingest(server):
    """A reader that never reads (tiny receive buffer) while about 15 MB of events are made for
    it: exports keep their latency, a healthy reader keeps up, and the stalled one finally gets
    `event: dropped` carrying its last delivered id, then the connection closes; resuming from
    that id delivers the rest."""
    batch, exported = 0, 0

    def body(n=20, filler="x" * 2048):
        nonlocal batch, exported
        batch += 1
        exported += n
        now = time.time_ns()
        tid = hex_id(f"stall/{batch}", 16)
        spans = [json_span(tid, hex_id(f"{tid}/{i}", 8), f"stall-{batch}-{i}", now, MS, {"filler": filler})
                 for i in range(n)]
        return json.dumps(traces_body([({"service.name": "stall"}, spans)]))

    baseline = []
    for _ in range(20):
        timed_export(server, body(), baseline)

    stalled = socket.socket()
    stalled.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    stalled.connect(("127.0.0.1", server.http_port))
    stalled.sendall(b"GET /api/v1/stream?types=observations&heartbeat=1 HTTP/1.1\r\n"
                    b"Host: 127.0.0.1\r\nAccept: text/event-stream\r\nConnection: close\r\n\r\n")
    healthy = open_stream(server, {"types": "observations", "name": "stall-marker"})
    resumed = None
    try:
        during, markers, started = [], 0, time.monotonic()
        exported = 0
        # About 6 MB of events to fill every buffer on the way, then small exports, for 8 s in
        # all while the reader stalls (bounded: at most 3000 exports).
        while time.monotonic() - started < 8 and len(during) < 3000:
            timed_export(server, body() if len(during) < 150 else body(1, "small"), during)
            if len(during) % 20 == 1:
                export_spans(server, "stall", {"stall-marker": {}})
                markers += 1
        assert healthy.wait(lambda r: len(names_of(r)) == markers, 2), "a healthy reader fell behind"

        base_med, med = statistics.median(baseline), statistics.median(during)
        assert max(during) < 2.0, f"an export took {max(during):.2f} s while a reader stalled"
        assert med <= max(3 * base_med, base_med + 0.25), f"median {med:.3f} s vs {base_med:.3f} s before"

        raw, how = read_until_closed(stalled, 60)
        events = sse_events(dechunk(raw).decode("utf-8", "replace"))
        assert events, f"the stalled reader got nothing: {raw[:300]!r}"
        assert events[-1].get("event") == "dropped", (
            f"the stalled reader's stream did not end with `event: dropped` after {len(raw)} bytes ({how}); "
            f"last event: {str(events[-1])[:300]}")
        assert how == "closed", f"the connection was not closed after `dropped` ({how})"
        delivered = [e for e in events[:-1] if e.get("event") == "observation"]
        last_id = delivered[-1]["id"] if delivered else None
        assert last_id and last_id in events[-1].get("data", ""), (
            f"`dropped` should carry the last delivered id {last_id}: {events[-1]}")

        # Nothing is lost: resuming right after the last delivered event brings the rest.
        total = exported + markers
        resumed = SseClient(server, {"types": "observations", "heartbeat": "1"},
                            headers={"Last-Event-ID": last_id}, read_timeout=10)
        assert resumed.resp.status_code == 200
        missing = total - len(delivered)
        assert resumed.wait(lambda r: len(resumed.events("observation")) >= missing, 60), (
            f"resumed after the drop: {len(resumed.events('observation'))} of {missing} events")
        seen = [json.loads(e["data"])["span_id"] for e in delivered] + [
            e["json"]["span_id"] for e in resumed.events("observation")]
        assert len(seen) == len(set(seen)) == total, (
            f"{len(seen)} events, {len(set(seen))} distinct observations streamed, {total} exported")
    finally:
        stalled.close()
        healthy.close()
        if resumed:
            resumed.close()


def test_stream_counts_nothing_until_connected(server):
    """Pins 'a new connection starts at the end of the feed' for logs too."""
    export_log(server, "old", "old log")
    sse = open_stream(server, {"types": "logs", "service": "old"})
    try:
        export_log(server, "old", "new log")
        assert sse.wait(lambda r: any(e.get("json", {}).get("body") == "new log" for e in r), 3)
        assert [e["json"]["body"] for e in sse.events("log")] == ["new log"]
    finally:
        sse.close()


def test_sdk_batch_export_streams_every_span(server):
    sse = open_stream(server, {"types": "observations", "service": "sdk-batch"})
    provider, exporter = sdk_provider(server, {"service.name": "sdk-batch"})
    tracer = provider.get_tracer("e2e.stream")
    try:
        with tracer.start_as_current_span("sdk-root"):
            for i in range(20):
                with tracer.start_as_current_span(f"sdk-child-{i}"):
                    pass
        assert all(r == SpanExportResult.SUCCESS for r, _ in exporter.results)
        assert sse.wait(lambda r: "sdk-root" in names_of(r), 3)
        got = names_of(sse.events())
        assert sorted(got) == sorted(["sdk-root"] + [f"sdk-child-{i}" for i in range(20)])
        ids = [e["id"] for e in sse.events()]
        assert len(set(ids)) == len(ids)
    finally:
        provider.shutdown()
        sse.close()


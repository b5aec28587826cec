"""The native event receiver `POST /api/v1/events`: JSON arrays and JSON lines, correlation with
stored traces, per-event errors that keep the good events, and a 400 when nothing is usable."""

import json

from conftest import trace_logs

T0 = 1_700_000_000_000_000_000
SPAN = "00f067aa0ba902b7"


def store_trace(server, trace_id, name="invoke_agent helper"):
    """A one-span trace sent as OTLP/JSON, so events have something to attach to."""
    body = {"resourceSpans": [{
        "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "agent-svc"}}]},
        "scopeSpans": [{"spans": [{
            "traceId": trace_id, "spanId": SPAN, "name": name,
            "startTimeUnixNano": str(T0), "endTimeUnixNano": str(T0 + 5_000_000_000),
        }]}],
    }]}
    r = server.post("/v1/traces", json.dumps(body))
    assert r.status_code == 200, r.text


def send(server, events, lines=False):
    body = "\n".join(json.dumps(e) for e in events) + "\n" if lines else json.dumps(events)
    content_type = "application/x-ndjson" if lines else "application/json"
    return server.post("/api/v1/events", body, content_type)


def logs_of(server, trace_id):
    trace = server.trace(trace_id)
    assert trace is not None, f"trace {trace_id} not found"
    return trace_logs(trace)


def event(trace_id, message, offset_ms, **extra):
    return {"timestamp": (T0 + offset_ms * 1_000_000) // 1_000_000, "message": message,
            "trace_id": trace_id, **extra}


def test_json_array_is_stored_and_correlated(server):
    trace_id = "4bf92f3577b34da6a3ce929d0e0e4736"
    store_trace(server, trace_id)
    events = [
        event(trace_id, "planning started", 10, level="info", service="agent-svc", span_id=SPAN,
              session_id="sess-77", agent="planner", task_id="task-1", user_id="u-1",
              tenant_id="acme", attributes={"step": 1, "tools": ["search", "book"]}),
        event(trace_id, "tool call failed", 20, level="error", agent="planner",
              session_id="sess-77", attributes={"tool": "search", "http.status": 503}),
        {"timestamp": "2023-11-14T22:13:20.030Z", "message": "rfc3339 time", "trace_id": trace_id,
         "level": "warn", "custom_field": "kept"},
    ]
    r = send(server, events)
    assert r.status_code == 200, r.text
    assert r.json() == {"accepted": 3, "rejected": 0, "errors": []}

    logs = logs_of(server, trace_id)
    assert [log["body"] for log in logs] == ["planning started", "tool call failed", "rfc3339 time"]
    first, second, third = logs
    assert first["time_ns"] == T0 + 10_000_000
    assert third["time_ns"] == T0 + 30_000_000
    assert all(log["trace_id"] == trace_id for log in logs)
    assert first["span_id"] == SPAN and "span_id" not in second
    assert first["session_id"] == "sess-77" and first["agent_name"] == "planner"
    assert second["session_id"] == "sess-77" and second["agent_name"] == "planner"
    assert "session.id" not in first["attributes"] and "gen_ai.agent.name" not in first["attributes"]
    assert first["service_name"] == "agent-svc"
    assert first["attributes"]["step"] == 1 and first["attributes"]["tools"] == ["search", "book"]
    assert first["attributes"]["task.id"] == "task-1" and first["attributes"]["user.id"] == "u-1"
    assert first["attributes"]["tenant.id"] == "acme"
    assert (first["severity_number"], first["severity_text"]) == (9, "INFO")
    assert (second["severity_number"], second["severity_text"]) == (17, "ERROR")
    assert (third["severity_number"], third["severity_text"]) == (13, "WARN")
    assert second["attributes"]["http.status"] == 503
    assert third["attributes"]["custom_field"] == "kept"
    # The log with a span id sits inside its observation; the others are the trace's own.
    trace = server.trace(trace_id)
    assert [log["body"] for log in trace["observations"][0]["logs"]] == ["planning started"]
    assert [log["body"] for log in trace["logs"]] == ["tool call failed", "rfc3339 time"]
    # The trace itself is unchanged by its logs.
    assert trace["summary"]["span_count"] == 1


def test_json_lines(server):
    trace_id = "5f2c9a1b7e3d4c6a8b0e1f2a3b4c5d6e"
    store_trace(server, trace_id)
    events = [event(trace_id, f"line event {i}", i, agent="liner", session_id="sess-lines")
              for i in range(1, 4)]
    r = send(server, events, lines=True)
    assert r.status_code == 200, r.text
    assert r.json() == {"accepted": 3, "rejected": 0, "errors": []}
    logs = logs_of(server, trace_id)
    assert [log["body"] for log in logs] == ["line event 1", "line event 2", "line event 3"]
    assert {log["agent_name"] for log in logs} == {"liner"}
    assert {log["session_id"] for log in logs} == {"sess-lines"}


def test_events_sent_before_their_spans_join_the_trace(server):
    trace_id = "7d3e1f0a2b4c6d8e9f1a3b5c7d9e0f12"
    r = send(server, [event(trace_id, "early log", 1, agent="early-bird", session_id="sess-early")])
    assert r.json()["accepted"] == 1
    store_trace(server, trace_id, name="late root")
    trace = server.trace(trace_id)
    assert trace["summary"]["root_name"] == "late root"
    assert [(log["body"], log["agent_name"], log["session_id"]) for log in trace["logs"]] == [
        ("early log", "early-bird", "sess-early")]


def test_bad_events_are_reported_and_good_ones_kept(server):
    trace_id = "a1b2c3d4e5f60718293a4b5c6d7e8f90"
    store_trace(server, trace_id)
    events = [
        event(trace_id, "good one", 1),
        {"timestamp": T0 // 1_000_000, "trace_id": trace_id, "level": "info"},  # no message
        event("not-a-trace-id", "bad trace id", 3),
        event(trace_id, "good two", 4),
        event(trace_id, "bad time", 5, timestamp="yesterday"),
    ]
    r = send(server, events)
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["accepted"], body["rejected"]) == (2, 3)
    errors = body["errors"]
    assert len(errors) == 3, errors
    assert errors[0].startswith("event 2") and "message" in errors[0]
    assert errors[1].startswith("event 3") and "trace_id" in errors[1] and "not-a-trace-id" in errors[1]
    assert errors[2].startswith("event 5") and "timestamp" in errors[2]
    assert [log["body"] for log in logs_of(server, trace_id)] == ["good one", "good two"]


def test_bad_json_line_is_reported_by_line_number(server):
    trace_id = "0123456789abcdef0123456789abcdef"
    store_trace(server, trace_id)
    body = "\n".join([
        json.dumps(event(trace_id, "before", 1)),
        '{"message": "broken", ',
        json.dumps(event(trace_id, "after", 3)),
    ])
    r = server.post("/api/v1/events", body, "application/x-ndjson")
    assert r.status_code == 200, r.text
    assert (r.json()["accepted"], r.json()["rejected"]) == (2, 1)
    assert r.json()["errors"][0].startswith("line 2")
    assert [log["body"] for log in logs_of(server, trace_id)] == ["before", "after"]


def test_all_bad_is_400_problem(server):
    r = send(server, [{"level": "info"}, {"message": "x", "trace_id": "zz"}])
    assert r.status_code == 400
    problem = r.json()
    assert problem["status"] == 400 and problem["code"] == "invalid_argument"
    assert "event 1" in problem["message"] and "message" in problem["message"]
    assert "event 2" in problem["message"] and "trace_id" in problem["message"]


def test_broken_array_is_400_problem(server):
    r = server.post("/api/v1/events", '[{"message": "a"}, {"message": ', "application/json")
    assert r.status_code == 400
    problem = r.json()
    assert problem["code"] == "invalid_argument" and "JSON" in problem["message"]

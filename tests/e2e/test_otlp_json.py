"""OTLP/JSON sent with curl (upper-case hex ids, int64 as strings and numbers, kvlist and array
values), the Langfuse route with Basic auth, and the real Langfuse Python SDK."""

import json
import os
import subprocess

import langfuse
import pytest
from opentelemetry.sdk.trace import TracerProvider

TRACE_ID = "5B8EFFF798038103D269B633813FC60C"
ROOT_ID = "EEE19B7EC3C1B174"
CHAT_ID = "EEE19B7EC3C1B175"
T0 = 1_700_000_000_000_000_000


def kv(key, value):
    return {"key": key, "value": value}


def s(text):
    return {"stringValue": text}


def curl(url, body, *args):
    """POSTs `body` as JSON with curl; returns (status, content type, parsed body)."""
    out = subprocess.run(
        ["curl", "-sS", "--max-time", "20", "-X", "POST", url,
         "-H", "Content-Type: application/json", "--data-binary", "@-",
         "-w", "\n%{http_code} %{content_type}", *args],
        input=json.dumps(body).encode(), capture_output=True, timeout=30, check=True,
    )
    text, _, tail = out.stdout.decode().rpartition("\n")
    status, _, ctype = tail.partition(" ")
    return int(status), ctype, json.loads(text)


def traces_body(trace_id=TRACE_ID, service="curl-svc", extra_spans=()):
    root = {
        "traceId": trace_id, "spanId": ROOT_ID, "name": "invoke_agent planner", "kind": 1,
        "startTimeUnixNano": str(T0), "endTimeUnixNano": str(T0 + 2_000_000_000),
        "attributes": [
            kv("gen_ai.operation.name", s("invoke_agent")),
            kv("gen_ai.agent.name", s("planner")),
            kv("retries", {"intValue": "3"}),
            kv("big.number", {"intValue": 9007199254740993}),
            kv("ratio", {"doubleValue": 0.25}),
            kv("flag", {"boolValue": True}),
            kv("config", {"kvlistValue": {"values": [
                kv("depth", {"intValue": "2"}),
                kv("mode", s("fast")),
                kv("nested", {"kvlistValue": {"values": [kv("ok", {"boolValue": False})]}}),
            ]}}),
            kv("steps", {"arrayValue": {"values": [s("plan"), {"intValue": "7"}, {"doubleValue": 1.5}]}}),
        ],
        "status": {"code": 2, "message": "planner gave up"},
    }
    chat = {
        "traceId": trace_id.lower(), "spanId": CHAT_ID, "parentSpanId": ROOT_ID, "name": "chat",
        "kind": 3, "startTimeUnixNano": T0 + 100_000_000, "endTimeUnixNano": T0 + 900_000_000,
        "attributes": [
            kv("gen_ai.operation.name", s("chat")),
            kv("gen_ai.provider.name", s("anthropic")),
            kv("gen_ai.request.model", s("claude-sonnet-4")),
            kv("gen_ai.usage.input_tokens", {"intValue": "15"}),
            kv("gen_ai.usage.output_tokens", {"intValue": 5}),
        ],
        "events": [{"name": "retry", "timeUnixNano": str(T0 + 200_000_000),
                    "attributes": [kv("attempt", {"intValue": "2"})]}],
    }
    return {"resourceSpans": [{
        "resource": {"attributes": [kv("service.name", s(service)), kv("tenant.id", s("t-json"))]},
        "scopeSpans": [{"scope": {"name": "curl-scope", "version": "1.0"},
                        "spans": [root, chat, *extra_spans]}],
    }]}


def test_traces_json_with_curl(server):
    status, ctype, body = curl(server.url + "/v1/traces", traces_body())
    assert status == 200
    assert ctype.startswith("application/json")
    assert body.get("partialSuccess", {}).get("rejectedSpans", "0") in ("0", 0)

    trace = server.trace(TRACE_ID.lower())
    assert trace is not None, "upper-case trace id not stored under its lower-case hex form"
    assert server.trace(TRACE_ID)["trace_id"] == TRACE_ID.lower()
    obs = {o["name"]: o for o in trace["observations"]}
    root, chat = obs["invoke_agent planner"], obs["chat"]
    assert root["span_id"] == ROOT_ID.lower()
    assert chat["parent_span_id"] == ROOT_ID.lower()
    assert (root["start_ns"], root["end_ns"]) == (T0, T0 + 2_000_000_000)
    assert (chat["start_ns"], chat["end_ns"]) == (T0 + 100_000_000, T0 + 900_000_000)
    assert root["kind"] == "agent" and root["agent_name"] == "planner"
    assert root["status"] == "error" and root["status_message"] == "planner gave up"
    assert root["span_kind"] == "internal" and chat["span_kind"] == "client"
    a = root["attributes"]
    assert a["retries"] == 3
    assert a["big.number"] == 9007199254740993
    assert a["ratio"] == 0.25 and a["flag"] is True
    assert a["config"] == {"depth": 2, "mode": "fast", "nested": {"ok": False}}
    assert a["steps"] == ["plan", 7, 1.5]
    assert root["resource"]["tenant.id"] == "t-json" and root["tenant_id"] == "t-json"
    assert root["service_name"] == "curl-svc"

    assert chat["kind"] == "llm" and chat["provider"] == "anthropic"
    assert chat["model"] == "claude-sonnet-4"
    assert (chat["usage"]["input"], chat["usage"]["output"], chat["usage"]["total"]) == (15, 5, 20)
    assert chat["events"] == [{"name": "retry", "time_ns": T0 + 200_000_000, "attributes": {"attempt": 2}}]

    summary = trace["summary"]
    assert (summary["span_count"], summary["error_count"]) == (2, 1)
    assert (summary["input_tokens"], summary["output_tokens"], summary["total_tokens"]) == (15, 5, 20)
    assert summary["root_name"] == "invoke_agent planner"
    assert (summary["start_ns"], summary["end_ns"]) == (T0, T0 + 2_000_000_000)


def test_partial_success_keeps_good_spans(server):
    bad = {"traceId": "ABCD", "spanId": "0102030405060708", "name": "short id",
           "startTimeUnixNano": str(T0), "endTimeUnixNano": str(T0 + 1)}
    trace_id = "0AF7651916CD43DD8448EB211C80319C"
    status, ctype, body = curl(server.url + "/v1/traces", traces_body(trace_id, extra_spans=[bad]))
    assert status == 200 and ctype.startswith("application/json")
    assert body["partialSuccess"]["rejectedSpans"] == "1"
    assert "trace" in body["partialSuccess"]["errorMessage"].lower()
    assert trace_id.lower() in json.dumps(server.trace(trace_id.lower()))
    assert server.trace(trace_id.lower())["summary"]["span_count"] == 2


def test_malformed_json_is_400_with_json_status(server):
    status, ctype, body = curl(server.url + "/v1/traces", {"resourceSpans": [{"scopeSpans": "nope"}]})
    assert status == 400 and ctype.startswith("application/json")
    assert "scopeSpans" in body["message"]


def test_logs_json_with_curl(server):
    curl(server.url + "/v1/traces", traces_body())
    logs = {"resourceLogs": [{
        "resource": {"attributes": [kv("service.name", s("curl-svc"))]},
        "scopeLogs": [{"scope": {"name": "app.logger"}, "logRecords": [
            {"timeUnixNano": str(T0 + 500_000_000), "observedTimeUnixNano": T0 + 600_000_000,
             "severityNumber": 17, "severityText": "ERROR",
             "traceId": TRACE_ID, "spanId": CHAT_ID,
             "body": s("rate limited, waiting 250 ms"),
             "attributes": [kv("session.id", s("sess-json")), kv("gen_ai.agent.name", s("planner")),
                            kv("codes", {"arrayValue": {"values": [{"intValue": 429}, {"intValue": "503"}]}})]},
        ]}],
    }]}
    status, ctype, body = curl(server.url + "/v1/logs", logs)
    assert status == 200 and ctype.startswith("application/json")
    assert body.get("partialSuccess", {}).get("rejectedLogRecords", "0") in ("0", 0)

    trace = server.trace(TRACE_ID.lower())
    # The log carries the chat span's id, so it sits inside that observation.
    assert trace["logs"] == []
    chat = next(o for o in trace["observations"] if o["span_id"] == CHAT_ID.lower())
    assert len(chat["logs"]) == 1
    log = chat["logs"][0]
    assert log["trace_id"] == TRACE_ID.lower() and log["span_id"] == CHAT_ID.lower()
    assert log["time_ns"] == T0 + 500_000_000 and log["observed_ns"] == T0 + 600_000_000
    assert (log["severity_number"], log["severity_text"]) == (17, "ERROR")
    assert log["body"] == "rate limited, waiting 250 ms"
    assert log["session_id"] == "sess-json" and log["agent_name"] == "planner"
    assert log["attributes"]["codes"] == [429, 503]
    assert log["service_name"] == "curl-svc"


def test_structured_log_body_round_trips(server):
    logs = {"resourceLogs": [{"scopeLogs": [{"logRecords": [{
        "timeUnixNano": str(T0), "traceId": TRACE_ID, "body": {"kvlistValue": {"values": [
            kv("event", s("rate_limited")), kv("wait_ms", {"intValue": "250"})]}},
    }]}]}]}
    curl(server.url + "/v1/traces", traces_body())
    assert curl(server.url + "/v1/logs", logs)[0] == 200
    assert server.trace(TRACE_ID)["logs"][0]["body"] == {"event": "rate_limited", "wait_ms": 250}


def test_null_fields_are_omitted_from_the_summary(server):
    curl(server.url + "/v1/traces", traces_body())
    summary = server.trace(TRACE_ID)["summary"]
    assert summary["root_name"] == "invoke_agent planner"
    assert None not in summary.values(), summary


def test_langfuse_route_with_basic_auth(server):
    key = server.create_key("lf-project")
    url = server.url + "/api/public/otel/v1/traces"
    status, _, _ = curl(url, traces_body(service="lf-svc"), "-u", f"{key['public_key']}:{key['secret_key']}")
    assert status == 200
    trace = server.trace(TRACE_ID, key["secret_key"])
    assert trace is not None and trace["summary"]["service_name"] == "lf-svc"

    status, _, body = curl(url, traces_body(), "-u", f"{key['public_key']}:wrong-secret")
    assert status == 401 and body["message"]
    status, _, _ = curl(url, traces_body())
    assert status == 401


@pytest.fixture
def langfuse_env(monkeypatch):
    """No LANGFUSE_* or OTEL_* setting from the outside may point the SDK anywhere else."""
    for name in list(os.environ):
        if name.startswith(("LANGFUSE_", "OTEL_")):
            monkeypatch.delenv(name)
    monkeypatch.setenv("OTEL_SDK_DISABLED", "false")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    monkeypatch.setenv("no_proxy", "127.0.0.1")


def langfuse_client(server, key):
    # Its own TracerProvider, so the SDK does not install a global one for other tests.
    return langfuse.Langfuse(
        public_key=key["public_key"], secret_key=key["secret_key"], base_url=server.url,
        tracer_provider=TracerProvider(), flush_at=1000, flush_interval=60,
    )


def test_langfuse_sdk(server, langfuse_env):
    key = server.create_key("lf-sdk")
    lf = langfuse_client(server, key)
    messages = [{"role": "system", "content": "Be terse."}, {"role": "user", "content": "2+2?"}]
    with langfuse.propagate_attributes(user_id="lf-user", session_id="lf-session"):
        with lf.start_as_current_observation(name="handle-question", as_type="span",
                                             input={"question": "2+2?"}) as span:
            with lf.start_as_current_observation(
                name="answer", as_type="generation", model="gpt-4o-mini",
                input=messages, model_parameters={"temperature": 0},
            ) as gen:
                gen.update(output="4", usage_details={"input": 12, "output": 1})
            span.update(output={"answer": "4"})
            trace_id = span.trace_id
    lf.flush()

    trace = server.trace(trace_id, key["secret_key"])
    assert trace is not None, f"Langfuse trace {trace_id} not stored"
    obs = {o["name"]: o for o in trace["observations"]}
    assert set(obs) == {"handle-question", "answer"}
    root, gen = obs["handle-question"], obs["answer"]
    assert root["kind"] == "span"
    assert root["input"] == {"value": {"question": "2+2?"}}
    assert root["output"] == {"value": {"answer": "4"}}
    assert gen["kind"] == "llm"
    assert gen["parent_span_id"] == root["span_id"]
    assert gen["model"] == "gpt-4o-mini"
    assert gen["request_params"] == {"temperature": 0}
    assert (gen["usage"]["input"], gen["usage"]["output"], gen["usage"]["total"]) == (12, 1, 13)
    assert [(m["role"], m["content"]) for m in gen["input"]["messages"]] == [
        ("system", "Be terse."), ("user", "2+2?")]
    assert gen["output"] == {"value": "4"}
    assert gen["user_id"] == "lf-user" and gen["session_id"] == "lf-session"
    assert not any(k.startswith("langfuse.observation.") for k in gen["attributes"])
    s = trace["summary"]
    assert (s["span_count"], s["input_tokens"], s["output_tokens"]) == (2, 12, 1)
    assert s["root_name"] == "handle-question"
    assert s["user_id"] == "lf-user" and s["session_id"] == "lf-session"
    # The key of another project cannot read it.
    other = server.create_key("lf-other")
    assert server.get(f"/api/v1/traces/{trace_id}", other["secret_key"]).status_code == 404
    lf.shutdown()

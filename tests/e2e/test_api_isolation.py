"""The query API never crosses projects: two projects with keys hold the same trace id, span
ids, session id, service, agent and model with different content; on every route of
docs/api.md project A's key never returns or counts B's data, and A's cursors are refused in B."""

import json
import time

import pytest
from api_data import (
    MINUTE, MS, SseClient, get_ok, hex_id, json_log, json_span, logs_body, names_of, post_json,
    problem, running_server, traces_body,
)

SHARED = hex_id("iso/shared", 16)
A_ONLY = hex_id("iso/alpha-only", 16)
B_ONLY = hex_id("iso/beta-only", 16)
ROOT, CHAT = hex_id("iso/root", 8), hex_id("iso/chat", 8)
TOKENS = {"alpha": (10, 5), "beta": (1000, 500)}


def project_data(p, t0):
    """The same ids and names in both projects; content (tokens, attributes, text) differs."""
    tin, tout = TOKENS[p]
    root = {"gen_ai.agent.name": "bot", "user.id": "u", "session.id": "shared-session",
            "project.marker": p, "input.value": f"{p} input"}
    chat = {"gen_ai.operation.name": "chat", "gen_ai.request.model": "m", "gen_ai.provider.name": "openai",
            "gen_ai.usage.input_tokens": tin, "gen_ai.usage.output_tokens": tout, "project.marker": p}
    spans = [json_span(SHARED, ROOT, "root", t0, 100 * MS, root),
             json_span(SHARED, CHAT, "chat", t0 + MS, 50 * MS, chat, ROOT)]
    only, session = (A_ONLY, "alpha-session") if p == "alpha" else (B_ONLY, "beta-only-session")
    spans.append(json_span(only, ROOT, "root", t0 + MINUTE, 10 * MS,
                           {"session.id": session, "project.marker": p, "gen_ai.agent.name": "bot"}))
    logs = [json_log(t0 + i * MS, 13, "WARN", f"{p} log {i}", SHARED, ROOT, {"session.id": "shared-session"})
            for i in range(2)]
    return traces_body([({"service.name": "svc"}, spans)]), logs_body([({"service.name": "svc"}, logs)])


@pytest.fixture(scope="module")
def projects(tmp_path_factory):
    with running_server(tmp_path_factory) as server:
        keys = {p: server.create_key(p)["secret_key"] for p in ("alpha", "beta")}
        t0 = time.time_ns() - 10 * MINUTE
        for p, key in keys.items():
            traces, logs = project_data(p, t0)
            post_json(server, "/v1/traces", traces, key)
            post_json(server, "/v1/logs", logs, key)
        yield server, keys["alpha"], keys["beta"]


def clean(r_text):
    assert "beta" not in r_text, f"project beta's data in an answer to alpha: {r_text[:500]}"


def get_a(server, key, path, params=None):
    body = get_ok(server, path, params, key)
    clean(json.dumps(body))
    return body


def test_trace_routes(projects):
    server, a, b = projects
    listed = get_a(server, a, "/api/v1/traces")["data"]
    assert {t["trace_id"] for t in listed} == {SHARED, A_ONLY}
    shared = next(t for t in listed if t["trace_id"] == SHARED)
    assert (shared["span_count"], shared["input_tokens"], shared["output_tokens"]) == (2, 10, 5)
    assert {t["trace_id"] for t in get_ok(server, "/api/v1/traces", key=b)["data"]} == {SHARED, B_ONLY}

    t = get_a(server, a, f"/api/v1/traces/{SHARED}", {"payloads": "true"})
    assert t["observation_count"] == 2 and t["summary"]["total_tokens"] == 15
    assert {o["attributes"]["project.marker"] for o in t["observations"]} == {"alpha"}
    logs = [log["body"] for o in t["observations"] for log in o["logs"]] + [log["body"] for log in t["logs"]]
    assert sorted(logs) == ["alpha log 0", "alpha log 1"]
    problem(server.get(f"/api/v1/traces/{B_ONLY}", a), 404)


def test_observation_routes(projects):
    server, a, _ = projects
    o = get_a(server, a, f"/api/v1/traces/{SHARED}/observations/{CHAT}")
    assert o["usage"]["input"] == 10 and o["attributes"]["project.marker"] == "alpha"
    problem(server.get(f"/api/v1/traces/{B_ONLY}/observations/{ROOT}", a), 404)
    listed = get_a(server, a, "/api/v1/observations", {"payloads": "true"})["data"]
    assert sorted((x["trace_id"], x["span_id"]) for x in listed) == sorted(
        [(SHARED, ROOT), (SHARED, CHAT), (A_ONLY, ROOT)])
    [llm] = get_a(server, a, "/api/v1/observations", {"model": "m", "service": "svc"})["data"]
    assert (llm["trace_id"], llm["span_id"], llm["usage"]["input"]) == (SHARED, CHAT, 10)


def test_session_routes(projects):
    server, a, _ = projects
    sessions = {s["session_id"]: s for s in get_a(server, a, "/api/v1/sessions")["data"]}
    assert set(sessions) == {"shared-session", "alpha-session"}
    s = sessions["shared-session"]
    assert (s["trace_count"], s["span_count"], s["input_tokens"], s["output_tokens"]) == (1, 2, 10, 5)
    one = get_a(server, a, "/api/v1/sessions/shared-session")
    assert [t["trace_id"] for t in one["traces"]] == [SHARED] and one["traces"][0]["input"] == {"value": "alpha input"}
    problem(server.get("/api/v1/sessions/beta-only-session", a), 404)


def test_log_route(projects):
    server, a, _ = projects
    assert sorted(log["body"] for log in get_a(server, a, "/api/v1/logs")["data"]) == ["alpha log 0", "alpha log 1"]
    assert get_a(server, a, "/api/v1/logs", {"q": "beta"})["data"] == []
    assert len(get_a(server, a, "/api/v1/logs", {"session_id": "shared-session", "trace_id": SHARED})["data"]) == 2


def test_metrics_route(projects):
    server, a, _ = projects
    body = get_a(server, a, "/api/v1/metrics", {"since": "1h", "bucket": "1h"})
    points = [p for s in body["series"] for p in s["points"]]
    assert sum(p["requests"] for p in points) == 3
    assert sum(p["input_tokens"] for p in points) == 10 and sum(p["output_tokens"] for p in points) == 5
    by_model = get_a(server, a, "/api/v1/metrics", {"since": "1h", "group_by": "model", "model": "m"})
    assert [(s["group"], sum(p["requests"] for p in s["points"])) for s in by_model["series"]] == [("m", 1)]


def test_stream_route(projects):
    server, a, b = projects
    sse = SseClient(server, {"heartbeat": "1"}, key=a)
    assert sse.resp.status_code == 200, sse.resp.text[:300]
    try:
        assert sse.wait(lambda r: sse.heartbeats(), 5)
        now = time.time_ns()
        for p, key in (("beta", b), ("alpha", a)):  # B first: if it leaked, it would arrive first
            tid = hex_id(f"iso/live/{p}/{now}", 16)
            post_json(server, "/v1/traces", traces_body([({"service.name": "svc"}, [
                json_span(tid, ROOT, f"{p}-live", now, MS, {"project.marker": p})])]), key)
            post_json(server, "/v1/logs", logs_body([({"service.name": "svc"}, [
                json_log(now, 13, "WARN", f"{p} live log", tid)])]), key)
        assert sse.wait(lambda r: any(e.get("json", {}).get("body") == "alpha live log" for e in r), 3)
        assert names_of(sse.events("observation")) == ["alpha-live"]
        assert [e["json"]["body"] for e in sse.events("log")] == ["alpha live log"]
        for e in sse.events():
            clean(e.get("data", ""))
    finally:
        sse.close()


@pytest.mark.parametrize("path,params", [
    ("/api/v1/traces", {}),
    ("/api/v1/traces", {"sort": "duration", "order": "asc"}),
    ("/api/v1/observations", {}),
    ("/api/v1/sessions", {}),
    ("/api/v1/logs", {}),
])
def test_cursor_from_a_is_refused_in_b(projects, path, params):
    server, a, b = projects
    page = get_ok(server, path, {**params, "limit": 1}, a)
    cursor = page.get("next_cursor")
    assert cursor, f"{path}: alpha has two items, so a page of one has a next_cursor"
    assert get_ok(server, path, {**params, "limit": 1, "cursor": cursor}, a)["data"], "the cursor works in A"
    r = server.get(path, b, params={**params, "limit": 1, "cursor": cursor})
    problem(r, 400, "cursor")
    clean(r.text)


def test_cursor_is_bound_to_the_ordering(projects):
    server, a, _ = projects
    cursor = get_ok(server, "/api/v1/traces", {"limit": 1, "sort": "start"}, a)["next_cursor"]
    for other in ({"sort": "duration"}, {"sort": "start", "order": "asc"}, {"sort": "tokens"}):
        problem(server.get("/api/v1/traces", a, params={"limit": 1, "cursor": cursor, **other}), 400, "cursor")

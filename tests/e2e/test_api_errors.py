"""Every failure of the query API has one JSON shape {status, code, message} whose message
starts with the parameter's name; unknown ids are 404, wrong keys 401; and the OpenAPI
description lists every route (docs/api.md)."""

import json
import re

import pytest
import requests
from api_data import MS, get_ok, hex_id, json_span, post_json, problem, running_server, traces_body

TRACE = hex_id("errors/trace", 16)
SPAN = hex_id("errors/span", 8)


@pytest.fixture(scope="module")
def srv(tmp_path_factory):
    with running_server(tmp_path_factory) as server:
        span = json_span(TRACE, SPAN, "step", 1_700_000_000_000_000_000, MS, {"session.id": "sess-e"})
        post_json(server, "/v1/traces", traces_body([({"service.name": "errors"}, [span])]))
        yield server


BAD = [  # (route, parameters, the parameter the message must start with)
    ("/api/v1/traces", {"limit": "0"}, "limit"),
    ("/api/v1/traces", {"limit": "5000"}, "limit"),
    ("/api/v1/traces", {"limit": "ten"}, "limit"),
    ("/api/v1/traces", {"bogus": "1"}, "bogus"),
    ("/api/v1/traces", {"servce": "checkout"}, "servce"),
    ("/api/v1/traces", {"from": "yesterday"}, "from"),
    ("/api/v1/traces", {"to": "2026-13-45T99:00:00Z"}, "to"),
    ("/api/v1/traces", {"since": "5 parsecs"}, "since"),
    ("/api/v1/traces", {"since": "-1h"}, "since"),
    ("/api/v1/traces", {"status": "broken"}, "status"),
    ("/api/v1/traces", {"kind": "wizard"}, "kind"),
    ("/api/v1/traces", {"trace_id": "xyz"}, "trace_id"),
    ("/api/v1/traces", {"trace_id": "abc123"}, "trace_id"),
    ("/api/v1/traces", {"min_duration": "fast"}, "min_duration"),
    ("/api/v1/traces", {"sort": "alphabetical"}, "sort"),
    ("/api/v1/traces", {"order": "sideways"}, "order"),
    ("/api/v1/traces", {"cursor": "not-a-cursor"}, "cursor"),
    ("/api/v1/traces", {"attribute": "no-equals-sign"}, "attribute"),
    ("/api/v1/observations", {"limit": "0"}, "limit"),
    ("/api/v1/observations", {"kind": "wizard"}, "kind"),
    ("/api/v1/observations", {"status": "maybe"}, "status"),
    ("/api/v1/observations", {"cursor": "garbage"}, "cursor"),
    ("/api/v1/observations", {"payloads": "sometimes"}, "payloads"),
    ("/api/v1/observations", {"sort": "duration"}, "sort"),  # observations have no sort parameter
    ("/api/v1/sessions", {"limit": "1001"}, "limit"),
    ("/api/v1/sessions", {"cursor": "garbage"}, "cursor"),
    ("/api/v1/sessions", {"model": "gpt-4o"}, "model"),  # not a session parameter
    ("/api/v1/logs", {"level": "loud"}, "level"),
    ("/api/v1/logs", {"level": "25"}, "level"),
    ("/api/v1/logs", {"trace_id": "zz"}, "trace_id"),
    ("/api/v1/logs", {"since": "soon"}, "since"),
    ("/api/v1/logs", {"cursor": "garbage"}, "cursor"),
    ("/api/v1/metrics", {"group_by": "color"}, "group_by"),
    ("/api/v1/metrics", {"bucket": "soon"}, "bucket"),
    ("/api/v1/metrics", {"bucket": "0"}, "bucket"),
    ("/api/v1/metrics", {"min_duration": "5 minutes"}, "min_duration"),
    ("/api/v1/traces/" + TRACE, {"payloads": "yes please"}, "payloads"),
    ("/api/v1/traces/" + TRACE, {"bogus": "1"}, "bogus"),
]


@pytest.mark.parametrize("path,params,param", BAD, ids=[f"{p.split('/')[3]}-{'&'.join(k)}" for p, k, _ in BAD])
def test_bad_parameter_is_a_400_naming_it(srv, path, params, param):
    problem(requests.get(srv.url + path, params=params, timeout=10), 400, param)


def test_since_with_from_and_too_many_buckets_are_refused(srv):
    body = problem(requests.get(srv.url + "/api/v1/traces", params={"since": "1h", "from": "0"}, timeout=10), 400)
    assert body["message"].startswith(("since", "from")), body
    many = {"from": "0", "to": str(10**18), "bucket": "1s"}  # a billion buckets, at most 100,000 allowed
    body = problem(requests.get(srv.url + "/api/v1/metrics", params=many, timeout=10), 400)
    assert body["message"].startswith(("bucket", "from", "to")), body


@pytest.mark.parametrize("params,param", [({"heartbeat": "0"}, "heartbeat"), ({"heartbeat": "61"}, "heartbeat"),
                                          ({"heartbeat": "often"}, "heartbeat"), ({"types": "metrics"}, "types"),
                                          ({"kind": "wizard"}, "kind"), ({"bogus": "1"}, "bogus")])
def test_bad_stream_parameter_is_a_400_before_streaming(srv, params, param):
    r = requests.get(srv.url + "/api/v1/stream", params=params, stream=True, timeout=(5, 5))
    try:
        problem(r, 400, param)
    finally:
        r.close()


@pytest.mark.parametrize("path", [
    "/api/v1/traces/" + hex_id("errors/missing", 16),
    f"/api/v1/traces/{TRACE}/observations/{hex_id('errors/missing', 8)}",
    f"/api/v1/traces/{hex_id('errors/missing', 16)}/observations/{SPAN}",
    "/api/v1/sessions/no-such-session",
])
def test_unknown_ids_are_404(srv, path):
    problem(requests.get(srv.url + path, timeout=10), 404)


def test_known_ids_are_found(srv):
    """The 404s above are for the ids, not the routes."""
    assert get_ok(srv, f"/api/v1/traces/{TRACE}")["trace_id"] == TRACE
    assert get_ok(srv, f"/api/v1/traces/{TRACE}/observations/{SPAN}")["span_id"] == SPAN
    assert get_ok(srv, "/api/v1/sessions/sess-e")["session"]["trace_count"] == 1


ROUTES = ["/api/v1/traces", f"/api/v1/traces/{TRACE}", f"/api/v1/traces/{TRACE}/observations/{SPAN}",
          "/api/v1/observations", "/api/v1/sessions", "/api/v1/sessions/sess-e", "/api/v1/logs",
          "/api/v1/metrics", "/api/v1/stream"]


def test_wrong_or_missing_key_is_401_on_every_route(make_server):
    server = make_server()
    key = server.create_key("errors")["secret_key"]
    for path in ROUTES:
        for headers in ({}, {"Authorization": "Bearer sk-sl-wrong"}, {"Authorization": f"Bearer {key}x"}):
            r = requests.get(server.url + path, headers=headers, stream=True, timeout=(5, 5))
            try:
                problem(r, 401)
            finally:
                r.close()
        r = requests.get(server.url + path, headers={"Authorization": f"Bearer {key}"}, stream=True, timeout=(5, 5))
        try:
            assert r.status_code in (200, 404), (path, r.status_code, r.text[:200] if r.status_code != 200 else "")
        finally:
            r.close()


API_PATHS = ["/api/v1/traces", "/api/v1/traces/{trace_id}", "/api/v1/traces/{trace_id}/observations/{span_id}",
             "/api/v1/observations", "/api/v1/sessions", "/api/v1/sessions/{session_id}", "/api/v1/logs",
             "/api/v1/metrics", "/api/v1/stream"]


def test_openapi_lists_every_route(srv):
    r = requests.get(srv.url + "/api/v1/openapi.json", timeout=10)
    assert r.status_code == 200 and r.headers.get("Content-Type", "").startswith("application/json")
    doc = r.json()
    assert str(doc.get("openapi", "")).startswith("3.1"), doc.get("openapi")
    assert doc.get("info", {}).get("title") and doc.get("info", {}).get("version")
    shape = {re.sub(r"\{[^}]+\}", "{}", p): p for p in doc.get("paths", {})}
    missing = [p for p in API_PATHS if re.sub(r"\{[^}]+\}", "{}", p) not in shape]
    assert not missing, f"missing from openapi.json paths: {missing}"
    for p in API_PATHS:
        assert "get" in doc["paths"][shape[re.sub(r"\{[^}]+\}", "{}", p)]], p


# --- one error shape everywhere: unknown routes, wrong methods, 413 -----------------------------

# The routes openapi.json does not describe (receivers and operator endpoints), with their methods.
OTHER_ROUTES = {"/v1/traces": {"POST"}, "/v1/logs": {"POST"}, "/api/public/otel/v1/traces": {"POST"},
                "/api/v1/events": {"POST"}, "/health": {"GET"}, "/metrics": {"GET"}}
PATH_VALUES = {"trace_id": TRACE, "span_id": SPAN, "session_id": "sess-e", "id": "po_x", "key": "pk-sl-x"}


def any_problem(r, status, code):
    """`r` is the problem shape with this status and code (any code, unlike `problem`)."""
    assert r.status_code == status, f"{r.request.method} {r.url}: {r.status_code} {r.text[:300]}"
    assert r.headers.get("Content-Type", "").startswith("application/json"), (r.request.method, r.url, r.headers)
    body = r.json()
    assert set(body) == {"status", "code", "message"}, body
    assert body["status"] == status and body["code"] == code and body["message"], body
    return body


def every_route(srv):
    """{path: methods} of every route: openapi.json's and OTHER_ROUTES."""
    paths = srv.get("/api/v1/openapi.json").json()["paths"]
    routes = {re.sub(r"\{([^}]+)\}", lambda m: PATH_VALUES[m.group(1)], p): {m.upper() for m in ops}
              for p, ops in paths.items()}
    return {**routes, **OTHER_ROUTES}


@pytest.mark.parametrize("path", ["/nope/deeper", "/nope", "/api", "/api/v2/traces", "/api/v1/nope",
                                  f"/api/v1/traces/{TRACE}/observations", "/api/v1/keys/a/b", "/v1/metricz"])
@pytest.mark.parametrize("method", ["GET", "POST", "DELETE"])
def test_an_unknown_route_is_a_404_problem(srv, path, method):
    body = any_problem(requests.request(method, srv.url + path, timeout=10), 404, "not_found")
    assert path in body["message"] and "/api/v1/openapi.json" in body["message"], body


def test_a_wrong_method_is_a_405_problem_with_allow_on_every_route(srv):
    routes = every_route(srv)
    assert len(routes) >= 20, routes
    for path, allowed in routes.items():
        for method in sorted({"GET", "POST", "PUT", "DELETE", "PATCH"} - allowed):
            r = requests.request(method, srv.url + path, data=b"{}", timeout=10)
            body = any_problem(r, 405, "method_not_allowed")
            allow = set(r.headers["Allow"].split(","))
            assert allowed <= allow and allow - allowed <= {"HEAD"}, (path, allow, allowed)
            assert path.split("?")[0] in body["message"] and method in body["message"], body


def test_bodies_over_their_limits_are_413_problems(make_server):
    server = make_server("--max-http-body-bytes", "1000")
    big = json.dumps([{"message": "x" * 2000}])
    any_problem(server.post("/api/v1/events", big), 413, "payload_too_large")
    override = json.dumps({"model": "m", "input": "1", "output": "1", "provider": "p" * 20_000})
    r = requests.put(server.url + "/api/v1/prices/overrides", data=override, timeout=10)
    any_problem(r, 413, "payload_too_large")
    # OTLP keeps its own protocol's shape, google.rpc.Status (here as JSON).
    r = server.post("/v1/traces", json.dumps({"resourceSpans": [], "pad": "x" * 2000}))
    assert r.status_code == 413 and set(r.json()) >= {"code", "message"}, r.text

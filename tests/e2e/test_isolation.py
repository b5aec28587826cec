"""Two projects on one server: the project comes from the credential only. The same trace id
sent by each stays two traces; nothing in headers or query parameters can cross the line; and a
revoked key is refused at once on every route."""

import base64
import re

import grpc
import pytest
import requests
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.resource.v1.resource_pb2 import Resource
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans, Span

TRACE = "11112222333344445555666677778888"
ONLY_B = "9999aaaabbbbccccddddeeeeffff0000"
T0 = 1_700_000_000_000_000_000


def request(trace_id, name, service):
    span = Span(
        trace_id=bytes.fromhex(trace_id), span_id=bytes.fromhex("0102030405060708"), name=name,
        start_time_unix_nano=T0, end_time_unix_nano=T0 + 1_000_000,
    )
    resource = Resource(attributes=[KeyValue(key="service.name", value=AnyValue(string_value=service))])
    return trace_service_pb2.ExportTraceServiceRequest(
        resource_spans=[ResourceSpans(resource=resource, scope_spans=[ScopeSpans(spans=[span])])]
    )


def post_trace(server, trace_id, name, service, headers=None, params=None):
    body = request(trace_id, name, service).SerializeToString()
    return server.post("/v1/traces", body, "application/x-protobuf", headers=headers, params=params)


def basic(public, secret):
    return {"Authorization": "Basic " + base64.b64encode(f"{public}:{secret}".encode()).decode()}


def bearer(key):
    return {"Authorization": f"Bearer {key['secret_key']}"}


def read(server, trace_id, headers, params=None):
    return requests.get(f"{server.url}/api/v1/traces/{trace_id}", headers=headers, params=params, timeout=10)


def names(server, trace_id, headers, params=None):
    r = read(server, trace_id, headers, params)
    assert r.status_code == 200, r.text
    return [o["name"] for o in r.json()["observations"]]


@pytest.fixture
def two_projects(server):
    a, b = server.create_key("alpha"), server.create_key("beta")
    assert post_trace(server, TRACE, "alpha-step", "svc-a", bearer(a)).status_code == 200
    assert post_trace(server, TRACE, "beta-step", "svc-b", basic(b["public_key"], b["secret_key"])).status_code == 200
    assert post_trace(server, ONLY_B, "beta-only", "svc-b", bearer(b)).status_code == 200
    return server, a, b


def test_anonymous_access_ends_when_the_first_key_exists(server):
    before = "12" * 16
    assert post_trace(server, before, "anonymous-step", "svc").status_code == 200
    assert names(server, before, {}) == ["anonymous-step"]
    a = server.create_key("alpha")
    assert post_trace(server, "34" * 16, "late-anonymous", "svc").status_code == 401
    assert read(server, before, {}).status_code == 401
    # What was written anonymously belongs to project `default`, not to the new key's project.
    assert read(server, before, bearer(a)).status_code == 404


def test_same_trace_id_is_two_traces(two_projects):
    server, a, b = two_projects
    assert names(server, TRACE, bearer(a)) == ["alpha-step"]
    assert names(server, TRACE, bearer(b)) == ["beta-step"]
    assert names(server, TRACE, basic(a["public_key"], a["secret_key"])) == ["alpha-step"]
    ra = read(server, TRACE, bearer(a)).json()
    assert ra["summary"]["service_name"] == "svc-a" and ra["summary"]["span_count"] == 1


def test_other_projects_trace_is_404(two_projects):
    server, a, b = two_projects
    r = read(server, ONLY_B, bearer(a))
    assert r.status_code == 404
    problem = r.json()
    assert problem["status"] == 404 and problem["code"] == "not_found"
    assert "beta-only" not in r.text
    assert names(server, ONLY_B, bearer(b)) == ["beta-only"]


def test_unauthenticated_and_wrong_credentials_are_401(two_projects):
    server, a, b = two_projects
    wrong = [
        {},
        {"Authorization": "Bearer sk-sl-not-a-real-key"},
        {"Authorization": f"Bearer {a['secret_key']}x"},
        {"Authorization": f"Bearer {a['public_key']}"},  # the public half is not a secret
        basic(b["public_key"], a["secret_key"]),  # right secret, someone else's public key
        basic("pk-sl-unknown", a["secret_key"]),  # right secret, unknown public key
        basic(a["public_key"], "wrong"),
        {"Authorization": "Token " + a["secret_key"]},
    ]
    for headers in wrong:
        r = read(server, TRACE, headers)
        assert r.status_code == 401, (headers, r.status_code)
        assert r.json()["code"] == "unauthenticated" and r.json()["message"]
        w = post_trace(server, "ab" * 16, "intruder", "svc-x", headers)
        assert w.status_code == 401, (headers, w.status_code)
        e = server.post("/api/v1/events", '[{"message": "intruder"}]', headers=headers)
        assert e.status_code == 401, (headers, e.status_code)
    # Nothing written by the refused requests reached either project.
    for key in (a, b):
        assert read(server, "ab" * 16, bearer(key)).status_code == 404


def test_headers_and_parameters_cannot_pick_the_project(two_projects):
    server, a, b = two_projects
    spoof = {"X-Project": "beta", "X-Project-Id": "beta", "X-Sightline-Project": "beta",
             "Langfuse-Project": "beta", "X-Scope-OrgID": "beta"}
    assert names(server, TRACE, {**bearer(a), **spoof}) == ["alpha-step"]
    # A project parameter on a read is refused outright (unknown parameters are a 400).
    r = read(server, TRACE, bearer(a), params={"project": "beta", "project_id": "beta"})
    assert r.status_code == 400 and r.json()["message"].startswith("project: unknown parameter")
    assert "beta-step" not in r.text
    r = read(server, ONLY_B, {**bearer(a), **spoof})
    assert r.status_code == 404
    r = read(server, ONLY_B, spoof, params={"project": "beta"})
    assert r.status_code == 401

    # A write with A's key and B's name in headers and parameters lands in A.
    spoofed = "cafe" * 8
    assert post_trace(server, spoofed, "spoofed-write", "svc-a", {**bearer(a), **spoof},
                      params={"project": "beta"}).status_code == 200
    assert names(server, spoofed, bearer(a)) == ["spoofed-write"]
    assert read(server, spoofed, bearer(b)).status_code == 404


def grpc_export(server, req, metadata):
    with grpc.insecure_channel(server.grpc_endpoint) as channel:
        stub = trace_service_pb2_grpc.TraceServiceStub(channel)
        return stub.Export(req, metadata=metadata, timeout=10)


def test_grpc_is_scoped_by_its_authorization_metadata(two_projects):
    server, a, b = two_projects
    grpc_trace = "feed" * 8
    grpc_export(server, request(grpc_trace, "grpc-alpha", "svc-a"),
                [("authorization", f"Bearer {a['secret_key']}"), ("x-project", "beta")])
    grpc_export(server, request(grpc_trace, "grpc-beta", "svc-b"),
                [("authorization", basic(b["public_key"], b["secret_key"])["Authorization"])])
    assert names(server, grpc_trace, bearer(a)) == ["grpc-alpha"]
    assert names(server, grpc_trace, bearer(b)) == ["grpc-beta"]

    refused = [
        [],
        [("authorization", "Bearer sk-sl-wrong")],
        [("authorization", basic(a["public_key"], b["secret_key"])["Authorization"])],
    ]
    for metadata in refused:
        with pytest.raises(grpc.RpcError) as err:
            grpc_export(server, request("beef" * 8, "grpc-intruder", "svc-x"), metadata)
        assert err.value.code() == grpc.StatusCode.UNAUTHENTICATED, metadata
        assert err.value.details()
    for key in (a, b):
        assert read(server, "beef" * 8, bearer(key)).status_code == 404


SPAN = "0102030405060708"


def every_route(trace_id):
    """Every HTTP route that takes a key, with a request that reaches its handler:
    (method, path, body, content type)."""
    otlp = request(trace_id, "late", "svc").SerializeToString()
    return [
        ("GET", "/api/v1/traces", None, None),
        ("GET", f"/api/v1/traces/{trace_id}", None, None),
        ("GET", f"/api/v1/traces/{trace_id[:8]}", None, None),
        ("GET", f"/api/v1/traces/{trace_id}/observations/{SPAN}", None, None),
        ("GET", "/api/v1/observations", None, None),
        ("GET", "/api/v1/sessions", None, None),
        ("GET", "/api/v1/sessions/s", None, None),
        ("GET", "/api/v1/logs", None, None),
        ("GET", "/api/v1/metrics", None, None),
        ("GET", "/api/v1/costs", None, None),
        ("GET", "/api/v1/metric-names", None, None),
        ("GET", "/api/v1/metric-series?name=m", None, None),
        ("GET", "/api/v1/stream", None, None),
        ("GET", "/api/v1/prices", None, None),
        ("GET", "/api/v1/prices/lookup?model=gpt-4o", None, None),
        ("PUT", "/api/v1/prices/overrides", '{"model": "m", "input": "1", "output": "1"}', "application/json"),
        ("DELETE", "/api/v1/prices/overrides/po_x", None, None),
        ("GET", "/api/v1/keys", None, None),
        ("POST", "/api/v1/keys", "{}", "application/json"),
        ("DELETE", "/api/v1/keys/pk-sl-x", None, None),
        ("GET", "/api/v1/budgets", None, None),
        ("PUT", "/api/v1/budgets", "{}", "application/json"),
        ("GET", "/api/v1/budgets/events", None, None),
        ("DELETE", "/api/v1/budgets/b_x", None, None),
        ("GET", "/api/v1/gateway", None, None),
        ("GET", "/api/v1/gateway/rate-limits", None, None),
        ("PUT", "/api/v1/gateway/rate-limits", "{}", "application/json"),
        ("DELETE", "/api/v1/gateway/rate-limits/rl_x", None, None),
        ("GET", "/api/v1/gateway/keys", None, None),
        ("PUT", "/api/v1/gateway/keys", "{}", "application/json"),
        ("DELETE", "/api/v1/gateway/keys/pk_x", None, None),
        ("POST", "/v1/traces", otlp, "application/x-protobuf"),
        ("POST", "/api/public/otel/v1/traces", otlp, "application/x-protobuf"),
        ("POST", "/v1/logs", '{"resourceLogs": []}', "application/json"),
        ("POST", "/v1/metrics", '{"resourceMetrics": []}', "application/json"),
        ("POST", "/api/v1/events", '[{"message": "x"}]', "application/json"),
    ]


def call(server, route, headers):
    method, path, body, content_type = route
    h = dict(headers)
    if content_type:
        h["Content-Type"] = content_type
    r = requests.request(method, server.url + path, data=body, headers=h, stream=True, timeout=(5, 5))
    if r.status_code != 200:  # a 200 of the stream never ends
        r.content  # noqa: B018 (reads the body before closing)
    r.close()
    return r


def test_the_route_matrix_covers_every_documented_route(server):
    documented = {(m.upper(), p) for p, ops in server.get("/api/v1/openapi.json").json()["paths"].items()
                  for m in ops if p != "/api/v1/openapi.json"}
    def template_of(method, path):
        for m, p in documented:
            if m == method and re.fullmatch(re.sub(r"\{[^}]+\}", "[^/]+", p), path.split("?")[0]):
                return p
        return path

    covered = {(m, template_of(m, p)) for m, p, _, _ in every_route(TRACE)}
    missing = documented - covered
    assert not missing, f"add these routes to every_route(): {sorted(missing)}"


def test_a_revoked_key_is_refused_at_once_on_every_route(two_projects):
    server, a, b = two_projects
    # A second admin key of alpha revokes the first; the first was just used, so it is cached.
    r = requests.post(server.url + "/api/v1/keys", headers=bearer(a), timeout=10)
    assert r.status_code == 201, r.text
    second = r.json()
    assert post_trace(server, "5e" * 16, "warm", "svc-a", bearer(a)).status_code == 200
    r = requests.delete(f"{server.url}/api/v1/keys/{a['public_key']}", headers={
        "Authorization": f"Bearer {second['secret_key']}"}, timeout=10)
    assert r.status_code == 200 and r.json()["status"] == "revoked", r.text
    for credentials in (bearer(a), basic(a["public_key"], a["secret_key"])):
        for route in every_route(TRACE):
            got = call(server, route, credentials)
            assert got.status_code == 401, (route[:2], got.status_code)
            if not route[1].startswith(("/v1/", "/api/public/")):  # OTLP answers google.rpc.Status
                assert got.json()["code"] == "unauthenticated" and "revoked" in got.json()["message"]
    with pytest.raises(grpc.RpcError) as err:
        grpc_export(server, request("5f" * 16, "grpc", "svc"), [("authorization", f"Bearer {a['secret_key']}")])
    assert err.value.code() == grpc.StatusCode.UNAUTHENTICATED and "revoked" in err.value.details()
    # The other keys, of alpha and of beta, are untouched.
    assert names(server, TRACE, {"Authorization": f"Bearer {second['secret_key']}"}) == ["alpha-step"]
    assert names(server, TRACE, bearer(b)) == ["beta-step"]

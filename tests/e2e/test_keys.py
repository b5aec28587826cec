"""Keys a user can manage (README "Keys and projects", docs/api.md "Keys"): `sightline keys
create|list|revoke` on the store and through a running server, `/api/v1/keys`, roles from the
key, revocation (at once on the node that revokes, within the key cache time elsewhere), the
explicit store choice, and the warning when the first key hides project `default`."""

import json
import re
import subprocess
import time

import grpc
import langfuse
import pytest
import requests
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2_grpc
from opentelemetry.sdk.trace import TracerProvider
from test_isolation import post_trace
from test_isolation import request as otlp_request
from test_otlp_json import langfuse_env  # noqa: F401 (a fixture)

from conftest import BIN, clean_env

# The Authenticator's key cache time (crates/server/src/auth/authenticator.rs KEY_CACHE_TTL).
KEY_CACHE_SECONDS = 2
PREFIX = re.compile(r"^pk-sl-[A-Za-z0-9]{8}$")


def sightline(*args, cwd=None, env=None, check=True):
    out = subprocess.run([str(BIN), *args], capture_output=True, text=True, timeout=60,
                         cwd=cwd, env=clean_env(env))
    if check:
        assert out.returncode == 0, f"{args}: exit {out.returncode}\n{out.stdout}\n{out.stderr}"
    return out


def on_store(server, *args, check=True):
    return sightline("keys", *args, "--data-dir", str(server.data_dir), check=check)


def through(server, key, *args, check=True):
    """`sightline keys ARGS` through the server with `key` (SIGHTLINE_URL / SIGHTLINE_API_KEY)."""
    return sightline("keys", *args, env={"SIGHTLINE_URL": server.url, "SIGHTLINE_API_KEY": key},
                     check=check)


def auth(key):
    return {"Authorization": f"Bearer {key}"}


def problem(r, status, code):
    assert r.status_code == status, (r.request.method, r.url, r.status_code, r.text[:300])
    assert r.headers.get("Content-Type", "").startswith("application/json"), r.headers
    body = r.json()
    assert body["status"] == status and body["code"] == code and body["message"], body
    return body


def post_key(server, admin, body=None):
    return requests.post(server.url + "/api/v1/keys", headers=auth(admin),
                         data=json.dumps(body) if body is not None else None, timeout=10)


def export(server, key, trace_id, name="step"):
    return post_trace(server, trace_id, name, "svc", auth(key) if key else {})


def refused_within(check, seconds):
    """Polls `check()` (True once the key is refused) every 50 ms; the seconds it took."""
    started = time.monotonic()
    while time.monotonic() - started < seconds:
        if check():
            return time.monotonic() - started
        time.sleep(0.05)
    raise AssertionError(f"still accepted after {seconds} s")


# --- the store the key commands open ----------------------------------------------------------

def test_keys_create_needs_an_existing_store_unless_init(tmp_path):
    empty = tmp_path / "elsewhere"
    empty.mkdir()
    out = sightline("keys", "create", "--project", "p", cwd=empty, check=False)
    assert out.returncode != 0 and out.stdout == ""
    msg = out.stderr
    assert msg.startswith("error: no Sightline store in the data directory "), msg
    assert str(empty / "sightline-data") in msg, msg
    for hint in ("--data-dir", "SIGHTLINE_STORE__DATA_DIR", "--url", "--init"):
        assert hint in msg, (hint, msg)
    assert list(empty.iterdir()) == [], "nothing may be created"
    for args in (["list"], ["revoke", "pk-sl-x"]):
        out = sightline("keys", *args, cwd=empty, check=False)
        assert out.returncode != 0 and "no Sightline store" in out.stderr, out.stderr
    fresh = tmp_path / "fresh"
    out = sightline("keys", "create", "--project", "p", "--data-dir", str(fresh), check=False)
    assert out.returncode != 0 and str(fresh) in out.stderr and not fresh.exists()

    made = sightline("keys", "create", "--project", "p", "--data-dir", str(fresh), "--init", "--json")
    key = json.loads(made.stdout)
    assert key["project"] == "p" and key["role"] == "admin" and key["secret_key"].startswith("sk-sl-")
    assert "first key" in made.stderr
    # The environment names the same store.
    listed = sightline("keys", "list", "--json", env={"SIGHTLINE_STORE__DATA_DIR": str(fresh)}, cwd=empty)
    assert [k["prefix"] for k in json.loads(listed.stdout)["data"]] == [key["prefix"]]


def test_the_first_key_warns_that_default_becomes_unreachable(server):
    anonymous = "a1" * 16
    assert export(server, None, anonymous, "demo-step").status_code == 200
    made = on_store(server, "create", "--project", "checkout")
    warning = made.stderr
    assert warning.startswith("warning: this is the first key"), warning
    assert "`default`" in warning and "sightline keys create --project default" in warning
    assert export(server, None, "a2" * 16).status_code == 401
    # As the warning says: a key of project default reads what was sent without a key.
    default = json.loads(on_store(server, "create", "--project", "default", "--json").stdout)
    assert server.trace(anonymous, default["secret_key"]) is not None
    later = on_store(server, "create", "--project", "other")
    assert "warning" not in later.stderr, "only the first key warns"


# --- list and revoke, on the store and through the server -------------------------------------

def test_cli_lists_prefixes_and_revokes_on_the_store_while_the_server_runs(server):
    a = json.loads(on_store(server, "create", "--project", "alpha", "--json").stdout)
    b = json.loads(on_store(server, "create", "--project", "beta", "--role", "viewer", "--json").stdout)
    text = on_store(server, "list").stdout
    lines = text.rstrip("\n").split("\n")
    assert lines[0].split() == ["PREFIX", "PROJECT", "ROLE", "STATUS", "CREATED", "REVOKED"]
    assert [l.split()[:4] for l in lines[1:]] == [
        [a["prefix"], "alpha", "admin", "active"], [b["prefix"], "beta", "viewer", "active"]]
    for secret in (a["secret_key"], b["secret_key"], a["public_key"], b["public_key"]):
        assert secret not in text
    listed = json.loads(on_store(server, "list", "--json").stdout)["data"]
    assert all(PREFIX.match(k["prefix"]) for k in listed)
    assert secret_free(listed, a, b)

    assert export(server, a["secret_key"], "b1" * 16).status_code == 200  # cached by the server
    out = on_store(server, "revoke", a["prefix"])
    assert out.stdout.startswith(f"revoked {a['prefix']} (project alpha, role admin)"), out.stdout
    took = refused_within(lambda: export(server, a["secret_key"], "b2" * 16).status_code == 401,
                          KEY_CACHE_SECONDS + 3)
    assert took <= KEY_CACHE_SECONDS + 1, took
    r = server.get("/api/v1/traces", a["secret_key"])
    assert "revoked" in problem(r, 401, "unauthenticated")["message"]
    assert server.get("/api/v1/traces", b["secret_key"]).status_code == 200, "only that key"
    again = on_store(server, "revoke", a["prefix"], check=False)
    assert again.returncode != 0 and "already revoked" in again.stderr
    unknown = on_store(server, "revoke", "pk-sl-nosuchkey", check=False)
    assert unknown.returncode != 0 and "no key starts with" in unknown.stderr
    listed = json.loads(on_store(server, "list", "--json").stdout)["data"]
    assert [(k["status"], "revoked_ns" in k) for k in listed] == [("revoked", True), ("active", False)]


def secret_free(listed, *keys):
    text = json.dumps(listed)
    return all(k["secret_key"] not in text and k["public_key"] not in text for k in keys)


def test_api_creates_lists_and_revokes_the_projects_keys(server):
    admin = json.loads(on_store(server, "create", "--project", "alpha", "--json").stdout)
    other = json.loads(on_store(server, "create", "--project", "beta", "--json").stdout)
    r = post_key(server, admin["secret_key"], {"role": "viewer"})
    assert r.status_code == 201, r.text
    viewer = r.json()
    assert viewer["project"] == "alpha" and viewer["role"] == "viewer"
    assert viewer["prefix"] == viewer["public_key"][:14]
    member = post_key(server, admin["secret_key"]).json()
    assert member["role"] == "admin", "admin unless the body names a role"
    problem(post_key(server, admin["secret_key"], {"role": "owner"}), 400, "invalid_argument")
    problem(post_key(server, admin["secret_key"], {"project": "beta"}), 400, "invalid_argument")

    listed = server.get("/api/v1/keys", admin["secret_key"]).json()["data"]
    assert [k["prefix"] for k in listed] == [admin["prefix"], viewer["prefix"], member["prefix"]]
    assert {k["project"] for k in listed} == {"alpha"}, "only the caller's project"
    assert secret_free(listed, admin, viewer, member)

    assert server.get("/api/v1/traces", viewer["secret_key"]).status_code == 200
    problem(requests.delete(f"{server.url}/api/v1/keys/{other['prefix']}", headers=auth(admin["secret_key"]),
                            timeout=10), 404, "not_found")  # beta's key is not alpha's to revoke
    problem(requests.delete(f"{server.url}/api/v1/keys/pk-sl-", headers=auth(admin["secret_key"]),
                            timeout=10), 400, "invalid_argument")
    r = requests.delete(f"{server.url}/api/v1/keys/{viewer['prefix']}", headers=auth(admin["secret_key"]),
                        timeout=10)
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "revoked" and r.json()["revoked_time"]
    problem(server.get("/api/v1/traces", viewer["secret_key"]), 401, "unauthenticated")
    problem(requests.delete(f"{server.url}/api/v1/keys/{viewer['public_key']}", headers=auth(admin["secret_key"]),
                            timeout=10), 409, "conflict")
    assert server.get("/api/v1/traces", other["secret_key"]).status_code == 200


def test_cli_manages_keys_through_the_server(server):
    admin = json.loads(on_store(server, "create", "--project", "alpha", "--json").stdout)
    made = json.loads(through(server, admin["secret_key"], "create", "--role", "member", "--json").stdout)
    assert made["project"] == "alpha" and made["role"] == "member"
    text = through(server, admin["secret_key"], "create", "--project", "alpha").stdout
    assert "project:    alpha" in text and "secret key: sk-sl-" in text
    wrong = through(server, admin["secret_key"], "create", "--project", "beta", check=False)
    assert wrong.returncode != 0 and 'belongs to project "alpha"' in wrong.stderr, wrong.stderr
    listed = through(server, admin["secret_key"], "list").stdout
    assert admin["prefix"] in listed and made["prefix"] in listed and made["secret_key"] not in listed
    out = through(server, admin["secret_key"], "revoke", made["prefix"])
    assert out.stdout.startswith(f"revoked {made['prefix']}") and "that server refuses it now" in out.stdout
    problem(server.get("/api/v1/traces", made["secret_key"]), 401, "unauthenticated")
    # A member key may not manage keys; the CLI prints the server's message.
    member = json.loads(through(server, admin["secret_key"], "create", "--role", "member", "--json").stdout)
    denied = through(server, member["secret_key"], "list", check=False)
    assert denied.returncode != 0 and denied.stderr.startswith("error: this needs the admin role"), denied.stderr
    # A store flag wins over SIGHTLINE_URL.
    listed = sightline("keys", "list", "--json", "--data-dir", str(server.data_dir),
                       env={"SIGHTLINE_URL": "http://127.0.0.1:9", "SIGHTLINE_API_KEY": "x"})
    assert len(json.loads(listed.stdout)["data"]) == 4


# --- roles -------------------------------------------------------------------------------------

OVERRIDE = {"model": "gpt-4o", "input": "2", "output": "8"}


def test_roles_come_from_the_key(server):
    admin = json.loads(on_store(server, "create", "--project", "roles", "--json").stdout)
    viewer = post_key(server, admin["secret_key"], {"role": "viewer"}).json()["secret_key"]
    member = post_key(server, admin["secret_key"], {"role": "member"}).json()["secret_key"]
    assert export(server, member, "c1" * 16).status_code == 200

    # A viewer reads ...
    assert server.trace("c1" * 16, viewer) is not None
    assert server.get("/api/v1/prices?source=override", viewer).status_code == 200
    # ... and may not write prices, keys or telemetry.
    put = lambda key: requests.put(server.url + "/api/v1/prices/overrides", data=json.dumps(OVERRIDE),
                                   headers=auth(key), timeout=10)
    body = problem(put(viewer), 403, "forbidden")
    assert "member" in body["message"] and "viewer" in body["message"]
    problem(requests.delete(server.url + "/api/v1/prices/overrides/po_x", headers=auth(viewer), timeout=10),
            403, "forbidden")
    for key in (viewer, member):
        problem(post_key(server, key, {"role": "admin"}), 403, "forbidden")
        problem(server.get("/api/v1/keys", key), 403, "forbidden")
        problem(requests.delete(f"{server.url}/api/v1/keys/{admin['prefix']}", headers=auth(key), timeout=10),
                403, "forbidden")
    problem(server.post("/api/v1/events", '[{"message": "x"}]', key=viewer), 403, "forbidden")
    otlp = export(server, viewer, "c2" * 16)
    assert otlp.status_code == 403, otlp.text  # OTLP's google.rpc.Status, in protobuf
    with grpc.insecure_channel(server.grpc_endpoint) as channel:
        stub = trace_service_pb2_grpc.TraceServiceStub(channel)
        with pytest.raises(grpc.RpcError) as err:
            stub.Export(otlp_request("c3" * 16, "x", "svc"), metadata=[("authorization", f"Bearer {viewer}")],
                        timeout=10)
        assert err.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert server.trace("c2" * 16, admin["secret_key"]) is None

    # A member writes telemetry and prices; an admin everything.
    assert put(member).status_code == 200
    assert put(admin["secret_key"]).status_code == 200


# --- what README tells an exporter ---------------------------------------------------------------

def test_an_otel_exporter_passes_the_key_in_otel_exporter_otlp_headers(server, langfuse_env, monkeypatch):
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor

    key = json.loads(on_store(server, "create", "--project", "otel-env", "--role", "member", "--json").stdout)
    # Exactly README's form: the space of "Bearer <secret>" percent-encoded.
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_HEADERS", f"Authorization=Bearer%20{key['secret_key']}")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", server.url)
    provider = TracerProvider(resource=Resource.create({"service.name": "env-key"}))
    provider.add_span_processor(SimpleSpanProcessor(OTLPSpanExporter()))
    with provider.get_tracer("e2e").start_as_current_span("from-env") as span:
        trace_id = format(span.get_span_context().trace_id, "032x")
    provider.shutdown()
    trace = server.trace(trace_id, key["secret_key"])
    assert trace is not None and trace["observations"][0]["name"] == "from-env"


def test_the_langfuse_sdk_takes_the_key_pair_from_its_environment(server, langfuse_env, monkeypatch):
    key = json.loads(on_store(server, "create", "--project", "lf-env", "--role", "member", "--json").stdout)
    monkeypatch.setenv("LANGFUSE_PUBLIC_KEY", key["public_key"])
    monkeypatch.setenv("LANGFUSE_SECRET_KEY", key["secret_key"])
    monkeypatch.setenv("LANGFUSE_HOST", server.url)  # README's pair; newer SDKs also read LANGFUSE_BASE_URL
    lf = langfuse.Langfuse(tracer_provider=TracerProvider(), flush_at=1000, flush_interval=60)
    with lf.start_as_current_observation(name="from-env-pair", as_type="span") as span:
        trace_id = span.trace_id
    lf.flush()
    trace = server.trace(trace_id, key["secret_key"])
    assert trace is not None and trace["observations"][0]["name"] == "from-env-pair"
    lf.shutdown()

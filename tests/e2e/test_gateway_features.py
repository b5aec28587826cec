"""The gateway's features against the mock's injected failures: rate limits (429 with the
draft's RateLimit fields), the response cache (streamed answers too), retries and fallbacks
(each try in the trace, the upstream's own error when all fail), a client that leaves
mid-stream, bad input answered in the provider's error shape, and two projects whose cache,
budgets and stored provider keys stay apart."""

import json
import time

import anthropic
import openai
import pytest
import requests
from gateway_helpers import Mock, anthropic_url, api, gateway_server, gw_url, llm, new_traceparent, wait_trace

MODEL = "gpt-4o-mini"


@pytest.fixture(scope="module")
def mock():
    m = Mock()
    yield m
    m.stop()


@pytest.fixture(scope="module")
def server(tmp_path_factory, mock):
    with gateway_server(tmp_path_factory, mock, env={"SIGHTLINE_GATEWAY__MAX_BODY_BYTES": "65536"}) as s:
        yield s


def post(server, payload, upstream="openai", path="/chat/completions", headers=None, raw=None):
    h = {"Content-Type": "application/json", "Authorization": "Bearer sk-test", **(headers or {})}
    data = raw if raw is not None else json.dumps(payload)
    return requests.post(gw_url(server, upstream) + path, data=data, headers=h, timeout=30)


def chat(model=MODEL, content="hi", **kw):
    return {"model": model, "messages": [{"role": "user", "content": content}], **kw}


def test_rate_limits_answer_429_with_the_draft_fields(server):
    policy = {"Sightline-RateLimit-Policy": "2;w=60;s=user", "Sightline-User-Id": "rl-user"}
    first = post(server, chat(), headers=policy)
    assert first.status_code == 200
    assert (first.headers["ratelimit-limit"], first.headers["ratelimit-remaining"]) == ("2", "1")
    assert first.headers["ratelimit-policy"] == "2;w=60;u=request;s=user"
    assert post(server, chat(), headers=policy).status_code == 200
    third = post(server, chat(), headers=policy)
    assert third.status_code == 429
    assert third.json()["error"]["code"] == "rate_limit_exceeded"
    assert third.headers["ratelimit-remaining"] == "0"
    assert 0 < int(third.headers["retry-after"]) <= 60
    # Another user has a window of their own.
    assert post(server, chat(), headers={**policy, "Sightline-User-Id": "other"}).status_code == 200
    # A stored rule applies without any header: one request a minute per tenant.
    r = api(server, "PUT", "/api/v1/gateway/rate-limits", json={"policy": "1;w=60;s=tenant"})
    assert r.status_code == 200 and r.json()["policy"] == "1;w=60;u=request;s=tenant"
    tenant = {"Sightline-Tenant-Id": "limited-co"}
    assert post(server, chat(), headers=tenant).status_code == 200
    assert post(server, chat(), headers=tenant).status_code == 429
    assert api(server, "DELETE", f"/api/v1/gateway/rate-limits/{r.json()['id']}").status_code == 204
    assert post(server, chat(), headers=tenant).status_code == 200


def test_cache_hits_skip_the_upstream_streamed_too(server, mock):
    model = "gpt-4o-mini-cached"
    mock.behaviour(model, answer_model="gpt-4o-mini")
    on = {"Sightline-Cache-Enabled": "true"}
    client = openai.OpenAI(base_url=gw_url(server), api_key="sk-test", max_retries=0, default_headers=on)
    first = client.chat.completions.with_raw_response.create(**chat(model, "cache me"))
    assert first.headers["sightline-cache"] == "MISS"
    time.sleep(0.5)  # the entry is stored off the response's path
    tp, trace_id, _ = new_traceparent()
    second = client.chat.completions.with_raw_response.create(**chat(model, "cache me"),
                                                               extra_headers={"traceparent": tp})
    assert second.headers["sightline-cache"] == "HIT"
    assert second.parse().model_dump() == first.parse().model_dump()
    assert mock.requests_for(model) == 1
    o = llm(wait_trace(server, trace_id))
    assert o["attributes"]["sightline.gateway.cache"] == "hit"
    assert o["cost"]["nano_usd"] == 0
    assert o["attributes"]["sightline.gateway.cost_saved_usd"] == "0.00000705"
    # Key order and spacing do not matter; another seed is another entry.
    raw = '{ "messages":[{"content":"cache me","role":"user"}], "model":"%s" }' % model
    assert post(server, None, raw=raw, headers=on).headers["sightline-cache"] == "HIT"
    assert post(server, None, raw=raw, headers={**on, "Sightline-Cache-Seed": "s2"}).headers["sightline-cache"] == "MISS"

    # A streamed answer is cached as a stream and replayed as one.
    want = [c.choices[0].delta.content for c in client.chat.completions.create(**chat(model, "stream me"), stream=True) if c.choices]
    time.sleep(0.5)
    got = [c.choices[0].delta.content for c in client.chat.completions.create(**chat(model, "stream me"), stream=True) if c.choices]
    assert got == want and "".join(t or "" for t in got) == "Hello from the mock upstream, friend."
    assert mock.requests_for(model) == 3


def test_retries_then_fallbacks_each_try_in_the_trace(server, mock):
    mock.behaviour("flaky", fail=[503, 429], answer_model="gpt-4o-mini")
    tp, trace_id, _ = new_traceparent()
    r = post(server, chat("flaky"), headers={"traceparent": tp})
    assert r.status_code == 200 and mock.requests_for("flaky") == 3
    trace = wait_trace(server, trace_id, count=4)
    tries = [o for o in trace["observations"] if o["kind"] == "llm"]
    assert sorted(o["status"] for o in tries) == ["error", "error", "ok"]
    assert {o["attributes"].get("http.response.status_code") for o in tries} == {503, 429, 200}
    parent = [o for o in trace["observations"] if o["kind"] != "llm"][0]
    assert all(o["parent_span_id"] == parent["span_id"] for o in tries)

    # Every try of the model fails: the fallback on another upstream answers.
    mock.behaviour("down", fail=[500, 500, 500])
    mock.behaviour("spare", answer_model="gpt-4o-mini")
    tp, trace_id, _ = new_traceparent()
    r = post(server, chat("down"), headers={"traceparent": tp, "Sightline-Fallbacks": "backup/spare"})
    assert r.status_code == 200 and r.json()["model"] == "gpt-4o-mini"
    trace = wait_trace(server, trace_id, count=5)
    tries = [o for o in trace["observations"] if o["kind"] == "llm"]
    assert [o["request_model"] for o in sorted(tries, key=lambda o: o["start_ns"])] == ["down"] * 3 + ["spare"]
    assert sorted(tries, key=lambda o: o["start_ns"])[-1]["attributes"]["sightline.gateway.upstream"] == "backup"

    # When all fail, the upstream's own error reaches the client unchanged.
    mock.behaviour("gone", fail=[502] * 3)
    direct = requests.post(mock.url + "/v1/chat/completions", json=chat("gone"), headers={"Authorization": "Bearer x"})
    mock.behaviour("gone", fail=[502] * 3)
    r = post(server, chat("gone"), headers={"Sightline-Retries": "2"})
    assert (r.status_code, r.json()) == (direct.status_code, direct.json())
    # A request that is wrong is not retried.
    mock.behaviour("wrong", fail=[400, 400])
    assert post(server, chat("wrong")).status_code == 400 and mock.requests_for("wrong") == 1


def test_a_client_that_leaves_mid_stream_is_recorded_with_what_it_got(tmp_path_factory):
    slow = Mock("--chunk-delay-ms", "300")
    try:
        with gateway_server(tmp_path_factory, slow) as server:
            tp, trace_id, _ = new_traceparent()
            with requests.post(gw_url(server) + "/chat/completions", stream=True, timeout=30,
                               json=chat(stream=True), headers={"Authorization": "Bearer k", "traceparent": tp}) as r:
                first = next(r.iter_lines())
                assert first.startswith(b"data: ")
            o = llm(wait_trace(server, trace_id))
            assert o["attributes"]["sightline.gateway.client_disconnected"] is True
            assert o["attributes"]["sightline.gateway.stream_complete"] is False
            assert o["status"] == "ok"
    finally:
        slow.stop()


def test_bad_input_gets_a_clear_4xx_in_the_providers_shape_and_records_nothing(server, mock):
    before = mock.stats()["total"]
    cases = [
        (post(server, None, raw="{nope"), 400, "openai", "not valid JSON"),
        (post(server, {"messages": []}), 400, "openai", "`model` is required"),
        (post(server, None, upstream="anthropic", path="/messages", raw="[1]"), 400, "anthropic", "JSON object"),
        (post(server, chat(), upstream="nope"), 404, "openai", "unknown upstream"),
        (post(server, chat(), path="/completions"), 404, "openai", "does not serve"),
        (post(server, chat(content="x" * 70_000)), 413, "openai", "gateway.max_body_bytes"),
        (post(server, chat(), headers={"Sightline-RateLimit-Policy": "lots"}), 400, "openai", "rate-limit policy"),
        (post(server, chat(), headers={"Sightline-Fallbacks": "claude-backup/x"}), 400, "openai", "same kind"),
    ]
    for r, status, shape, says in cases:
        assert r.status_code == status, (r.status_code, r.text)
        body = r.json()
        if shape == "anthropic":
            assert body["type"] == "error" and says in body["error"]["message"], body
        else:
            assert says in body["error"]["message"] and "type" in body["error"], body
    assert mock.stats()["total"] == before, "nothing reached the upstream"
    # The SDKs raise their own error types for these answers.
    with pytest.raises(openai.BadRequestError):
        openai.OpenAI(base_url=gw_url(server), api_key="k", max_retries=0).chat.completions.create(model="", messages=[])
    with pytest.raises(anthropic.NotFoundError):
        anthropic.Anthropic(base_url=anthropic_url(server, "nope"), api_key="k", max_retries=0).messages.create(
            model="m", max_tokens=1, messages=[{"role": "user", "content": "x"}])
    # A missing provider key: the upstream's 401, in its shape, recorded as a failed call.
    tp, trace_id, _ = new_traceparent()
    r = requests.post(gw_url(server) + "/chat/completions", json=chat(), headers={"traceparent": tp}, timeout=30)
    assert r.status_code == 401 and "API key" in r.json()["error"]["message"]
    assert llm(wait_trace(server, trace_id))["status"] == "error"


@pytest.fixture(scope="module")
def two_projects(tmp_path_factory, mock):
    with gateway_server(tmp_path_factory, mock) as s:
        yield s, s.create_key("alpha"), s.create_key("beta")


def test_projects_keep_their_keys_budgets_and_cache_apart(two_projects, mock):
    server, a, b = two_projects
    ka, kb = a["secret_key"], b["secret_key"]
    r = api(server, "PUT", "/api/v1/gateway/keys", ka, json={"upstream": "openai", "provider_key": "sk-real-alpha"})
    assert r.status_code == 200, r.text
    assert r.json()["hint"] == "…lpha" and "provider_key" not in r.json()
    assert api(server, "PUT", "/api/v1/budgets", ka, json={"scope": "project", "window": "daily", "limit_usd": "5"}).status_code == 200

    # Alpha's agent sends only its Sightline key: the stored provider key is used upstream.
    mock.behaviour("iso-model", answer_model="gpt-4o-mini")
    alpha = openai.OpenAI(base_url=gw_url(server), api_key=ka, max_retries=0,
                          default_headers={"Sightline-Cache-Enabled": "true"})
    alpha.chat.completions.create(**chat("iso-model", "shared question"))
    assert mock.stats()["models"]["iso-model"]["last_key"] == "sk-real-alpha"
    time.sleep(0.5)
    # Beta asks the same: no hit from alpha's cache, and no use of alpha's provider key.
    beta = openai.OpenAI(base_url=gw_url(server), api_key=kb, max_retries=0,
                         default_headers={"Sightline-Cache-Enabled": "true"})
    with pytest.raises(openai.AuthenticationError):
        beta.chat.completions.with_raw_response.create(**chat("iso-model", "shared question"))
    assert mock.stats()["models"]["iso-model"]["last_key"] is None
    raw = beta.chat.completions.with_raw_response.create(
        **chat("iso-model", "shared question"), extra_headers={"Authorization": "Bearer sk-beta-own", "Sightline-Auth": f"Bearer {kb}"})
    assert raw.headers["sightline-cache"] == "MISS"
    assert mock.stats()["models"]["iso-model"]["last_key"] == "sk-beta-own"
    # Neither project sees the other's keys or budgets.
    assert api(server, "GET", "/api/v1/gateway/keys", kb).json()["data"] == []
    assert api(server, "GET", "/api/v1/budgets", kb).json()["data"] == []
    assert len(api(server, "GET", "/api/v1/budgets", ka).json()["data"]) == 1
    key_id = api(server, "GET", "/api/v1/gateway/keys", ka).json()["data"][0]["id"]
    assert api(server, "DELETE", f"/api/v1/gateway/keys/{key_id}", kb).status_code == 404
    # Without a Sightline key the gateway does not know the project: 401, provider-shaped.
    r = requests.post(gw_url(server) + "/chat/completions", json=chat(), headers={"Authorization": "Bearer sk-x"})
    assert r.status_code == 401 and "error" in r.json()


def test_the_cli_manages_budgets_limits_keys_and_shows_upstreams(server):
    import subprocess

    from conftest import BIN, clean_env

    def cli(*args):
        out = subprocess.run([str(BIN), *args, "--url", server.url], capture_output=True, text=True,
                             env=clean_env(), timeout=30)
        assert out.returncode == 0, out.stderr
        return out.stdout

    made = json.loads(cli("budgets", "set", "--scope", "user:cli-user", "--window", "7d", "--limit-usd", "3", "--json"))
    assert (made["scope"], made["window"], made["limit_usd"]) == ("user:cli-user", "604800s", "3")
    assert "user:cli-user" in cli("budgets", "list")
    assert "no budget notifications" in cli("budgets", "events") or "AT" in cli("budgets", "events")
    assert cli("budgets", "delete", made["id"]).strip() == f"deleted budget {made['id']}"
    rule = json.loads(cli("gateway", "limits", "set", "--policy", "9;w=60;s=team", "--json"))
    assert "9;w=60;u=request;s=team" in cli("gateway", "limits", "list")
    cli("gateway", "limits", "delete", rule["id"])
    key = json.loads(cli("gateway", "keys", "set", "--upstream", "backup", "--provider-key", "sk-cli-1234", "--json"))
    assert key["hint"] == "…1234" and "sk-cli" not in cli("gateway", "keys", "list")
    cli("gateway", "keys", "delete", key["id"])
    upstreams = cli("gateway", "upstreams")
    assert "backup" in upstreams and "<server>/gateway/anthropic\n" in upstreams

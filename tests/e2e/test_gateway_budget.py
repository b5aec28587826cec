"""Budgets that stop spend before it happens: 50 concurrent calls against a budget with room
for 10 at their worst case let at most 10 reach the upstream and spend never passes the limit;
the 50/80/95% notifications fire once each; a restart keeps spend and state; and calls that
arrived as telemetry count when the budget says so."""

import json
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest
import requests
from api_data import HOUR, MS, hex_id, json_span, post_json, traces_body
from gateway_helpers import Mock, api, gateway_server, gw_url

MODEL = "mock-budget"
MAX_TOKENS = 1000
BODY = json.dumps({"model": MODEL, "max_tokens": MAX_TOKENS,
                   "messages": [{"role": "user", "content": "Spend some money."}]}).encode()
# Priced at $1 per million tokens in and out: a token costs 1000 nano-USD. The gateway reserves
# the body's length in input tokens (an upper bound) plus max_tokens of output.
WORST = (len(BODY) + MAX_TOKENS) * 1000
LIMIT = 10 * WORST + WORST // 2


def usd(nano):
    return str(Decimal(nano) / Decimal(10**9))


def nano(text):
    return int(Decimal(text) * 10**9)


def call(server, tenant="acme"):
    return requests.post(gw_url(server) + "/chat/completions", data=BODY, timeout=30,
                         headers={"Content-Type": "application/json", "Authorization": "Bearer sk-test",
                                  "Sightline-Tenant-Id": tenant})


@pytest.fixture(scope="module")
def mock():
    m = Mock()
    # Slow enough that all 50 calls are admitted or refused before the first one settles, and
    # each call uses exactly its worst case.
    m.behaviour(MODEL, latency_ms=1500, input_tokens=len(BODY), output_tokens=MAX_TOKENS,
                cached_tokens=0, reasoning_tokens=0)
    yield m
    m.stop()


def test_concurrent_calls_never_overshoot_notify_once_and_survive_a_restart(tmp_path_factory, mock):
    data = tmp_path_factory.mktemp("budget-data")
    with gateway_server(tmp_path_factory, mock, data_dir=data) as server:
        r = api(server, "PUT", "/api/v1/prices/overrides",
                json={"provider": "openai", "model": MODEL, "input": "1", "output": "1"})
        assert r.status_code == 200, r.text
        r = api(server, "PUT", "/api/v1/budgets",
                json={"scope": "tenant:acme", "window": "daily", "limit_usd": usd(LIMIT)})
        assert r.status_code == 200, r.text
        budget = r.json()
        assert (budget["limit_usd"], budget["spent_usd"]) == (usd(LIMIT), "0")

        with ThreadPoolExecutor(50) as pool:
            answers = list(pool.map(lambda _: call(server), range(50)))
        ok = [a for a in answers if a.status_code == 200]
        refused = [a for a in answers if a.status_code == 429]
        assert len(ok) + len(refused) == 50, [a.status_code for a in answers]
        assert len(ok) <= 10 and mock.requests_for(MODEL) == len(ok)
        assert len(ok) == 10, "room for ten: all of it is used"
        e = refused[0].json()["error"]
        assert e["type"] == e["code"] == "budget_exceeded"
        b = e["budget"]
        assert (b["id"], b["scope"], b["window"], b["limit_usd"]) == (budget["id"], "tenant:acme", "daily", usd(LIMIT))
        assert nano(b["spent_usd"]) + nano(b["reserved_usd"]) + nano(b["needed_usd"]) > LIMIT
        assert b["resets_at"] == budget["resets_at"] and int(refused[0].headers["retry-after"]) > 0

        # Settled at the actual cost: never over the limit; another tenant is not limited.
        state = wait_spent(server, budget["id"], 10 * WORST)
        assert nano(state["spent_usd"]) <= LIMIT and state["reserved_usd"] == "0"
        assert call(server, tenant="globex").status_code == 200
        assert call(server).status_code == 429

        fired = events(server)
        assert [e["threshold_pct"] for e in fired] == [50, 80, 95]
        assert all(e["budget_id"] == budget["id"] for e in fired)

    # A restart keeps the budget, its spend and its notifications.
    with gateway_server(tmp_path_factory, mock, data_dir=data) as server:
        state = {b["id"]: b for b in api(server, "GET", "/api/v1/budgets").json()["data"]}[budget["id"]]
        assert nano(state["spent_usd"]) == 10 * WORST
        r = call(server)
        assert r.status_code == 429 and r.json()["error"]["code"] == "budget_exceeded"
        assert [e["threshold_pct"] for e in events(server)] == [50, 80, 95], "once each, restart or not"
        assert mock.requests_for(MODEL) == 11


def wait_spent(server, budget_id, spent, timeout=10):
    import time
    deadline = time.monotonic() + timeout
    while True:
        b = {b["id"]: b for b in api(server, "GET", "/api/v1/budgets").json()["data"]}[budget_id]
        if nano(b["spent_usd"]) >= spent or time.monotonic() > deadline:
            return b
        time.sleep(0.05)


def events(server):
    r = api(server, "GET", "/api/v1/budgets/events")
    assert r.status_code == 200, r.text
    return r.json()["data"]


def test_telemetry_spend_counts_when_the_budget_says_so(tmp_path_factory, mock):
    with gateway_server(tmp_path_factory, mock) as server:
        for scope, otlp in [("tenant:otlp-co", True), ("user:nobody", True), ("project", False)]:
            r = api(server, "PUT", "/api/v1/budgets",
                    json={"scope": scope, "window": "monthly", "limit_usd": "100", "include_otlp": otlp})
            assert r.status_code == 200, r.text
        import time
        now = time.time_ns()
        attrs = {"gen_ai.operation.name": "chat", "gen_ai.request.model": "gpt-4o",
                 "gen_ai.usage.input_tokens": 10, "gen_ai.usage.output_tokens": 5, "gen_ai.usage.cost": 0.25}
        span = json_span(hex_id("otlp-spend", 16), hex_id("otlp-spend/s", 8), "chat", now - HOUR, 100 * MS, attrs)
        post_json(server, "/v1/traces", traces_body([({"service.name": "agent", "tenant.id": "otlp-co"}, [span])]))
        deadline = time.monotonic() + 10
        while True:
            by_scope = {b["scope"]: b for b in api(server, "GET", "/api/v1/budgets").json()["data"]}
            if by_scope["tenant:otlp-co"]["spent_usd"] == "0.25" or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        assert by_scope["tenant:otlp-co"]["spent_usd"] == "0.25"
        assert by_scope["project"]["spent_usd"] == "0", "not counting telemetry unless asked"
        assert by_scope["user:nobody"]["spent_usd"] == "0"

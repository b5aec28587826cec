"""Cost attribution end to end (docs/api.md, Costs): model calls with provided costs for three
tenants, two models and four users over three UTC days are loaded over OTLP/JSON; the answers of
`GET /api/v1/costs` are checked against sums computed here from the same table (exact integers,
`cost_usd` as exact decimal text), as are top-k order, day buckets, equality filters (alone,
combined, with grouping, buckets and top-k), bad parameters, project isolation and the
`sightline costs` table and `--json` output."""

import json
import subprocess
import time
from decimal import Decimal

import pytest
import requests
from api_data import HOUR, MS, get_ok, hex_id, json_span, parse_rfc3339, post_json, problem, running_server, traces_body
from conftest import BIN, clean_env

DAY = 24 * HOUR
# (tenant, model, user, day, hour, input tokens, output tokens, cost USD, error, duration ms)
CALLS = [
    ("acme", "gpt-4o", "u1", 0, 1, 100, 50, "0.5", False, 200),
    ("acme", "gpt-4o", "u2", 0, 5, 200, 100, "0.25", True, 400),
    ("acme", "claude-x", "u1", 1, 3, 1000, 10, "1", False, 100),
    ("globex", "gpt-4o", "u3", 1, 7, 10, 5, "0.125", False, 300),
    ("globex", "gpt-4o", "u3", 2, 2, 30, 15, "0.375", False, 500),
    ("initech", "claude-x", "u4", 2, 9, 5000, 5000, "0.0625", False, 50),
]
# Project beta: same tenant name, a cost alpha must never count.
BETA_CALLS = [("acme", "gpt-4o", "u1", 1, 4, 7, 7, "9", False, 10)]


def nano(usd):
    return int(Decimal(usd) * 10**9)


def load(server, key, calls, base, label):
    by_tenant = {}
    for i, (tenant, model, user, day, hour, tin, tout, cost, error, dur) in enumerate(calls):
        attrs = {"gen_ai.operation.name": "chat", "gen_ai.request.model": model,
                 "gen_ai.provider.name": "openai" if model == "gpt-4o" else "anthropic",
                 "gen_ai.usage.input_tokens": tin, "gen_ai.usage.output_tokens": tout,
                 "gen_ai.usage.cost": float(cost), "user.id": user, "session.id": f"s-{user}"}
        span = json_span(hex_id(f"{label}/{i}", 16), hex_id(f"{label}/{i}/s", 8), "chat",
                         base + day * DAY + hour * HOUR + 17 * MS, dur * MS, attrs,
                         error="upstream failed" if error else None)
        by_tenant.setdefault(tenant, []).append(span)
    # The workspace is on the resource only (the span's attributes are read first).
    groups = [({"service.name": "costs-e2e", "tenant.id": t, "workspace.id": f"ws-{t}"}, spans)
              for t, spans in by_tenant.items()]
    post_json(server, "/v1/traces", traces_body(groups), key)


@pytest.fixture(scope="module")
def loaded(tmp_path_factory):
    with running_server(tmp_path_factory) as server:
        keys = {p: server.create_key(p)["secret_key"] for p in ("alpha", "beta")}
        # Three whole UTC days, all before today.
        base = time.time_ns() // DAY * DAY - 3 * DAY
        load(server, keys["alpha"], CALLS, base, "alpha")
        load(server, keys["beta"], BETA_CALLS, base, "beta")
        window = {"from": str(base), "to": str(base + 3 * DAY)}
        yield server, keys["alpha"], keys["beta"], base, window


def expected(calls, key_of):
    """Sums per group key over `calls`."""
    out = {}
    for c in calls:
        tenant, model, user, day, hour, tin, tout, cost, error, dur = c
        e = out.setdefault(key_of(c), {"requests": 0, "errors": 0, "input_tokens": 0, "output_tokens": 0,
                                       "total_tokens": 0, "cost_nano_usd": 0})
        e["requests"] += 1
        e["errors"] += int(error)
        e["input_tokens"] += tin
        e["output_tokens"] += tout
        e["total_tokens"] += tin + tout
        e["cost_nano_usd"] += nano(cost)
    return out


def costs(server, key, params):
    return get_ok(server, "/api/v1/costs", params, key)


def check_row(row, want):
    for field, value in want.items():
        assert row[field] == value, (field, row, want)
    assert Decimal(row["cost_usd"]) * 10**9 == row["cost_nano_usd"], row
    assert row["error_rate"] == pytest.approx(row["errors"] / row["requests"]), row


def test_sums_per_tenant_and_model_are_exact(loaded):
    server, a, _, _, window = loaded
    body = costs(server, a, {**window, "group_by": "tenant,model"})
    assert body["group_by"] == ["tenant", "model"] and "bucket" not in body, body
    want = expected(CALLS, lambda c: (c[0], c[1]))
    got = {(r["group"]["tenant"], r["group"]["model"]): r for r in body["rows"]}
    assert set(got) == set(want), body
    for k, w in want.items():
        check_row(got[k], w)
        assert "bucket_start_ns" not in got[k]
    # One call: its latency is exact.
    assert got[("initech", "claude-x")]["latency_p50_ms"] == 50.0
    assert got[("acme", "claude-x")]["cost_usd"] == "1"
    assert got[("acme", "gpt-4o")]["cost_usd"] == "0.75"

    by_user = costs(server, a, {**window, "group_by": "user"})
    want = expected(CALLS, lambda c: c[2])
    assert {r["group"]["user"]: r["cost_nano_usd"] for r in by_user["rows"]} == \
        {u: w["cost_nano_usd"] for u, w in want.items()}

    total = costs(server, a, window)["rows"]
    assert len(total) == 1 and total[0]["group"] == {}, total
    check_row(total[0], expected(CALLS, lambda c: ())[()])
    # The default window (the last 30 days) holds every call too.
    assert costs(server, a, {})["rows"][0]["cost_nano_usd"] == total[0]["cost_nano_usd"]


@pytest.mark.parametrize("order_by,top,tenants", [
    ("cost", "2", ["acme", "globex"]),
    ("tokens", "2", ["initech", "acme"]),
    ("requests", "3", ["acme", "globex", "initech"]),
    (None, "1", ["acme"]),
])
def test_top_k_order(loaded, order_by, top, tenants):
    server, a, _, _, window = loaded
    params = {**window, "group_by": "tenant", "top": top}
    if order_by:
        params["order_by"] = order_by
    rows = costs(server, a, params)["rows"]
    assert [r["group"]["tenant"] for r in rows] == tenants, rows


def test_day_buckets(loaded):
    server, a, _, base, window = loaded
    body = costs(server, a, {**window, "group_by": "tenant", "bucket": "day"})
    assert body["bucket"] == "day", body
    want = expected(CALLS, lambda c: (c[0], base + c[3] * DAY))
    got = {}
    for r in body["rows"]:
        assert parse_rfc3339(r["bucket_start"]) == r["bucket_start_ns"], r
        got[(r["group"]["tenant"], r["bucket_start_ns"])] = r
    assert set(got) == set(want), body
    for k, w in want.items():
        check_row(got[k], w)
    # Ordered by group rank (cost over the window), then bucket start.
    order = [(r["group"]["tenant"], r["bucket_start_ns"]) for r in body["rows"]]
    assert order == [("acme", base), ("acme", base + DAY), ("globex", base + DAY),
                     ("globex", base + 2 * DAY), ("initech", base + 2 * DAY)], order


@pytest.mark.parametrize("filters,group_by,keep,key_of", [
    ({"tenant": "acme"}, "user", lambda c: c[0] == "acme", lambda c: c[2]),
    ({"model": "gpt-4o", "provider": "openai"}, "tenant", lambda c: c[1] == "gpt-4o", lambda c: c[0]),
    ({"workspace": "ws-globex", "user": "u3", "service": "costs-e2e"}, "model",
     lambda c: c[0] == "globex" and c[2] == "u3", lambda c: c[1]),
    # Session is not in the hourly rollup: answered from the raw spans, the same sums.
    ({"session": "s-u1"}, "model", lambda c: c[2] == "u1", lambda c: c[1]),
    ({"tenant": "acme", "model": "claude-x"}, "tenant", lambda c: c[0] == "acme" and c[1] == "claude-x",
     lambda c: c[0]),
    ({"tenant": "acme", "agent": "nobody"}, "user", lambda c: False, lambda c: c[2]),
])
def test_filters_keep_only_matching_calls(loaded, filters, group_by, keep, key_of):
    server, a, _, _, window = loaded
    body = costs(server, a, {**window, **filters, "group_by": group_by})
    assert body["filters"] == filters, body
    want = expected([c for c in CALLS if keep(c)], key_of)
    got = {r["group"][group_by]: r for r in body["rows"]}
    assert set(got) == set(want), body
    for k, w in want.items():
        check_row(got[k], w)


def test_top_users_by_cost_for_one_tenant_per_day(loaded):
    server, a, _, base, window = loaded
    body = costs(server, a, {**window, "tenant": "acme", "group_by": "user", "top": "1", "bucket": "day"})
    # acme: u1 spent 0.5 + 1, u2 0.25; u1's two days, oldest first.
    rows = [(r["group"]["user"], r["bucket_start_ns"], r["cost_usd"]) for r in body["rows"]]
    assert rows == [("u1", base, "0.5"), ("u1", base + DAY, "1")], body
    # Without the filter, the top two across tenants: u1 (1.5), then globex's u3 (0.5), not u2.
    unfiltered = costs(server, a, {**window, "group_by": "user", "top": "2"})["rows"]
    assert [r["group"]["user"] for r in unfiltered] == ["u1", "u3"], unfiltered


@pytest.mark.parametrize("params,param", [
    ({"tenant": ""}, "tenant"),
    ({"session": ""}, "session"),
    ({"colour": "red"}, "colour"),
    ({"user_id": "u1"}, "user_id"),
    ({"group_by": "tenant,colour"}, "group_by"),
    ({"group_by": "attribute"}, "attribute_key"),
    ({"bucket": "week"}, "bucket"),
    ({"top": "0"}, "top"),
    ({"order_by": "latency"}, "order_by"),
])
def test_bad_parameters_are_named(loaded, params, param):
    server, a, _, _, _ = loaded
    r = requests.get(server.url + "/api/v1/costs", params=params, headers=server.headers(a), timeout=10)
    body = problem(r, 400, param)
    if param == "group_by":
        assert "colour" in body["message"], body


def test_projects_are_isolated(loaded):
    server, a, b, _, window = loaded
    beta = costs(server, b, {**window, "group_by": "tenant"})["rows"]
    assert [(r["group"], r["cost_nano_usd"], r["requests"]) for r in beta] == [({"tenant": "acme"}, nano("9"), 1)]
    alpha = {r["group"]["tenant"]: r for r in costs(server, a, {**window, "group_by": "tenant"})["rows"]}
    assert alpha["acme"]["cost_nano_usd"] == nano("1.75") and alpha["acme"]["requests"] == 3, alpha
    # A third project's key sees nothing at all.
    c = server.create_key("gamma")["secret_key"]
    assert all(r["requests"] == 0 for r in costs(server, c, window)["rows"])


def cli(server, key, *args):
    out = subprocess.run([str(BIN), "costs", *args, "--url", server.url, "--api-key", key],
                         capture_output=True, text=True, env=clean_env(), timeout=30)
    return out.returncode, out.stdout, out.stderr


def test_cli_table_and_json(loaded):
    server, a, _, _, window = loaded
    span = ["--from", window["from"], "--to", window["to"]]
    code, out, err = cli(server, a, "--by", "tenant", "--order-by", "cost", "--top", "2", *span)
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0].split()[:2] == ["TENANT", "REQUESTS"], out
    assert [line.split()[0] for line in lines[1:]] == ["acme", "globex"], out
    acme = lines[1].split()
    # TENANT REQUESTS ERRORS INPUT OUTPUT CACHE_READ CACHE_WRITE REASONING TOTAL COST_USD ...
    assert acme[1:4] == ["3", "1", "1300"] and acme[8:10] == ["1460", "1.75"], out

    code, out, err = cli(server, a, "--by", "tenant,model", "--bucket", "day", "--json", *span)
    assert code == 0, err
    assert json.loads(out) == costs(server, a, {**window, "group_by": "tenant,model", "bucket": "day"})

    filtered = ["--by", "user", "--tenant", "acme", "--model", "gpt-4o", "--json", *span]
    code, out, err = cli(server, a, *filtered)
    assert code == 0, err
    body = json.loads(out)
    assert body["filters"] == {"tenant": "acme", "model": "gpt-4o"}, body
    assert {r["group"]["user"]: r["cost_usd"] for r in body["rows"]} == {"u1": "0.5", "u2": "0.25"}, body

    code, out, err = cli(server, a, "--by", "colour", *span)
    assert code == 1 and err.startswith("error: group_by:"), (out, err)

"""Scale-out: several stateless Sightline nodes on one ClickHouse database share keys, projects
and data (a key revoked through one node is refused by the others within the key cache time);
and the sharded layout (two ClickHouse servers as two shards behind Distributed
tables) keeps every trace whole on one shard and readable through any node."""

import json
import subprocess
import time

import requests

from api_data import SseClient, hex_id, json_span, names_of, post_json, traces_body
from clickhouse_fixture import (  # noqa: F401  (fixtures)
    clickhouse, clickhouse_db, clickhouse_node, clickhouse_shards, create_key,
)
from conftest import BIN, clean_env

MS = 1_000_000
# The Authenticator's key cache time (crates/server/src/auth/authenticator.rs KEY_CACHE_TTL).
KEY_CACHE_SECONDS = 2


def export_trace(node, key, label, n_spans=3, service="scale"):
    """One trace of `n_spans` spans via OTLP/JSON; returns (trace id, [span ids])."""
    now = time.time_ns()
    tid = hex_id(f"{label}/{now}", 16)
    sids = [hex_id(f"{tid}/{i}", 8) for i in range(n_spans)]
    spans = [json_span(tid, sid, f"{label}-{i}", now + i * MS, MS,
                       parent=sids[0] if i else None) for i, sid in enumerate(sids)]
    post_json(node, "/v1/traces", traces_body([({"service.name": service}, spans)]), key)
    return tid, sids


def sharded_layout(shards, database):
    """The entry URL and the flags of the two-shard layout over `shards`."""
    url = shards[0].database_url(database)
    return url, ["--clickhouse-cluster", "sightline_test",
                 "--clickhouse-shards", ",".join(s.url for s in shards)]


def span_ids_of(trace):
    return sorted(o["span_id"] for o in trace["observations"])


def test_a_key_made_on_one_node_works_on_another_and_traces_cross_nodes(
        clickhouse, clickhouse_db, clickhouse_node):
    url = clickhouse.database_url(clickhouse_db)
    team_a = create_key(url, "team-a")
    team_b = create_key(url, "team-b")
    node1, node2 = clickhouse_node(url), clickhouse_node(url)
    # The key was made before either node started and written by the CLI straight to ClickHouse.
    tid, sids = export_trace(node1, team_a["secret_key"], "cross")
    seen = node2.trace(tid, team_a["secret_key"])
    assert seen is not None, "a trace written through node 1 is not readable through node 2"
    assert span_ids_of(seen) == sorted(sids)
    # The project still comes from the credential: team-b does not see team-a's trace.
    assert node2.get(f"/api/v1/traces/{tid}", team_b["secret_key"]).status_code == 404
    assert node2.get(f"/api/v1/traces/{tid}").status_code == 401
    # A key made after the nodes started works at once on both.
    late = create_key(url, "team-c")
    tid2, sids2 = export_trace(node2, late["secret_key"], "late")
    assert span_ids_of(node1.trace(tid2, late["secret_key"])) == sorted(sids2)
    # Rows landed once, in one database, under one project id per name.
    projects = clickhouse.rows("SELECT name, count() FROM projects FINAL GROUP BY name ORDER BY name",
                               clickhouse_db)
    assert projects == [["team-a", "1"], ["team-b", "1"], ["team-c", "1"]], projects


def test_a_key_revoked_through_one_node_is_refused_by_every_node(
        clickhouse, clickhouse_db, clickhouse_node):
    url = clickhouse.database_url(clickhouse_db)
    admin = create_key(url, "revoking")["secret_key"]
    node1, node2 = clickhouse_node(url), clickhouse_node(url)
    made = requests.post(node1.url + "/api/v1/keys", headers={"Authorization": f"Bearer {admin}"},
                         data='{"role": "member"}', timeout=10).json()
    for node in (node1, node2):  # both have it cached
        export_trace(node, made["secret_key"], "before")
    r = requests.delete(f"{node1.url}/api/v1/keys/{made['prefix']}",
                        headers={"Authorization": f"Bearer {admin}"}, timeout=10)
    assert r.status_code == 200, r.text
    assert node1.get("/api/v1/traces", made["secret_key"]).status_code == 401, "at once on node 1"
    started = time.monotonic()
    while node2.get("/api/v1/traces", made["secret_key"]).status_code != 401:
        assert time.monotonic() - started < KEY_CACHE_SECONDS + 1, "node 2 still accepts it"
        time.sleep(0.05)
    assert node2.get("/api/v1/traces", admin).status_code == 200
    listed = node2.get("/api/v1/keys", admin).json()["data"]
    assert [k["status"] for k in listed] == ["active", "revoked"]


def test_a_stream_client_on_node2_sees_data_written_through_node1(
        clickhouse, clickhouse_db, clickhouse_node):
    url = clickhouse.database_url(clickhouse_db)
    key = create_key(url, "live")["secret_key"]
    node1, node2 = clickhouse_node(url), clickhouse_node(url)
    sse = SseClient(node2, {"heartbeat": "1", "types": "observations"}, key=key)
    assert sse.resp.status_code == 200, (
        f"GET /api/v1/stream on a ClickHouse node: {sse.resp.status_code} {sse.resp.text[:300]}")
    assert sse.wait(lambda r: sse.heartbeats() or sse.events(), 5), "no heartbeat within 5 s"
    _, _ = export_trace(node1, key, "streamed", n_spans=2)
    assert sse.wait(lambda r: {"streamed-0", "streamed-1"} <= set(names_of(r)), 5), (
        f"node 2's stream did not deliver spans written through node 1: {names_of(sse.events())}")


def test_sharded_layout_keeps_each_trace_on_one_shard_and_reads_through_any_node(
        clickhouse_shards, clickhouse_db, clickhouse_node):
    shard1, shard2 = clickhouse_shards
    url, cluster = sharded_layout(clickhouse_shards, clickhouse_db)
    key = create_key(url, "sharded", cluster)["secret_key"]
    node1, node2 = clickhouse_node(url, *cluster), clickhouse_node(url, *cluster)
    traces = [export_trace(node1 if i % 2 else node2, key, f"shard{i}", n_spans=4) for i in range(16)]
    # Each shard holds whole traces; together they hold every span once.
    per_shard = []
    for shard in (shard1, shard2):
        rows = shard.rows("SELECT lower(hex(trace_id)), count() FROM spans_local GROUP BY trace_id",
                          clickhouse_db)
        per_shard.append({t: int(n) for t, n in rows})
    assert per_shard[0] and per_shard[1], f"16 traces all landed on one shard: {per_shard}"
    assert not set(per_shard[0]) & set(per_shard[1]), "a trace is split across shards"
    assert {**per_shard[0], **per_shard[1]} == {tid: 4 for tid, _ in traces}
    # Each shard summarised its own traces (the view runs on every shard's local tables).
    for shard, spans in zip((shard1, shard2), per_shard):
        rows = shard.rows("SELECT DISTINCT lower(hex(trace_id)) FROM trace_summaries_local",
                          clickhouse_db)
        assert {t for (t,) in rows} == set(spans)
    # Reads go through the Distributed tables from either node.
    for tid, sids in traces:
        for node in (node1, node2):
            assert span_ids_of(node.trace(tid, key)) == sorted(sids)
    for node in (node1, node2):
        answer = node.get("/api/v1/traces?limit=100", key)
        assert answer.status_code == 200, answer.text
        listed = answer.json()["data"]
        assert {t["trace_id"]: t["span_count"] for t in listed} == {tid: 4 for tid, _ in traces}


def test_cost_rollup_sums_the_calls_of_every_shard(clickhouse_shards, clickhouse_db, clickhouse_node):
    shard1, shard2 = clickhouse_shards
    url, cluster = sharded_layout(clickhouse_shards, clickhouse_db)
    key = create_key(url, "rollup", cluster)["secret_key"]
    node1, node2 = clickhouse_node(url, *cluster), clickhouse_node(url, *cluster)
    hour = 3_600 * 1_000_000_000
    base = (time.time_ns() // hour - 5) * hour
    for i in range(16):
        tid = hex_id(f"cost{i}/{base}", 16)
        attrs = {"gen_ai.operation.name": "chat", "gen_ai.request.model": f"m{i % 2}",
                 "gen_ai.usage.input_tokens": 10 + i}
        span = json_span(tid, hex_id(f"{tid}/0", 8), "chat", base + i * 60 * 10**9, MS, attrs)
        post_json(node1 if i % 2 else node2, "/v1/traces",
                  traces_body([({"service.name": "cost"}, [span])]), key)
    # Each shard's view rolled up its own calls; reads merge them through either node.
    for shard in (shard1, shard2):
        rows = shard.rows("SELECT count() FROM cost_rollup_local", clickhouse_db)
        assert rows[0][0] != "0", f"{shard.url} has no rollup rows"
    window = {"from": str(base), "to": str(base + 2 * hour), "group_by": "model"}
    for node in (node1, node2):
        answer = node.get("/api/v1/costs?" + "&".join(f"{k}={v}" for k, v in window.items()), key)
        assert answer.status_code == 200, answer.text
        got = {r["group"]["model"]: (r["requests"], r["input_tokens"]) for r in answer.json()["rows"]}
        assert got == {"m0": (8, sum(10 + i for i in range(0, 16, 2))),
                       "m1": (8, sum(10 + i for i in range(1, 16, 2)))}, got


def test_retention_apply_deletes_old_data_on_every_shard(
        clickhouse_shards, clickhouse_db, clickhouse_node):
    shard1, shard2 = clickhouse_shards
    url, cluster = sharded_layout(clickhouse_shards, clickhouse_db)
    key = create_key(url, "kept-short", cluster)["secret_key"]
    node = clickhouse_node(url, *cluster)
    day = 86_400 * 1_000_000_000
    now = time.time_ns()
    # Three old traces on each shard: the shard is the sharding key modulo 2, asked of ClickHouse.
    (project,), = shard1.rows("SELECT id FROM projects WHERE name = 'kept-short'", clickhouse_db)

    def shard_of(tid):
        (n,), = shard1.rows(f"SELECT cityHash64(toInt64({project}), "
                            f"toFixedString(unhex('{tid}'), 16)) % 2", clickhouse_db)
        return int(n)
    old_ids = {0: [], 1: []}
    for i in range(200):
        tid = hex_id(f"old{i}/{now}", 16)
        if len(old_ids[shard_of(tid)]) < 3:
            old_ids[shard_of(tid)].append(tid)
    old = old_ids[0] + old_ids[1]
    new = [hex_id(f"new{i}/{now}", 16) for i in range(6)]
    assert len(old) == 6, old_ids
    for tid in old + new:
        start = now - 20 * day if tid in old else now - 60 * 1_000_000_000
        sids = [hex_id(f"{tid}/{j}", 8) for j in range(3)]
        spans = [json_span(tid, sid, f"ret-{j}", start + j * MS, MS,
                           parent=sids[0] if j else None) for j, sid in enumerate(sids)]
        post_json(node, "/v1/traces", traces_body([({"service.name": "ret"}, spans)]), key)
    placed = [{t for (t,) in s.rows("SELECT DISTINCT lower(hex(trace_id)) FROM spans_local "
                                    f"WHERE start_ns < {now - 10 * day}", clickhouse_db)}
              for s in (shard1, shard2)]
    assert sorted(placed, key=sorted) == sorted(map(set, old_ids.values()), key=sorted), placed

    out = subprocess.run(
        [str(BIN), "retention", "apply", "--days", "7", "--json", "--store", "clickhouse",
         "--clickhouse-url", url, *cluster],
        capture_output=True, text=True, env=clean_env(), timeout=300)
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    assert result["deleted_spans"] == 18 and result["partitions_dropped"] >= 2, result
    for shard in (shard1, shard2):
        left = shard.rows(f"SELECT count() FROM spans_local WHERE start_ns < {now - 10 * day}",
                          clickhouse_db)
        assert left[0][0] == "0", f"{shard.url} kept old spans"
    for tid in old:
        assert node.trace(tid, key) is None
    for tid in new:
        assert len(node.trace(tid, key)["observations"]) == 3

"""GET /api/v1/sessions, /api/v1/sessions/{id}, /api/v1/logs and /api/v1/metrics against the
known dataset of api_data.py (sessions s1..s6, logs L1..L6, 27 observations in three hours)."""

import time

import pytest
from api_data import (  # noqa: F401  (dataset is a fixture)
    HOUR, LOGS, MINUTE, MS, SECOND, dataset, get_ok, pages, parse_rfc3339, rfc3339,
)

# session -> (traces, first seen (trace, ms), last seen (trace, ms after its start), trace_count,
#             span_count, error_count, input, output, total tokens, cost, user ids)
SESSIONS = {
    "s1": (["T1", "T2"], ("T1", 0), ("T2", 5000), 2, 6, 1, 400, 70, 470, 5_700_000, ["u1", "u4"]),
    "s2": (["T3", "T4"], ("T3", 0), ("T4", 12000), 2, 5, 1, 1050, 5, 1055, 220_000, ["u2"]),
    "s3": (["T5", "T8"], ("T5", 0), ("T8", 7000), 2, 4, 0, 570, 130, 700, 8_400_000, ["u3"]),
    "s4": (["T6"], ("T6", 0), ("T6", 3000), 1, 3, 0, 220, 50, 270, 3_010_000, ["u1"]),
    "s5": (["T9", "T11"], ("T9", 0), ("T11", 600), 2, 4, 1, 40, 15, 55, 35_000, ["u5"]),
    "s6": (["T10"], ("T10", 0), ("T10", 20000), 1, 3, 0, 2, 1, 3, None, ["u6"]),
}
BY_LAST_SEEN = ["s5", "s6", "s3", "s4", "s2", "s1"]
ROOT_IO = {"T1": ("Book a flight to Paris", "Booked AF123"), "T2": ("Change my booking", "Booking changed"),
           "T9": ("Renew my passport", "Form sent"), "T11": ("Confirm passport renewal", "Confirmed")}


def check_session(ds, s):
    traces, first, last, *counts, cost, users = SESSIONS[s["session_id"]]
    assert s["first_seen_ns"] == ds.start(first[0]) + first[1] * MS, s
    assert s["last_seen_ns"] == ds.start(last[0]) + last[1] * MS, s
    assert parse_rfc3339(s["first_seen"]) == s["first_seen_ns"] and parse_rfc3339(s["last_seen"]) == s["last_seen_ns"]
    got = [s[k] for k in ("trace_count", "span_count", "error_count", "input_tokens", "output_tokens", "total_tokens")]
    assert got == counts, s["session_id"]
    assert s.get("cost_nano_usd") == cost and s["user_ids"] == users, s


def test_session_list_aggregates_by_last_activity(dataset):
    server, ds = dataset
    sessions = pages(server, "/api/v1/sessions")
    assert [s["session_id"] for s in sessions] == BY_LAST_SEEN
    for s in sessions:
        check_session(ds, s)
    assert [s["session_id"] for s in pages(server, "/api/v1/sessions", {"limit": 2})] == BY_LAST_SEEN


def test_session_list_filters(dataset):
    server, ds = dataset
    cases = [
        ({"user_id": "u2"}, ["s2"]),
        ({"user_id": "u1"}, ["s4", "s1"]),
        ({"tenant_id": "acme"}, ["s3", "s4", "s1"]),
        ({"from": rfc3339(ds.base + 2 * HOUR)}, ["s5", "s6", "s3", "s4"]),  # s3 is still active then
        ({"to": str(ds.base + HOUR)}, ["s3", "s2", "s1"]),
        ({"from": str(ds.base + HOUR), "to": str(ds.base + 2 * HOUR)}, ["s3"]),
        ({"since": "3h"}, ["s5", "s6", "s3", "s4"]),
    ]
    for params, expected in cases:
        assert [s["session_id"] for s in pages(server, "/api/v1/sessions", params)] == expected, params


@pytest.mark.parametrize("session", ["s1", "s5"])
def test_one_session_as_a_conversation(dataset, session):
    server, ds = dataset
    body = get_ok(server, f"/api/v1/sessions/{session}")
    check_session(ds, body["session"])
    turns = body["traces"]
    assert [ds.trace_labels([t["trace_id"]])[0] for t in turns] == SESSIONS[session][0]
    for t in turns:
        label = ds.trace_labels([t["trace_id"]])[0]
        assert t["root_name"] == "invoke_agent planner" and t["session_id"] == session
        assert t["input"] == {"value": ROOT_IO[label][0]}, t
        assert t["output"] == {"value": ROOT_IO[label][1]}, t


# --- logs -----------------------------------------------------------------------------------

ALL_LOGS = [entry[0] for entry in LOGS]


def log_labels(items):
    by_body = {entry[5]: entry[0] for entry in LOGS}
    return [by_body.get(log["body"], log["body"]) for log in items]


LOG_FILTERS = [
    ({"level": "warn"}, {"L2", "L3", "L5", "L6"}),
    ({"level": "13"}, {"L2", "L3", "L5", "L6"}),
    ({"level": "error"}, {"L2", "L5"}),
    ({"level": "fatal"}, {"L5"}),
    ({"level": "21"}, {"L5"}),
    ({"level": "info"}, set(ALL_LOGS) - {"L4"}),
    ({"level": "debug"}, set(ALL_LOGS)),
    ({"level": "trace"}, set(ALL_LOGS)),
    ({"service": "checkout"}, {"L1", "L2", "L6"}),
    ({"agent": "helper"}, {"L5"}),
    ({"q": "declined"}, {"L2", "L6"}),
    ({"q": "DECLINED", "level": "error"}, {"L2"}),
    ({"session_id": "s1"}, {"L1", "L2"}),
    ({"since": "3h"}, {"L4", "L5", "L6"}),
]


@pytest.mark.parametrize("params,expected", LOG_FILTERS, ids=[str(p) for p, _ in LOG_FILTERS])
def test_log_filters(dataset, params, expected):
    server, _ = dataset
    got = log_labels(pages(server, "/api/v1/logs", params))
    assert len(got) == len(set(got)) and set(got) == expected, (params, got)


def test_log_trace_id_and_window(dataset):
    server, ds = dataset
    cases = [
        ({"trace_id": ds.tid("T2")}, {"L2"}),
        ({"trace_id": ds.tid("T8")}, {"L5"}),
        ({"from": rfc3339(ds.base + 2 * HOUR)}, {"L4", "L5", "L6"}),
        ({"to": str(ds.base + 2 * HOUR)}, {"L1", "L2", "L3"}),
        # [from, to): L3 is at exactly 25m 500ms.
        ({"from": str(ds.base + 25 * MINUTE + 500 * MS), "to": str(ds.base + 150 * MINUTE + 500 * MS)}, {"L3", "L4"}),
    ]
    for params, expected in cases:
        got = log_labels(pages(server, "/api/v1/logs", params))
        assert set(got) == expected and len(got) == len(expected), (params, got)


def test_log_order_pages_and_fields(dataset):
    server, ds = dataset
    assert log_labels(pages(server, "/api/v1/logs")) == ALL_LOGS[::-1]
    assert log_labels(pages(server, "/api/v1/logs", {"order": "asc", "limit": 4})) == ALL_LOGS
    assert log_labels(pages(server, "/api/v1/logs", {"limit": 2})) == ALL_LOGS[::-1]
    [log] = get_ok(server, "/api/v1/logs", {"trace_id": ds.tid("T2")})["data"]
    assert log["time_ns"] == ds.base + 15 * MINUTE + 500 * MS and parse_rfc3339(log["time"]) == log["time_ns"]
    assert (log["trace_id"], log["span_id"]) == (ds.tid("T2"), ds.spans["T2.tool"].span_id)
    assert (log["severity_number"], log["severity_text"]) == (17, "ERROR")
    assert (log["body"], log["service_name"], log["session_id"]) == ("Card DECLINED for order 12", "checkout", "s1")


# --- metrics --------------------------------------------------------------------------------

def metrics(server, ds, **params):
    return get_ok(server, "/api/v1/metrics", {"from": str(ds.base), "to": str(ds.base + 4 * HOUR), **params})


def series_by_group(body):
    return {s.get("group"): s["points"] for s in body["series"]}


def totals(points, *fields):
    return tuple(sum(p.get(f, 0) for p in points) for f in fields)


@pytest.mark.parametrize("bucket,expected", [
    ("1h", {0: (13, 2, 1520, 105), 120: (7, 1, 720, 150), 180: (7, 1, 42, 16)}),
    ("1800", {0: (8, 1, 450, 75), 30: (5, 1, 1070, 30), 120: (5, 1, 220, 50), 150: (2, 0, 500, 100),
              180: (5, 1, 12, 6), 210: (2, 0, 30, 10)}),
])
def test_metric_buckets(dataset, bucket, expected):
    server, ds = dataset
    body = metrics(server, ds, bucket=bucket)
    width = 3600 if bucket == "1h" else 1800
    assert body["bucket_seconds"] == width
    assert body["from_ns"] <= ds.base and body["to_ns"] >= ds.base + 4 * HOUR - width * SECOND
    [points] = [s["points"] for s in body["series"]]
    assert "group" not in body["series"][0]
    got = {(p["time_ns"] - ds.base) // MINUTE: (p["requests"], p["errors"], p["input_tokens"], p["output_tokens"])
           for p in points}
    assert got == expected
    for p in points:
        assert parse_rfc3339(p["time"]) == p["time_ns"]
        assert p["total_tokens"] == p["input_tokens"] + p["output_tokens"]
        assert abs(p["error_rate"] - p["errors"] / p["requests"]) < 1e-3


MODELS = {  # model -> (requests, errors, input, output, total, cost)
    "gpt-4o": (3, 0, 350, 65, 415, 4_400_000),
    "claude-3-5-sonnet": (2, 0, 800, 150, 950, 12_000_000),
    "gpt-4o-mini": (3, 1, 60, 25, 85, 45_000),
    "text-embedding-3-small": (1, 0, 1000, 0, 1000, 20_000),
    "mistral-large": (1, 0, 70, 30, 100, 900_000),
    "acme-local": (1, 0, 2, 1, 3, 0),
}


def test_metrics_group_by_model(dataset):
    server, ds = dataset
    groups = series_by_group(metrics(server, ds, bucket="1h", group_by="model"))
    assert set(groups) == set(MODELS) | {None}
    for model, expected in MODELS.items():
        got = totals(groups[model], "requests", "errors", "input_tokens", "output_tokens", "total_tokens",
                     "cost_nano_usd")
        assert got == expected, model
    assert "cost_nano_usd" not in groups["acme-local"][0], "cost appears only when known"
    assert totals(groups[None], "requests") == (27 - 11,)


def test_metric_percentiles(dataset):
    server, ds = dataset
    body = metrics(server, ds, bucket="1h", group_by="model")
    durations = {}
    for s in ds.spans.values():
        model = s.attrs.get("gen_ai.request.model")
        bucket = s.start_ns // HOUR * HOUR
        durations.setdefault((model, bucket), []).append(s.dur_ns / MS)
    for series in body["series"]:
        for p in series["points"]:
            ds_ms = durations[(series.get("group"), p["time_ns"])]
            p50, p95, p99 = p["latency_p50_ms"], p["latency_p95_ms"], p["latency_p99_ms"]
            assert min(ds_ms) <= p50 <= p95 <= p99 <= max(ds_ms), (series.get("group"), p)
            assert p["requests"] == len(ds_ms)
    [claude_first] = [p for p in series_by_group(body)["claude-3-5-sonnet"] if p["time_ns"] == ds.base]
    assert claude_first["latency_p50_ms"] == claude_first["latency_p99_ms"] == 2500.0


def test_metric_filters_and_groups(dataset):
    server, ds = dataset
    assert totals(series_by_group(metrics(server, ds, bucket="1h", service="checkout"))[None], "requests") == (13,)
    by_provider = series_by_group(metrics(server, ds, bucket="1h", kind="llm", group_by="provider"))
    assert {g: totals(p, "requests")[0] for g, p in by_provider.items()} == {
        "openai": 5, "anthropic": 2, "azure.ai.openai": 1, "mistral_ai": 1, "acme": 1}
    by_kind = series_by_group(metrics(server, ds, bucket="1h", group_by="kind"))
    assert {g: totals(p, "requests")[0] for g, p in by_kind.items()} == {
        "agent": 11, "llm": 10, "tool": 3, "embedding": 1, "retriever": 1, "reranker": 1}
    errors = series_by_group(metrics(server, ds, bucket="1h", status="error"))[None]
    assert totals(errors, "requests", "errors") == (4, 4)


def test_metrics_default_window_is_the_last_hour(dataset):
    server, ds = dataset
    before = time.time_ns()
    body = get_ok(server, "/api/v1/metrics")
    assert before - 5 * SECOND <= body["to_ns"] <= time.time_ns() + 5 * SECOND
    assert abs(body["to_ns"] - body["from_ns"] - HOUR) <= 5 * SECOND, body
    # The dataset's last traces may fall in the last hour; count those the window holds.
    expected = sum(1 for s in ds.spans.values() if body["from_ns"] <= s.start_ns < body["to_ns"])
    assert sum(p["requests"] for s in body["series"] for p in s["points"]) == expected

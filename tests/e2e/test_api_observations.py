"""GET /api/v1/observations: every observation filter, start order both ways, paging and
payloads, against the known dataset of api_data.py (expected span sets by label)."""

import pytest
from api_data import SPANS, dataset, get_ok, pages, rfc3339  # noqa: F401  (dataset is a fixture)

ALL_SPANS = {s[0] for s in SPANS}
ROOTS = {s[0] for s in SPANS if s[1] is None}
ERRORS = {"T2.tool", "T4.retrieve", "T7.tool", "T9.chat"}


def of(*traces):
    return {s for s in ALL_SPANS if s.split(".")[0] in traces}


OBSERVATION_FILTERS = [
    ("kind-tool", {"kind": "tool"}, {"T1.tool", "T2.tool", "T7.tool"}),
    ("kind-agent", {"kind": "agent"}, ROOTS),
    ("kind-embedding", {"kind": "embedding"}, {"T4.embed"}),
    ("kind-retriever", {"kind": "retriever"}, {"T4.retrieve"}),
    ("kind-reranker", {"kind": "reranker"}, {"T10.rerank"}),
    ("kind-and-provider", {"kind": "llm", "provider": "openai"},
     {"T1.chat", "T3.chat", "T6.mini", "T9.chat", "T11.chat"}),
    ("provider-as-normalized", {"provider": "azure.ai.openai"}, {"T6.chat"}),
    ("model", {"model": "gpt-4o"}, {"T1.chat", "T3.chat", "T6.chat"}),
    ("model-and-status", {"model": "gpt-4o-mini", "status": "error"}, {"T9.chat"}),
    ("status-error", {"status": "error"}, ERRORS),
    ("status-ok", {"status": "ok"}, ALL_SPANS - ERRORS),
    ("name", {"name": "chat claude"}, {"T2.chat", "T8.chat"}),
    ("service", {"service": "support"}, of("T5", "T8")),
    ("agent", {"agent": "helper"}, {"T5.root", "T8.root"}),
    ("user_id", {"user_id": "u1"}, {"T1.root", "T6.root"}),
    ("session_id", {"session_id": "s2"}, {"T3.root", "T4.root"}),
    ("tenant_id", {"tenant_id": "initech"}, of("T9", "T11")),
    ("min_duration", {"min_duration": "2s"},
     {"T1.root", "T2.root", "T2.chat", "T4.root", "T4.retrieve", "T6.root", "T6.chat",
      "T8.root", "T8.chat", "T10.root", "T10.chat"}),
    ("min_duration-ms", {"min_duration": "1200"},
     {"T1.root", "T2.root", "T2.chat", "T4.root", "T4.retrieve", "T5.root", "T5.chat", "T6.root",
      "T6.chat", "T8.root", "T8.chat", "T10.root", "T10.chat"}),
    ("attribute", [("attribute", "env=prod")], {"T1.root", "T3.root", "T6.root", "T9.root"}),
    ("attribute-bool", [("attribute", "cached=true")], {"T3.chat"}),
    ("attribute-repeated", [("attribute", "env=staging"), ("attribute", "retry.count=3")], {"T2.root"}),
    ("attribute-repeated-2", [("attribute", "retry.count=3"), ("attribute", "env=staging")], {"T2.root"}),
    ("tag", [("tag", "vip")], {"T2.root", "T4.root", "T8.root"}),
    ("tag-repeated", [("tag", "vip"), ("tag", "beta")], {"T2.root", "T8.root"}),
    ("tag-repeated-2", [("tag", "beta"), ("tag", "vip")], {"T2.root", "T8.root"}),
    ("q-in-name", {"q": "Refund_Order"}, {"T2.tool"}),
    ("q-in-input", {"q": "passport"}, {"T5.chat", "T9.root", "T11.root"}),
    ("q-in-output", {"q": "ZANZIBAR"}, {"T3.chat"}),
    ("since", {"since": "3h"}, of("T6", "T7", "T8", "T9", "T10", "T11")),
]


def span_labels(ds, items):
    return ds.span_labels([o["span_id"] for o in items])


@pytest.mark.parametrize("params,expected", [p[1:] for p in OBSERVATION_FILTERS],
                         ids=[p[0] for p in OBSERVATION_FILTERS])
def test_observation_list_filter(dataset, params, expected):
    server, ds = dataset
    got = span_labels(ds, pages(server, "/api/v1/observations", params))
    assert len(got) == len(set(got)), got
    assert set(got) == expected, f"GET /api/v1/observations {params}"


def test_observation_time_window_and_trace_id(dataset):
    server, ds = dataset
    t6, t9 = ds.start("T6"), ds.start("T9")
    cases = [
        ({"from": rfc3339(t6), "to": rfc3339(t9)}, of("T6", "T7", "T8")),
        ({"from": str(t6 + 100 * 1_000_000), "to": str(t9)},  # T6's root starts before `from`
         of("T6", "T7", "T8") - {"T6.root"}),
        ({"trace_id": ds.tid("T4")}, of("T4")),
        ({"trace_id": ds.tid("T11"), "kind": "llm"}, {"T11.chat"}),
    ]
    for params, expected in cases:
        got = span_labels(ds, pages(server, "/api/v1/observations", params))
        assert set(got) == expected and len(got) == len(expected), (params, got)


@pytest.mark.parametrize("order", ["desc", "asc", None])
def test_observation_order_and_pages(dataset, order):
    server, ds = dataset
    params = {"order": order} if order else {}
    key = {k: (s.start_ns, ds.trace_ids[s.trace], s.span_id) for k, s in ds.spans.items()}
    expected = sorted(ALL_SPANS, key=key.get, reverse=order != "asc")
    whole = span_labels(ds, get_ok(server, "/api/v1/observations", {**params, "limit": 1000})["data"])
    assert whole == expected
    paged = span_labels(ds, pages(server, "/api/v1/observations", {**params, "limit": 4}))
    assert paged == expected, "pages of 4 differ from one page"


def test_observation_fields_and_payloads(dataset):
    server, ds = dataset
    [chat] = get_ok(server, "/api/v1/observations", {"trace_id": ds.tid("T3"), "kind": "llm"})["data"]
    s = ds.spans["T3.chat"]
    assert (chat["trace_id"], chat["span_id"], chat["parent_span_id"]) == (
        ds.tid("T3"), s.span_id, ds.spans["T3.root"].span_id)
    assert chat["start_ns"] == s.start_ns and chat["duration_ns"] == s.dur_ns
    assert chat["usage"]["input"] == 50 and chat["usage"]["output"] == 5
    assert chat["cost"]["nano_usd"] == 200_000
    assert chat["service_name"] == "search" and chat["tenant_id"] == "globex"
    assert "input" not in chat and "output" not in chat, "payloads without payloads=true"
    [full] = get_ok(server, "/api/v1/observations",
                    {"trace_id": ds.tid("T3"), "kind": "llm", "payloads": "true"})["data"]
    assert full["output"]["messages"][0]["content"] == "Zanzibar is an archipelago"

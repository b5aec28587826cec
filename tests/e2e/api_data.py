"""A known dataset for the query API tests (docs/api.md), loaded through OTLP/JSON and the real
OpenTelemetry SDK, plus small helpers: module-scoped servers, list paging, an SSE reader.

The dataset is eleven agent traces (T1..T11) in four services' worth of variety, laid out in
hours relative to `base` (an hour boundary 4 to 5 hours before now), so that every observation
filter, sort and time window selects a different, non-trivial subset. Expected answers in the
tests are written by hand from the table below, by label (`"T3"`, `"T3.chat"`)."""

import contextlib
import datetime
import hashlib
import json
import queue
import re
import socket
import threading
import time

import pytest
import requests
from conftest import Server
from opentelemetry import trace as otel_trace
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter, SpanExportResult

MS = 1_000_000
SECOND = 1_000_000_000
MINUTE = 60_000 * MS
HOUR = 60 * MINUTE


# --- ids and OTLP/JSON ----------------------------------------------------------------------

def hex_id(label, n):
    """A deterministic id of `n` bytes for `label`, as lowercase hex."""
    return hashlib.sha256(label.encode()).digest()[:n].hex()


def any_value(v):
    if isinstance(v, bool):
        return {"boolValue": v}
    if isinstance(v, int):
        return {"intValue": str(v)}
    if isinstance(v, float):
        return {"doubleValue": v}
    if isinstance(v, (list, tuple)):
        return {"arrayValue": {"values": [any_value(x) for x in v]}}
    return {"stringValue": str(v)}


def kvs(attrs):
    return [{"key": k, "value": any_value(v)} for k, v in (attrs or {}).items()]


def json_span(trace_id, span_id, name, start_ns, dur_ns, attrs=None, parent=None, error=None,
              events=()):
    s = {"traceId": trace_id, "spanId": span_id, "name": name, "kind": 1,
         "startTimeUnixNano": str(start_ns), "endTimeUnixNano": str(start_ns + dur_ns),
         "attributes": kvs(attrs)}
    if parent:
        s["parentSpanId"] = parent
    if error:
        s["status"] = {"code": 2, "message": error}
    if events:
        s["events"] = [{"timeUnixNano": str(t), "name": n, "attributes": kvs(a)} for t, n, a in events]
    return s


def traces_body(groups):
    """`groups`: [(resource attrs, [span])] -> an OTLP/JSON traces request."""
    return {"resourceSpans": [
        {"resource": {"attributes": kvs(res)}, "scopeSpans": [{"scope": {"name": "api-e2e"}, "spans": spans}]}
        for res, spans in groups
    ]}


def json_log(time_ns, severity, text, body, trace_id=None, span_id=None, attrs=None):
    rec = {"timeUnixNano": str(time_ns), "observedTimeUnixNano": str(time_ns),
           "severityNumber": severity, "severityText": text, "body": {"stringValue": body},
           "attributes": kvs(attrs)}
    if trace_id:
        rec["traceId"] = trace_id
    if span_id:
        rec["spanId"] = span_id
    return rec


def logs_body(groups):
    """`groups`: [(resource attrs, [log record])] -> an OTLP/JSON logs request."""
    return {"resourceLogs": [
        {"resource": {"attributes": kvs(res)}, "scopeLogs": [{"scope": {"name": "api-e2e"}, "logRecords": recs}]}
        for res, recs in groups
    ]}


def post_json(server, path, body, key=None):
    r = server.post(path, json.dumps(body), key=key)
    assert r.status_code == 200, f"POST {path}: {r.status_code} {r.text[:500]}"
    partial = (r.json() if r.content else {}).get("partialSuccess") or {}
    for field in ("rejectedSpans", "rejectedLogRecords"):
        assert int(partial.get(field) or 0) == 0, f"POST {path}: {r.text[:500]}"
    return r


# --- the dataset ----------------------------------------------------------------------------

def llm(model, provider, tokens_in, tokens_out, cost_usd=None, op="chat", **extra):
    a = {"gen_ai.operation.name": op, "gen_ai.request.model": model, "gen_ai.provider.name": provider,
         "gen_ai.usage.input_tokens": tokens_in, "gen_ai.usage.output_tokens": tokens_out}
    if cost_usd is not None:
        a["gen_ai.usage.cost"] = cost_usd
    a.update(extra)
    return a


def agent(name, user, session=None, tags=(), inp=None, out=None, **extra):
    a = {"gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": name, "user.id": user}
    if session:
        a["session.id"] = session
    if tags:
        a["tag.tags"] = list(tags)
    if inp:
        a["input.value"] = inp
    if out:
        a["output.value"] = out
    a.update(extra)
    return a


def tool(name):
    return {"gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": name}


def messages(role, text):
    return json.dumps([{"role": role, "parts": [{"type": "text", "content": text}]}])


# label -> (minutes after base, service, tenant)
TRACES = {
    "T1": (5, "checkout", "acme"),
    "T2": (15, "checkout", "acme"),
    "T3": (25, "search", "globex"),
    "T4": (35, "search", "globex"),
    "T5": (45, "support", "acme"),
    "T6": (130, "checkout", "acme"),
    "T7": (140, "search", "globex"),
    "T8": (150, "support", "acme"),
    "T9": (190, "checkout", "initech"),
    "T10": (200, "search", "globex"),
    "T11": (210, "checkout", "initech"),  # sent through the OpenTelemetry SDK
}

# (span label, parent, name, ms after the trace start, duration ms, attributes, error, exception)
SPANS = [
    ("T1.root", None, "invoke_agent planner", 0, 2000,
     agent("planner", "u1", "s1", ["beta"], "Book a flight to Paris", "Booked AF123", env="prod"), None, None),
    ("T1.chat", "T1.root", "chat gpt-4o", 100, 800, llm("gpt-4o", "openai", 100, 20, 0.0012), None, None),
    ("T1.tool", "T1.root", "execute_tool search_flights", 1000, 300, tool("search_flights"), None, None),
    ("T2.root", None, "invoke_agent planner", 0, 5000,
     agent("planner", "u4", "s1", ["beta", "vip"], "Change my booking", "Booking changed",
           env="staging", **{"retry.count": 3}), None, None),
    ("T2.chat", "T2.root", "chat claude", 100, 2500, llm("claude-3-5-sonnet", "anthropic", 300, 50, 0.0045), None, None),
    ("T2.tool", "T2.root", "execute_tool refund_order", 3000, 400, tool("refund_order"), "card declined", None),
    ("T3.root", None, "invoke_agent researcher", 0, 500,
     agent("researcher", "u2", "s2", (), "Tell me about islands", "Here you go", env="prod"), None, None),
    ("T3.chat", "T3.root", "chat gpt-4o", 100, 300,
     llm("gpt-4o", "openai", 50, 5, 0.0002, cached=True,
         **{"gen_ai.output.messages": messages("assistant", "Zanzibar is an archipelago")}), None, None),
    ("T4.root", None, "invoke_agent researcher", 0, 12000,
     agent("researcher", "u2", "s2", ["vip"], "Find papers", "No results"), None, None),
    ("T4.embed", "T4.root", "embeddings text-embedding-3-small", 100, 200,
     llm("text-embedding-3-small", "openai", 1000, 0, 0.00002, op="embeddings"), None, None),
    ("T4.retrieve", "T4.root", "retrieve docs", 500, 11000, {"gen_ai.operation.name": "retrieval"},
     "index offline", None),
    ("T5.root", None, "invoke_agent helper", 0, 1500,
     agent("helper", "u3", "s3", (), "Help with travel documents", "Sure", **{"retry.count": 3}), None, None),
    ("T5.chat", "T5.root", "chat mistral", 100, 1200,
     llm("mistral-large", "mistralai", 70, 30, 0.0009,
         **{"gen_ai.input.messages": messages("user", "My PASSPORT expired last week")}), None, None),
    ("T6.root", None, "invoke_agent planner", 0, 3000,
     agent("planner", "u1", "s4", ["beta"], "Plan a weekend", "Planned", env="prod"), None, None),
    ("T6.chat", "T6.root", "chat gpt-4o", 100, 2000, llm("gpt-4o", "azure", 200, 40, 0.003), None, None),
    ("T6.mini", "T6.root", "chat gpt-4o-mini", 2200, 400, llm("gpt-4o-mini", "openai", 20, 10, 0.00001), None, None),
    ("T7.root", None, "invoke_agent researcher", 0, 800,
     agent("researcher", "u2", None, (), "Browse the news", "Failed", env="dev"), None, None),
    ("T7.tool", "T7.root", "execute_tool browse", 100, 500, tool("browse"), None,
     ("TimeoutError", "page load timed out")),
    ("T8.root", None, "invoke_agent helper", 0, 7000,
     agent("helper", "u3", "s3", ["vip", "beta"], "Where is my refund", "On its way"), None, None),
    ("T8.chat", "T8.root", "chat claude", 100, 6000, llm("claude-3-5-sonnet", "anthropic", 500, 100, 0.0075), None, None),
    ("T9.root", None, "invoke_agent planner", 0, 400,
     agent("planner", "u5", "s5", (), "Renew my passport", "Form sent", env="prod"), None, None),
    ("T9.chat", "T9.root", "chat gpt-4o-mini", 50, 200, llm("gpt-4o-mini", "openai", 10, 5, 0.000005), "timeout", None),
    ("T10.root", None, "invoke_agent planner", 0, 20000,
     agent("planner", "u6", "s6", (), "Summarize the week", "Summary"), None, None),
    ("T10.rerank", "T10.root", "rerank results", 100, 100, {"openinference.span.kind": "RERANKER"}, None, None),
    ("T10.chat", "T10.root", "chat local", 300, 19000, llm("acme-local", "acme", 2, 1), None, None),
    ("T11.root", None, "invoke_agent planner", 0, 600,
     agent("planner", "u5", "s5", (), "Confirm passport renewal", "Confirmed"), None, None),
    ("T11.chat", "T11.root", "chat gpt-4o-mini", 100, 300, llm("gpt-4o-mini", "openai", 30, 10, 0.00003), None, None),
]

# Per-trace facts the sort tests use (root duration ms, total tokens, known cost nano-USD).
DURATION_MS = {t: next(s[4] for s in SPANS if s[0] == f"{t}.root") for t in TRACES}
TOKENS = {"T1": 120, "T2": 350, "T3": 55, "T4": 1000, "T5": 100, "T6": 270, "T7": 0, "T8": 600,
          "T9": 15, "T10": 3, "T11": 40}
COST = {"T1": 1_200_000, "T2": 4_500_000, "T3": 200_000, "T4": 20_000, "T5": 900_000,
        "T6": 3_010_000, "T8": 7_500_000, "T9": 5_000, "T11": 30_000}  # T7, T10: unknown
ERROR_TRACES = {"T2", "T4", "T7", "T9"}

# (label, minutes after base, severity number, text, service, body, trace, span, attributes)
LOGS = [
    ("L1", 5, 9, "INFO", "checkout", "payment authorized for order 11", "T1", "T1.root", {"session.id": "s1"}),
    ("L2", 15, 17, "ERROR", "checkout", "Card DECLINED for order 12", "T2", "T2.tool", {"session.id": "s1"}),
    ("L3", 25, 13, "WARN", "search", "slow index response", "T3", None, {"session.id": "s2"}),
    ("L4", 135, 5, "DEBUG", "support", "cache warmed", None, None, {}),
    ("L5", 150, 21, "FATAL", "support", "worker crashed: out of memory", "T8", "T8.chat",
     {"session.id": "s3", "gen_ai.agent.name": "helper"}),
    ("L6", 195, 13, "WARN", "checkout", "retrying payment (card declined)", "T9", None, {"session.id": "s5"}),
]


class SpanInfo:
    def __init__(self, label, trace, span_id, parent, name, start_ns, dur_ns, attrs, error):
        self.label, self.trace, self.span_id, self.parent = label, trace, span_id, parent
        self.name, self.start_ns, self.dur_ns, self.attrs, self.error = name, start_ns, dur_ns, attrs, error


class Dataset:
    """What was loaded: ids by label, and the labels of whatever an answer returns."""

    def __init__(self, base):
        self.base = base
        self.trace_ids = {}
        self.spans = {}

    def start(self, trace):
        return self.base + TRACES[trace][0] * MINUTE

    def tid(self, label):
        return self.trace_ids[label]

    def trace_labels(self, ids):
        rev = {v: k for k, v in self.trace_ids.items()}
        return [rev.get(i, i) for i in ids]

    def span_labels(self, ids):
        rev = {s.span_id: k for k, s in self.spans.items()}
        return [rev.get(i, i) for i in ids]

    def spans_where(self, pred):
        return {k for k, s in self.spans.items() if pred(s)}


class Recording(SpanExporter):
    """Wraps an exporter and keeps every (result, time.monotonic() after the answer)."""

    def __init__(self, inner):
        self.inner, self.results = inner, []

    def export(self, spans):
        result = self.inner.export(spans)
        self.results.append((result, time.monotonic()))
        return result

    def shutdown(self):
        self.inner.shutdown()

    def force_flush(self, timeout_millis=30000):
        return self.inner.force_flush(timeout_millis)


def sdk_provider(server, resource, key=None):
    """A TracerProvider exporting each span on end through the real OTLP/HTTP exporter."""
    headers = {"Authorization": f"Bearer {key}"} if key else None
    exporter = Recording(OTLPSpanExporter(endpoint=server.url + "/v1/traces", headers=headers, timeout=10))
    provider = TracerProvider(resource=Resource.create(resource))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return provider, exporter


def load_dataset(server, key=None):
    """Loads T1..T11 and L1..L6 into `server`; returns the Dataset."""
    now = time.time_ns()
    ds = Dataset(now // HOUR * HOUR - 4 * HOUR)
    by_resource = {}
    for label, parent, name, at_ms, dur_ms, attrs, error, exc in SPANS:
        t = label.split(".")[0]
        start = ds.start(t) + at_ms * MS
        if t == "T11":
            continue
        tid = ds.trace_ids.setdefault(t, hex_id("dataset/" + t, 16))
        sid = hex_id("dataset/" + label, 8)
        ds.spans[label] = SpanInfo(label, t, sid, parent, name, start, dur_ms * MS, attrs, error or exc)
        events = ()
        if exc:
            events = [(start + 10 * MS, "exception", {"exception.type": exc[0], "exception.message": exc[1]})]
        span = json_span(tid, sid, name, start, dur_ms * MS, attrs,
                         ds.spans[parent].span_id if parent else None, error, events)
        _, service, tenant = TRACES[t]
        by_resource.setdefault((service, tenant), []).append(span)
    groups = [({"service.name": s, "tenant.id": ten}, spans) for (s, ten), spans in by_resource.items()]
    post_json(server, "/v1/traces", traces_body(groups), key)
    _load_sdk_trace(server, ds, key)

    log_groups = {}
    for label, minute, sev, text, service, body, trace, span, attrs in LOGS:
        rec = json_log(ds.base + minute * MINUTE + 500 * MS, sev, text, body,
                       ds.trace_ids[trace] if trace else None, ds.spans[span].span_id if span else None, attrs)
        log_groups.setdefault(service, []).append(rec)
    post_json(server, "/v1/logs", logs_body([({"service.name": s}, r) for s, r in log_groups.items()]), key)
    return ds


def _load_sdk_trace(server, ds, key):
    provider, exporter = sdk_provider(server, {"service.name": "checkout", "tenant.id": "initech"}, key)
    tracer = provider.get_tracer("api-e2e.sdk")
    spans = {s[0]: s for s in SPANS if s[0].startswith("T11.")}
    t0 = ds.start("T11")
    _, _, name, at, dur, attrs, _, _ = spans["T11.root"]
    root = tracer.start_span(name, start_time=t0 + at * MS, attributes=attrs)
    _, _, cname, cat, cdur, cattrs, _, _ = spans["T11.chat"]
    child = tracer.start_span(cname, context=otel_trace.set_span_in_context(root),
                              start_time=t0 + cat * MS, attributes=cattrs)
    child.end(end_time=t0 + (cat + cdur) * MS)
    root.end(end_time=t0 + (at + dur) * MS)
    assert provider.force_flush(10_000) is True
    assert [r for r, _ in exporter.results] == [SpanExportResult.SUCCESS] * 2
    provider.shutdown()
    tid = format(root.get_span_context().trace_id, "032x")
    ds.trace_ids["T11"] = tid
    for label, sp in (("T11.root", root), ("T11.chat", child)):
        s = spans[label]
        ds.spans[label] = SpanInfo(label, "T11", format(sp.get_span_context().span_id, "016x"),
                                   s[1], s[2], t0 + s[3] * MS, s[4] * MS, s[5], None)


# --- servers and queries --------------------------------------------------------------------

@contextlib.contextmanager
def running_server(tmp_path_factory, *args):
    """A server for a whole module (the conftest `make_server` fixture is per test)."""
    s = Server(tmp_path_factory.mktemp("data"), args)
    s.start()
    try:
        yield s
    finally:
        try:
            s.stop(timeout=10)
        except Exception:
            s.kill()


def get_ok(server, path, params=None, key=None, timeout=30):
    r = requests.get(server.url + path, params=params, headers=server.headers(key), timeout=timeout)
    assert r.status_code == 200, f"GET {path} {params}: {r.status_code} {r.text[:500]}"
    return r.json()


def pages(server, path, params=None, key=None, max_pages=50):
    """Every item of a paged list, following `next_cursor` (at most `max_pages` requests)."""
    base = list(params.items()) if isinstance(params, dict) else list(params or [])  # keeps repeats
    query, items = base, []
    for _ in range(max_pages):
        body = get_ok(server, path, query, key)
        items.extend(body["data"])
        if "next_cursor" not in body:
            return items
        assert body["data"], f"{path} {query}: an empty page with a next_cursor"
        query = base + [("cursor", body["next_cursor"])]
    raise AssertionError(f"{path} {params}: more than {max_pages} pages")


def problem(r, status, param=None):
    """Asserts `r` is the documented error shape, its message starting with `param`."""
    assert r.status_code == status, f"{r.request.method} {r.url}: expected {status}, got {r.status_code} {r.text[:300]}"
    assert r.headers.get("Content-Type", "").startswith("application/json"), r.headers
    body = r.json()
    codes = {400: "invalid_argument", 401: "unauthenticated", 404: "not_found"}
    assert body.get("status") == status and body.get("code") == codes[status], body
    assert isinstance(body.get("message"), str) and body["message"], body
    if param:
        assert body["message"].startswith(param), f"{r.url}: message does not start with {param!r}: {body['message']!r}"
    return body


# --- Server-Sent Events ---------------------------------------------------------------------

class SseClient:
    """Reads `GET /api/v1/stream` with `requests` (stream=True, iter_lines) on a thread; every
    event and comment is kept with the time.monotonic() it completed at."""

    def __init__(self, server, params=None, key=None, headers=None, read_timeout=10):
        h = {**server.headers(key), **(headers or {})}
        self.resp = requests.get(server.url + "/api/v1/stream", params=params, headers=h,
                                 stream=True, timeout=(5, read_timeout))
        self.q = queue.Queue()
        self.received = []
        self.closed = threading.Event()
        if self.resp.status_code == 200:
            threading.Thread(target=self._run, daemon=True).start()

    def _run(self):
        ev = {}
        try:
            for raw in self.resp.iter_lines(chunk_size=1024):
                if self.closed.is_set():
                    break
                line = raw.decode("utf-8", "replace")
                now = time.monotonic()
                if line == "":
                    if ev:
                        if "data" in ev:
                            with contextlib.suppress(ValueError):
                                ev["json"] = json.loads(ev["data"])
                        ev["t"] = now
                        self.q.put(ev)
                    ev = {}
                elif line.startswith(":"):
                    self.q.put({"comment": line[1:].strip(), "t": now})
                else:
                    field, _, value = line.partition(":")
                    value = value[1:] if value.startswith(" ") else value
                    ev[field] = ev[field] + "\n" + value if field == "data" and "data" in ev else value
        except Exception as e:  # the connection ended: record how
            self.q.put({"end": repr(e), "t": time.monotonic()})
            return
        self.q.put({"end": "eof", "t": time.monotonic()})

    def wait(self, until, timeout):
        """Collects until `until(self.received)` holds or `timeout` s pass; returns the result."""
        deadline = time.monotonic() + timeout
        while not until(self.received):
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            try:
                self.received.append(self.q.get(timeout=min(left, 0.05)))
            except queue.Empty:
                pass
        return True

    def events(self, kind=None):
        return [e for e in self.received if "event" in e and (kind is None or e["event"] == kind)]

    def heartbeats(self):
        return [e for e in self.received if "comment" in e]

    def close(self):
        self.closed.set()
        conn = getattr(self.resp.raw, "_connection", None)
        sock = getattr(conn, "sock", None)
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        with contextlib.suppress(Exception):
            self.resp.close()


def names_of(events):
    return [e["json"]["name"] for e in events if "json" in e and "name" in e["json"]]


# --- fixtures (import them into a test module to use them) ------------------------------------

@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    """(server, Dataset): one server per test module holding the dataset, project `default`."""
    with running_server(tmp_path_factory) as s:
        yield s, load_dataset(s)


def rfc3339(ns):
    """UTC nanoseconds as RFC 3339 text with nanosecond precision."""
    secs, frac = divmod(ns, 1_000_000_000)
    text = datetime.datetime.fromtimestamp(secs, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")
    return f"{text}.{frac:09d}Z" if frac else f"{text}Z"


def parse_rfc3339(text):
    """RFC 3339 text (any fraction, `Z` or an offset) as UTC nanoseconds."""
    m = re.fullmatch(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?(Z|[+-]\d\d:\d\d)", text)
    assert m, f"not RFC 3339: {text!r}"
    tz = "+00:00" if m.group(3) == "Z" else m.group(3)
    secs = int(datetime.datetime.fromisoformat(m.group(1) + tz).timestamp())
    return secs * SECOND + int((m.group(2) or "0").ljust(9, "0"))


ALL_TRACES = set(TRACES)

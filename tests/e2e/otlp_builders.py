"""Request builders and storage checks shared by the reliability tests (crash, overload,
bad input, shutdown). Everything here is deterministic given a `random.Random`."""

import gzip
import json
import os
import random
import sqlite3
import threading
import time
import zlib

import grpc
import requests
from google.rpc import status_pb2
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc
from opentelemetry.proto.common.v1 import common_pb2
from opentelemetry.proto.resource.v1 import resource_pb2
from opentelemetry.proto.trace.v1 import trace_pb2

PROTOBUF = "application/x-protobuf"
T0 = 1_700_000_000_000_000_000  # a fixed start time, in UTC nanoseconds


def new_id(rng, n):
    """`n` random bytes, never all zeros."""
    while True:
        b = rng.randbytes(n)
        if any(b):
            return b


def any_value(v):
    """A Python value as an OTLP AnyValue (str, bool, int, float, bytes, list, dict)."""
    if isinstance(v, bool):
        return common_pb2.AnyValue(bool_value=v)
    if isinstance(v, int):
        return common_pb2.AnyValue(int_value=v)
    if isinstance(v, float):
        return common_pb2.AnyValue(double_value=v)
    if isinstance(v, bytes):
        return common_pb2.AnyValue(bytes_value=v)
    if isinstance(v, (list, tuple)):
        return common_pb2.AnyValue(array_value=common_pb2.ArrayValue(values=[any_value(x) for x in v]))
    if isinstance(v, dict):
        return common_pb2.AnyValue(kvlist_value=common_pb2.KeyValueList(values=key_values(v)))
    return common_pb2.AnyValue(string_value=str(v))


def key_values(attrs):
    return [common_pb2.KeyValue(key=k, value=any_value(v)) for k, v in (attrs or {}).items()]


def span(trace_id, span_id, name="op", start=T0, end=T0 + 1_000_000, attrs=None, parent=b""):
    return trace_pb2.Span(
        trace_id=trace_id, span_id=span_id, parent_span_id=parent, name=name,
        kind=trace_pb2.Span.SPAN_KIND_INTERNAL,
        start_time_unix_nano=start, end_time_unix_nano=end, attributes=key_values(attrs),
    )


def request(spans, service="reliability-test"):
    """An ExportTraceServiceRequest with one resource and one scope holding `spans`."""
    res = resource_pb2.Resource(attributes=key_values({"service.name": service}))
    return trace_service_pb2.ExportTraceServiceRequest(resource_spans=[
        trace_pb2.ResourceSpans(resource=res, scope_spans=[
            trace_pb2.ScopeSpans(scope=common_pb2.InstrumentationScope(name="e2e"), spans=spans),
        ]),
    ])


def batch(rng, n_spans, payload_bytes=0):
    """A request of `n_spans` good spans with unique random ids (one trace), and their span ids
    as lowercase hex. `payload_bytes` of text go into one attribute of each span."""
    trace_id = new_id(rng, 16)
    filler = "x" * payload_bytes
    spans, ids = [], []
    for i in range(n_spans):
        sid = new_id(rng, 8)
        attrs = {"test.index": i, "test.payload": filler} if payload_bytes else {"test.index": i}
        spans.append(span(trace_id, sid, name=f"op-{i}", start=T0 + i, end=T0 + i + 1000, attrs=attrs))
        ids.append(sid.hex())
    return request(spans), ids


def json_span(trace_hex, span_hex, name="op", start=T0, end=T0 + 1_000_000, attributes=None):
    return {
        "traceId": trace_hex, "spanId": span_hex, "name": name, "kind": 1,
        "startTimeUnixNano": str(start), "endTimeUnixNano": str(end),
        "attributes": attributes or [],
    }


def json_request(spans, service="reliability-test"):
    return {"resourceSpans": [{
        "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": service}}]},
        "scopeSpans": [{"scope": {"name": "e2e"}, "spans": spans}],
    }]}


def gzip_bomb(inflated_bytes, chunk=1 << 20):
    """Gzip of `inflated_bytes` zeros, compressed in a streaming way (never held inflated)."""
    comp = zlib.compressobj(9, zlib.DEFLATED, 31)  # wbits 31: gzip container
    zeros = bytes(chunk)
    parts = [comp.compress(zeros) for _ in range(inflated_bytes // chunk)]
    parts.append(comp.flush())
    return b"".join(parts)


def gzipped(data):
    return gzip.compress(data)


# --- storage checks -------------------------------------------------------------------------

def stored_span_ids(data_dir):
    """Every stored span id (lowercase hex), read from the SQLite file read-only."""
    path = os.path.join(str(data_dir), "sightline.db")
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10)
    try:
        return {row[0] for row in conn.execute("SELECT lower(hex(span_id)) FROM spans")}
    finally:
        conn.close()


# --- load clients -------------------------------------------------------------------------

class Outcomes:
    """What a set of load clients saw, shared between threads."""

    def __init__(self):
        self.lock = threading.Lock()
        self.acked = set()       # span ids of batches answered 2xx / OK
        self.acked_traces = []   # (trace id hex, span count) of those batches
        self.ack_times = []      # time.monotonic() when each of those answers arrived
        self.refused = []        # span-id lists of batches refused with a retryable answer
        self.unknown = []        # span-id lists whose fate is unknown (connection dropped)
        self.statuses = {}       # HTTP status or gRPC code name -> count
        self.bad = []            # unexpected answers, as text
        self.retry_after = []    # Retry-After values seen on 503s

    def count(self, key):
        with self.lock:
            self.statuses[key] = self.statuses.get(key, 0) + 1


class BatchFactory:
    """Serialized batches of `n_spans` good spans, one trace each, with fresh random ids, made
    cheaply: one request is serialized once with placeholder ids, then the placeholders are
    swapped per batch. Span ids are a random 4-byte prefix per batch plus a 4-byte index."""

    def __init__(self, rng, n_spans, payload_bytes=0):
        self.rng, self.n = rng, n_spans
        self.trace_ph, self.prefix_ph = new_id(rng, 16), new_id(rng, 4)
        filler = "x" * payload_bytes
        spans = [
            span(self.trace_ph, self.prefix_ph + i.to_bytes(4, "big"), name=f"op-{i}",
                 start=T0 + i, end=T0 + i + 1000,
                 attrs={"test.index": i, "test.payload": filler} if payload_bytes else None)
            for i in range(n_spans)
        ]
        self.template = request(spans).SerializeToString()
        assert self.template.count(self.trace_ph) == n_spans
        assert self.template.count(self.prefix_ph) == n_spans

    def next(self):
        """(serialized request, trace id hex, [span id hex])."""
        trace_id, prefix = new_id(self.rng, 16), new_id(self.rng, 4)
        data = self.template.replace(self.trace_ph, trace_id).replace(self.prefix_ph, prefix)
        ids = [(prefix + i.to_bytes(4, "big")).hex() for i in range(self.n)]
        return data, trace_id.hex(), ids


def http_client(server, out, seed, stop, batch_spans, payload_bytes=0, max_requests=10_000,
                deadline=None):
    """Sends protobuf batches until `stop` is set (or the limits); records every outcome.
    Refused batches are recorded and never retried."""
    factory = BatchFactory(random.Random(seed), batch_spans, payload_bytes)
    session = requests.Session()
    url = server.url + "/v1/traces"
    for _ in range(max_requests):
        if stop.is_set() or (deadline and time.monotonic() > deadline):
            break
        data, trace_id, ids = factory.next()
        try:
            r = session.post(url, data=data, headers={"Content-Type": PROTOBUF}, timeout=30)
        except requests.RequestException as e:
            out.count(type(e).__name__)
            with out.lock:
                out.unknown.append(ids)
            continue
        out.count(r.status_code)
        with out.lock:
            if r.status_code == 200:
                resp = trace_service_pb2.ExportTraceServiceResponse.FromString(r.content)
                if resp.partial_success.rejected_spans:
                    out.bad.append(f"unexpected partial success: {resp.partial_success}")
                out.acked.update(ids)
                out.acked_traces.append((trace_id, len(ids)))
                out.ack_times.append(time.monotonic())
            elif r.status_code == 503:
                out.refused.append(ids)
                out.retry_after.append(r.headers.get("Retry-After"))
                if not r.headers.get("Content-Type", "").startswith(PROTOBUF) or \
                        not status_pb2.Status.FromString(r.content).message:
                    out.bad.append(f"503 without a protobuf Status body: {r.content[:200]!r}")
            else:
                out.bad.append(f"HTTP {r.status_code}: {r.content[:300]!r}")


EXPORT_TRACES = "/opentelemetry.proto.collector.trace.v1.TraceService/Export"


def grpc_export_raw(channel):
    """A TraceService/Export callable that takes already-serialized request bytes."""
    return channel.unary_unary(
        EXPORT_TRACES, request_serializer=None,
        response_deserializer=trace_service_pb2.ExportTraceServiceResponse.FromString,
    )


def grpc_client(endpoint, out, seed, stop, batch_spans, payload_bytes=0, max_requests=10_000,
                deadline=None):
    """The gRPC twin of `http_client`. UNAVAILABLE carrying the server's `retry-after`
    trailer is a refusal; any other failure leaves the batch's fate unknown."""
    factory = BatchFactory(random.Random(seed), batch_spans, payload_bytes)
    with grpc.insecure_channel(endpoint) as channel:
        export = grpc_export_raw(channel)
        for _ in range(max_requests):
            if stop.is_set() or (deadline and time.monotonic() > deadline):
                break
            data, trace_id, ids = factory.next()
            try:
                resp = export(data, timeout=30)
            except grpc.RpcError as e:
                code = e.code()
                out.count(code.name)
                trailers = dict(e.trailing_metadata() or ())
                with out.lock:
                    if code == grpc.StatusCode.UNAVAILABLE and "retry-after" in trailers:
                        out.refused.append(ids)  # the server's own backpressure answer
                        out.retry_after.append(trailers["retry-after"])
                    else:
                        out.unknown.append(ids)  # transport failure: fate unknown
                continue
            out.count("OK")
            with out.lock:
                if resp.partial_success.rejected_spans:
                    out.bad.append(f"unexpected partial success: {resp.partial_success}")
                out.acked.update(ids)
                out.acked_traces.append((trace_id, len(ids)))
                out.ack_times.append(time.monotonic())


def run_clients(targets):
    """Starts one thread per (function, args) and returns the threads."""
    threads = [threading.Thread(target=f, args=a, daemon=True) for f, a in targets]
    for t in threads:
        t.start()
    return threads


def join_all(threads, timeout):
    deadline = time.monotonic() + timeout
    for t in threads:
        t.join(max(0.0, deadline - time.monotonic()))
    alive = [t for t in threads if t.is_alive()]
    assert not alive, f"{len(alive)} client threads still running after {timeout}s"


def wait_for(predicate, timeout, interval=0.02):
    """Polls `predicate` until true or `timeout` seconds; returns its last value."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(interval)


def to_json(obj):
    return json.dumps(obj).encode()

"""Bad input gets the OTLP answer and costs nothing else (DESIGN invariant 3).

Each case checks the status, the error body, that the process is still up (`/health`), and,
where data was sent, what was stored. Every test ends with a good request that still works.
"""

import json
import random

import grpc
import pytest
from google.rpc import status_pb2
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc

from otlp_builders import (
    PROTOBUF, T0, gzip_bomb, gzipped, json_request, json_span, new_id, request, span,
    stored_span_ids, to_json,
)

TRACES = "/v1/traces"
MIB = 1 << 20


def still_works(srv, rng=None):
    """The process is up, /health answers, and a good request is stored with full success."""
    assert srv.proc.poll() is None, f"server exited: {srv.log()}"
    assert srv.get("/health").status_code == 200
    rng = rng or random.Random(99)
    tid, sid = new_id(rng, 16), new_id(rng, 8)
    r = srv.post(TRACES, request([span(tid, sid, "still-works")]).SerializeToString(), PROTOBUF)
    assert r.status_code == 200, r.content
    assert not trace_service_pb2.ExportTraceServiceResponse.FromString(r.content).HasField(
        "partial_success"), "full success must leave partial_success unset"
    assert srv.trace(tid.hex())["summary"]["span_count"] == 1


def rpc_status(r):
    """The `google.rpc.Status` of a protobuf error answer."""
    assert r.headers["Content-Type"].startswith(PROTOBUF), r.headers
    assert r.content, "an error answer must carry a google.rpc.Status body"
    return status_pb2.Status.FromString(r.content)


def good_request(rng, n=3, attrs=None):
    tid = new_id(rng, 16)
    return tid.hex(), request([span(tid, new_id(rng, 8), f"s{i}", attrs=attrs) for i in range(n)])


def test_truncated_protobuf_gets_400_with_a_protobuf_status(server):
    _, req = good_request(random.Random(1), attrs={"k": "v" * 200})
    data = req.SerializeToString()
    r = server.post(TRACES, data[: len(data) // 2], PROTOBUF)
    assert r.status_code == 400
    st = rpc_status(r)
    assert st.code in (0, grpc.StatusCode.INVALID_ARGUMENT.value[0]), st
    assert "protobuf" in st.message and "ExportTraceServiceRequest" in st.message, st.message
    assert stored_span_ids(server.data_dir) == set(), "nothing of a refused body is stored"
    still_works(server)


def test_invalid_json_gets_400_naming_the_problem(server):
    r = server.post(TRACES, b'{"resourceSpans": [', "application/json")
    assert r.status_code == 400
    assert r.headers["Content-Type"].startswith("application/json")
    body = r.json()
    assert body["code"] == grpc.StatusCode.INVALID_ARGUMENT.value[0], body
    assert "not valid JSON" in body["message"] and "line 1" in body["message"], body
    still_works(server)


def test_wrong_json_field_type_names_the_field_path(server):
    bad = json_span("0102030405060708090a0b0c0d0e0f10", "0102030405060708")
    bad["startTimeUnixNano"] = True
    r = server.post(TRACES, to_json(json_request([json_span("11" * 16, "22" * 8), bad])))
    assert r.status_code == 400, r.text
    message = r.json()["message"]
    assert "resourceSpans[0].scopeSpans[0].spans[1].startTimeUnixNano" in message, message
    still_works(server)


@pytest.mark.parametrize("content_type", ["text/plain", "application/xml", None])
def test_unsupported_content_type_is_415(server, content_type):
    _, req = good_request(random.Random(2))
    headers = {} if content_type else {"Content-Type": ""}
    r = server.post(TRACES, req.SerializeToString(), content_type or "", headers=headers)
    assert r.status_code == 415, (r.status_code, r.content)
    assert r.content, "a 415 still carries a Status body"
    assert stored_span_ids(server.data_dir) == set()
    still_works(server)


def test_oversize_body_is_413_before_and_after_decompression(make_server):
    srv = make_server("--max-http-body-bytes", "100000")
    rng = random.Random(3)
    _, big = good_request(rng, n=40, attrs={"blob": "y" * 5000})
    data = big.SerializeToString()
    assert 190_000 < len(data) < 260_000
    r = srv.post(TRACES, data, PROTOBUF)
    assert r.status_code == 413, (r.status_code, r.content)
    assert "limit" in rpc_status(r).message
    # The cap is measured after decompression: the gzipped body is small on the wire.
    packed = gzipped(data)
    assert len(packed) < 100_000
    r = srv.post(TRACES, packed, PROTOBUF, headers={"Content-Encoding": "gzip"})
    assert r.status_code == 413, (r.status_code, r.content)
    # A body under the limit, gzipped, is accepted.
    tid, small = good_request(rng, n=5, attrs={"blob": "z" * 1000})
    r = srv.post(TRACES, gzipped(small.SerializeToString()), PROTOBUF,
                 headers={"Content-Encoding": "gzip"})
    assert r.status_code == 200, r.content
    assert srv.trace(tid)["summary"]["span_count"] == 5
    assert len(stored_span_ids(srv.data_dir)) == 5, "only the accepted batch is stored"
    still_works(srv, rng)


def test_gzip_bomb_is_413_without_inflating_into_memory(server):
    inflated = 100 * MIB  # five times the default 20 MiB cap
    bomb = gzip_bomb(inflated)
    assert len(bomb) < 200_000
    rss_before, peak_before = server.rss_kib()
    r = server.post(TRACES, bomb, PROTOBUF, headers={"Content-Encoding": "gzip"})
    assert r.status_code == 413, (r.status_code, r.content[:300])
    assert "limit" in rpc_status(r).message
    _, peak_after = server.rss_kib()
    grown_mib = (peak_after - max(peak_before, rss_before)) / 1024
    print(f"gzip bomb: peak RSS {peak_before // 1024} -> {peak_after // 1024} MiB")
    assert grown_mib < 48, f"peak RSS grew by {grown_mib:.0f} MiB inflating a {inflated // MIB} MiB bomb"
    still_works(server)


@pytest.mark.parametrize("body", ["junk", "truncated"])
def test_corrupt_gzip_is_400(server, body):
    _, req = good_request(random.Random(4), attrs={"k": "v" * 500})
    if body == "junk":
        data = b"this is not gzip at all"
    else:
        packed = gzipped(req.SerializeToString())
        data = packed[: len(packed) // 2]
    r = server.post(TRACES, data, PROTOBUF, headers={"Content-Encoding": "gzip"})
    assert r.status_code == 400, (r.status_code, r.content)
    assert "gzip" in rpc_status(r).message
    assert stored_span_ids(server.data_dir) == set()
    still_works(server)


def test_unknown_content_encoding_is_415(server):
    _, req = good_request(random.Random(5))
    r = server.post(TRACES, req.SerializeToString(), PROTOBUF, headers={"Content-Encoding": "br"})
    assert r.status_code == 415, (r.status_code, r.content)
    assert "br" in rpc_status(r).message
    still_works(server)


GOOD_TRACE = "0af7651916cd43dd8448eb211c80319c"
# (span index, traceId, spanId, start, end, what the error message must say); None = good span
MIXED = [
    (0, GOOD_TRACE, "b7ad6b7169203331", T0, T0 + 10, None),
    (1, "0102", "1111111111111111", T0, T0 + 10, "traceId"),
    (2, "00" * 16, "2222222222222222", T0, T0 + 10, "traceId"),
    (3, GOOD_TRACE, "01020304", T0, T0 + 10, "spanId"),
    (4, GOOD_TRACE, "00" * 8, T0, T0 + 10, "spanId"),
    (5, GOOD_TRACE, "5555555555555555", T0 + 10, T0, "before"),
    (6, GOOD_TRACE, "6666666666666666", 0, T0, "startTimeUnixNano"),
    (7, GOOD_TRACE, "c7ad6b7169203332", T0, T0 + 20, None),
]
MIXED_BAD = [m for m in MIXED if m[5]]
MIXED_GOOD = {m[2] for m in MIXED if not m[5]}


def mixed_protobuf():
    return request([span(bytes.fromhex(t), bytes.fromhex(s), f"span-{i}", start=a, end=b)
                    for i, t, s, a, b, _ in MIXED])


def check_mixed(srv, rejected, message):
    assert rejected == len(MIXED_BAD), message
    lines = message.splitlines()
    for i, _, _, _, _, says in MIXED_BAD:
        hits = [line for line in lines if f"spans[{i}]" in line]
        assert hits and says in hits[0], f"no error for spans[{i}] ({says}) in: {message}"
    assert not any("spans[0]" in line or "spans[7]" in line for line in lines), message
    assert stored_span_ids(srv.data_dir) == MIXED_GOOD
    t = srv.trace(GOOD_TRACE)
    assert {o["span_id"] for o in t["observations"]} == MIXED_GOOD


@pytest.mark.parametrize("encoding", ["json", "protobuf"])
def test_mixed_batch_rejects_bad_spans_and_keeps_the_good_ones(server, encoding):
    if encoding == "json":
        body = json_request([json_span(t, s, f"span-{i}", a, b) for i, t, s, a, b, _ in MIXED])
        r = server.post(TRACES, to_json(body))
        assert r.status_code == 200, r.text
        ps = r.json()["partialSuccess"]
        check_mixed(server, int(ps["rejectedSpans"]), ps["errorMessage"])
    else:
        r = server.post(TRACES, mixed_protobuf().SerializeToString(), PROTOBUF)
        assert r.status_code == 200, r.content
        ps = trace_service_pb2.ExportTraceServiceResponse.FromString(r.content).partial_success
        check_mixed(server, ps.rejected_spans, ps.error_message)
    still_works(server)


def test_unexpected_attribute_types_are_kept_and_not_counted_as_tokens(server):
    rng = random.Random(6)
    tid, sid = new_id(rng, 16), new_id(rng, 8)
    attrs = {
        "gen_ai.operation.name": "chat",
        "gen_ai.request.model": {"name": "gpt-4o"},       # kvlist where a string is expected
        "gen_ai.usage.input_tokens": "lots",               # non-numeric string
        "gen_ai.usage.output_tokens": ["a", 1, True, 2.5],  # array of mixed values
        "gen_ai.usage.total_tokens": b"\x00\x07",          # bytes
        "custom.bytes": b"\xff\x00hi",
    }
    r = server.post(TRACES, request([span(tid, sid, "chat junk", attrs=attrs)]).SerializeToString(),
                    PROTOBUF)
    assert r.status_code == 200, r.content
    ps = trace_service_pb2.ExportTraceServiceResponse.FromString(r.content).partial_success
    assert ps.rejected_spans == 0, "junk attribute values must not reject the span"
    for key in ("gen_ai.usage.input_tokens", "gen_ai.usage.output_tokens",
                "gen_ai.usage.total_tokens"):
        assert key in ps.error_message, f"no warning about {key}: {ps.error_message!r}"
    t = server.trace(tid.hex())
    assert t is not None and t["summary"]["span_count"] == 1
    obs = t["observations"][0]
    kept = obs["attributes"]
    assert kept["gen_ai.usage.input_tokens"] == "lots"
    assert kept["gen_ai.usage.output_tokens"] == ["a", 1, True, 2.5]
    assert kept["gen_ai.request.model"] == {"name": "gpt-4o"}
    assert "gen_ai.usage.total_tokens" in kept and "custom.bytes" in kept, kept
    assert not any(obs.get("usage", {}).values()), obs.get("usage")
    s = t["summary"]
    assert (s["input_tokens"], s["output_tokens"], s["total_tokens"]) == (0, 0, 0), s
    still_works(server)


@pytest.mark.parametrize("size", [200_000, 1_000_000])
def test_grpc_oversized_message_is_resource_exhausted(make_server, size):
    srv = make_server("--max-grpc-message-bytes", "100000")
    rng = random.Random(7)
    n = size // 5100
    _, req = good_request(rng, n=n, attrs={"blob": "q" * 5000})
    assert abs(req.ByteSize() - size) < size // 10
    with grpc.insecure_channel(srv.grpc_endpoint) as channel:
        stub = trace_service_pb2_grpc.TraceServiceStub(channel)
        with pytest.raises(grpc.RpcError) as err:
            stub.Export(req, timeout=10)
        assert err.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED, (
            err.value.code(), err.value.details())
        tid, ok = good_request(rng, n=2)
        assert not stub.Export(ok, timeout=10).HasField("partial_success")
    assert srv.trace(tid)["summary"]["span_count"] == 2
    assert len(stored_span_ids(srv.data_dir)) == 2
    still_works(srv, rng)


def test_grpc_mixed_batch_reports_partial_success(server):
    with grpc.insecure_channel(server.grpc_endpoint) as channel:
        resp = trace_service_pb2_grpc.TraceServiceStub(channel).Export(mixed_protobuf(), timeout=10)
    check_mixed(server, resp.partial_success.rejected_spans, resp.partial_success.error_message)
    still_works(server)


def test_empty_requests_succeed(server):
    r = server.post(TRACES, b"", PROTOBUF)
    assert r.status_code == 200, r.content
    assert not trace_service_pb2.ExportTraceServiceResponse.FromString(r.content).HasField(
        "partial_success")
    r = server.post(TRACES, b"{}", "application/json")
    assert r.status_code == 200, r.text
    assert "partialSuccess" not in r.json(), r.text
    r = server.post(TRACES, to_json({"resourceSpans": [{"scopeSpans": [{"spans": []}]}]}))
    assert r.status_code == 200, r.text
    with grpc.insecure_channel(server.grpc_endpoint) as channel:
        stub = trace_service_pb2_grpc.TraceServiceStub(channel)
        resp = stub.Export(trace_service_pb2.ExportTraceServiceRequest(), timeout=10)
    assert not resp.HasField("partial_success")
    assert stored_span_ids(server.data_dir) == set()
    still_works(server)


def test_json_error_answers_are_json_status(server):
    """A JSON request's error body is a JSON google.rpc.Status, also for 413/415 causes."""
    r = server.post(TRACES, b'{"resourceSpans": [', "application/json",
                    headers={"Content-Encoding": "br"})
    assert r.status_code == 415
    body = json.loads(r.content)
    assert body["message"] and "br" in body["message"], body
    still_works(server)

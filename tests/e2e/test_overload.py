"""Overload: a small write queue and many concurrent clients (DESIGN invariant 2).

The server must refuse what it cannot queue with a retryable answer (HTTP 503 + Retry-After,
gRPC UNAVAILABLE), never another 5xx, keep its memory bounded, stay up, store every batch it
acknowledged and none of the batches it refused. Clients never retry a refused batch, so a
refused batch's spans must be absent afterwards.
"""

import threading
import time

from otlp_builders import (
    Outcomes, grpc_client, http_client, join_all, run_clients, stored_span_ids,
)

MAX_QUEUED = 1500            # less than two batches: a batch waiting for the writer blocks the next
HTTP_CLIENTS = 20
GRPC_CLIENTS = 12
BATCH_SPANS = 1000
PAYLOAD_BYTES = 100          # per span: a batch is roughly 150 KB on the wire
LOAD_SECONDS = 8
MAX_PEAK_RSS_MIB = 300
SEED = 777


def test_overload_refuses_with_retry_after_and_stores_exactly_what_it_acknowledged(make_server):
    srv = make_server("--max-queued-items", str(MAX_QUEUED))
    rss_before, _ = srv.rss_kib()
    http_out, grpc_out, stop = Outcomes(), Outcomes(), threading.Event()
    deadline = time.monotonic() + LOAD_SECONDS
    targets = [
        (http_client, (srv, http_out, SEED + i, stop, BATCH_SPANS, PAYLOAD_BYTES, 1000, deadline))
        for i in range(HTTP_CLIENTS)
    ] + [
        (grpc_client, (srv.grpc_endpoint, grpc_out, SEED + 1000 + i, stop, BATCH_SPANS,
                       PAYLOAD_BYTES, 1000, deadline))
        for i in range(GRPC_CLIENTS)
    ]
    threads = run_clients(targets)
    # Sample memory while the load runs (VmHWM also records the peak between samples).
    samples = []
    while any(t.is_alive() for t in threads) and time.monotonic() < deadline + 30:
        assert srv.proc.poll() is None, f"server died under overload: {srv.log()}"
        samples.append(srv.rss_kib()[0])
        time.sleep(0.2)
    stop.set()
    join_all(threads, timeout=30)
    _, peak_kib = srv.rss_kib()
    summary = (f"HTTP {http_out.statuses}, gRPC {grpc_out.statuses}, RSS before "
               f"{rss_before // 1024} MiB, samples max {max(samples, default=0) // 1024} MiB, "
               f"peak {peak_kib // 1024} MiB")
    print(summary)

    # Backpressure was exercised on both protocols, with the retryable answers.
    assert http_out.statuses.get(503, 0) > 0, f"no HTTP request was refused with 503: {summary}"
    assert all(v is not None and v.strip().isdigit() and int(v) > 0
               for v in http_out.retry_after), f"503 without a valid Retry-After: {set(http_out.retry_after)}"
    assert grpc_out.statuses.get("UNAVAILABLE", 0) > 0, f"no gRPC call got UNAVAILABLE: {summary}"
    # Nothing else went wrong: no other 5xx or 4xx, no dropped connections, no other gRPC code.
    assert not http_out.bad, f"unexpected HTTP answers: {http_out.bad[:3]}"
    assert set(http_out.statuses) <= {200, 503}, summary
    assert set(grpc_out.statuses) <= {"OK", "UNAVAILABLE"}, summary
    assert not http_out.unknown and not grpc_out.unknown, f"requests without an answer: {summary}"
    # Work still got done under overload.
    assert http_out.statuses.get(200, 0) > 0 and grpc_out.statuses.get("OK", 0) > 0, summary

    # Memory stayed bounded, and the process is healthy.
    assert peak_kib < MAX_PEAK_RSS_MIB * 1024, f"peak RSS {peak_kib // 1024} MiB: {summary}"
    assert srv.proc.poll() is None
    assert srv.get("/health").status_code == 200

    # Exactly the acknowledged batches are stored; refused batches left nothing behind.
    stored = stored_span_ids(srv.data_dir)
    acked = http_out.acked | grpc_out.acked
    missing = acked - stored
    assert not missing, f"{len(missing)} of {len(acked)} acknowledged spans are not stored"
    refused = http_out.refused + grpc_out.refused
    leaked = [ids for ids in refused if set(ids) & stored]
    assert not leaked, (
        f"{len(leaked)} of {len(refused)} refused batches have stored spans, e.g. "
        f"{len(set(leaked[0]) & stored)} of {len(leaked[0])}"
    )
    assert stored == acked, f"{len(stored - acked)} stored spans were never acknowledged"

    # Once the load is gone, the server accepts again.
    recovered = Outcomes()
    http_client(srv, recovered, SEED - 1, threading.Event(), BATCH_SPANS, PAYLOAD_BYTES, 3)
    assert recovered.statuses == {200: 3}, recovered.statuses

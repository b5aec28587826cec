"""ClickHouse dies during ingest (SIGKILL), then comes back on the same data and port.

While it is down, clients must get retryable answers only (HTTP 503 with Retry-After, gRPC
UNAVAILABLE), never a 2xx for data that is then lost, and the node must stay up. Clients retry
refused batches the way OTLP exporters do. After the restart every acknowledged span is stored
exactly once in ClickHouse, including batches whose insert landed but whose answer was lost.
"""

import random
import threading
import time

import grpc
import requests

from clickhouse_fixture import clickhouse, clickhouse_db, clickhouse_node, create_key  # noqa: F401
from otlp_builders import PROTOBUF, BatchFactory, grpc_export_raw, wait_for

BATCH_SPANS = 40
HTTP_CLIENTS = 3
GRPC_CLIENTS = 1
MAX_RETRY_WAIT_S = 0.3   # honour Retry-After, capped so the test stays short
SEED = 4242


class Seen:
    def __init__(self):
        self.lock = threading.Lock()
        self.acked = {}          # span id hex -> trace id hex, for batches answered 2xx / OK
        self.statuses = {}       # HTTP status / gRPC code / exception name -> count
        self.bad = []            # answers that are neither success nor retryable
        self.refused_while_down = 0

    def count(self, key):
        with self.lock:
            self.statuses[key] = self.statuses.get(key, 0) + 1


def send_until_acked(send, seen, stop, down):
    """Calls `send()` until it succeeds or `stop`; returns whether it was acknowledged."""
    while not stop.is_set():
        ok, retry_after = send()
        if ok:
            return True
        if down.is_set():
            with seen.lock:
                seen.refused_while_down += 1
        time.sleep(min(retry_after, MAX_RETRY_WAIT_S))
    return False


def http_worker(node, key, seed, seen, stop, down):
    factory = BatchFactory(random.Random(seed), BATCH_SPANS)
    session = requests.Session()
    headers = {"Content-Type": PROTOBUF, "Authorization": f"Bearer {key}"}
    while not stop.is_set():
        data, trace_id, ids = factory.next()

        def send():
            r = session.post(node.url + "/v1/traces", data=data, headers=headers, timeout=30)
            seen.count(r.status_code)
            if r.status_code == 200:
                return True, 0
            retry_after = r.headers.get("Retry-After", "")
            if r.status_code == 503 and retry_after.isdigit() and int(retry_after) > 0:
                return False, int(retry_after)
            with seen.lock:
                seen.bad.append(f"HTTP {r.status_code} Retry-After={retry_after!r}: {r.text[:200]}")
            return False, 1

        if send_until_acked(send, seen, stop, down):
            with seen.lock:
                seen.acked.update((sid, trace_id) for sid in ids)


def grpc_worker(node, key, seed, seen, stop, down):
    factory = BatchFactory(random.Random(seed), BATCH_SPANS)
    with grpc.insecure_channel(node.grpc_endpoint) as channel:
        export = grpc_export_raw(channel)
        metadata = (("authorization", f"Bearer {key}"),)
        while not stop.is_set():
            data, trace_id, ids = factory.next()

            def send():
                try:
                    export(data, timeout=30, metadata=metadata)
                except grpc.RpcError as e:
                    seen.count(e.code().name)
                    if e.code() != grpc.StatusCode.UNAVAILABLE:
                        with seen.lock:
                            seen.bad.append(f"gRPC {e.code().name}: {e.details()}")
                    return False, 1
                seen.count("OK")
                return True, 0

            if send_until_acked(send, seen, stop, down):
                with seen.lock:
                    seen.acked.update((sid, trace_id) for sid in ids)


def acked_count(seen):
    with seen.lock:
        return len(seen.acked)


def test_clickhouse_killed_during_ingest_loses_and_duplicates_nothing_acknowledged(
        clickhouse, clickhouse_db, clickhouse_node):
    url = clickhouse.database_url(clickhouse_db)
    key = create_key(url, "fault")["secret_key"]
    node = clickhouse_node(url)
    seen, stop, down = Seen(), threading.Event(), threading.Event()
    workers = [threading.Thread(target=http_worker, args=(node, key, SEED + i, seen, stop, down),
                                daemon=True) for i in range(HTTP_CLIENTS)]
    workers += [threading.Thread(target=grpc_worker, args=(node, key, SEED + 100 + i, seen, stop,
                                                           down), daemon=True)
                for i in range(GRPC_CLIENTS)]
    for w in workers:
        w.start()
    try:
        assert wait_for(lambda: acked_count(seen) >= 20 * BATCH_SPANS, 20), (
            f"ingest did not get going before the fault: {seen.statuses} {seen.bad[:3]}")
        down.set()
        clickhouse.kill()
        before = acked_count(seen)
        # Down for a while: every answer is retryable, nothing new is acknowledged.
        assert wait_for(lambda: seen.refused_while_down >= 10, 10), (
            f"clients saw no refusals while ClickHouse was down: {seen.statuses}")
        time.sleep(0.5)  # a little more downtime, so refusals pile up on every worker
        assert acked_count(seen) <= before + (HTTP_CLIENTS + GRPC_CLIENTS) * BATCH_SPANS, (
            "batches were acknowledged while ClickHouse was down")
        assert node.proc.poll() is None, f"the node died with ClickHouse: {node.log()}"
        clickhouse.restart()
        down.clear()
        during = acked_count(seen)
        assert wait_for(lambda: acked_count(seen) >= during + 20 * BATCH_SPANS, 20), (
            f"ingest did not recover after ClickHouse came back: {seen.statuses} {seen.bad[:3]}")
    finally:
        stop.set()
        for w in workers:
            w.join(40)
    assert not any(w.is_alive() for w in workers), "client threads still running"
    assert not seen.bad, f"answers that were neither success nor retryable: {seen.bad[:5]}"
    assert seen.statuses.get(503, 0) > 0 and seen.statuses.get("UNAVAILABLE", 0) > 0, seen.statuses

    # Straight from ClickHouse: every acknowledged span, exactly once (before any merge).
    rows = clickhouse.rows("SELECT lower(hex(span_id)), count() FROM spans GROUP BY span_id",
                           clickhouse_db)
    counts = {sid: int(n) for sid, n in rows}
    missing = [sid for sid in seen.acked if sid not in counts]
    twice = {sid: n for sid, n in counts.items() if n > 1}
    print(f"statuses {seen.statuses}, {len(seen.acked)} spans acknowledged, {len(counts)} stored")
    assert not missing, f"{len(missing)} of {len(seen.acked)} acknowledged spans are lost: {missing[:5]}"
    assert not twice, f"{len(twice)} spans are stored more than once: {list(twice.items())[:5]}"
    # And through the API: a trace acknowledged during the recovery reads back whole.
    trace_id = seen.acked[max(seen.acked)]
    trace = node.trace(trace_id, key)
    assert trace is not None and len(trace["observations"]) == BATCH_SPANS

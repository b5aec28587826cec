"""The disk budget (issue 15, item 4): at the configured cap, or when the volume itself is full,
ingest answers 507 with Retry-After naming the cap (gRPC RESOURCE_EXHAUSTED with retry info),
reads keep working, nothing acknowledged is lost, the database stays intact, and ingest comes
back without a restart once space is freed. The full-volume test needs a tmpfs it can mount and
is skipped with the reason where mounting is not permitted.
"""

import json
import random
import sqlite3
import subprocess
import time
from pathlib import Path

import grpc
import pytest
import requests

from conftest import BIN, clean_env
from otlp_builders import (
    PROTOBUF, T0, BatchFactory, grpc_export_raw, json_request, json_span, stored_span_ids,
)

MIB = 1 << 20


def export(server, factory):
    """One protobuf batch: (status, retry-after, problem message, span ids)."""
    data, _, ids = factory.next()
    r = requests.post(server.url + "/v1/traces", data=data, timeout=30,
                      headers={"Content-Type": PROTOBUF})
    return r.status_code, r.headers.get("retry-after"), ids


def json_export(server, trace_hex, start=T0):
    """One small JSON batch, whose failure answer is readable: (status, body)."""
    spans = [json_span(trace_hex, f"{i + 1:016x}", start=start, end=start + 1000) for i in range(3)]
    r = requests.post(server.url + "/v1/traces", data=json.dumps(json_request(spans)), timeout=30,
                      headers={"Content-Type": "application/json"})
    return r.status_code, r.text, r.headers.get("retry-after")


def until(predicate, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError(f"not within {timeout}s: {what}")


def ingest_until(server, factory, refusals, what):
    """Sends batches until `refusals` were answered 507: (acknowledged span ids, answers)."""
    acked, statuses = set(), {}

    def fill():
        status, _, ids = export(server, factory)
        statuses[status] = statuses.get(status, 0) + 1
        if status == 200:
            acked.update(ids)
        return statuses.get(507, 0) >= refusals

    until(fill, 60, f"{what}; answers so far {statuses}")
    assert set(statuses) <= {200, 507}, statuses
    return acked, statuses


def integrity(data_dir):
    conn = sqlite3.connect(f"file:{Path(data_dir) / 'sightline.db'}?mode=ro", uri=True)
    try:
        return conn.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        conn.close()


def test_ingest_at_the_configured_disk_cap_gets_507_naming_it_and_recovers_when_retention_frees_space(make_server):
    server = make_server(env={"SIGHTLINE_STORE__MAX_DISK_BYTES": str(3 * MIB)})
    factory = BatchFactory(random.Random(41), 200, 1000)
    ingest_until(server, factory, 1, "ingest refused at the cap")
    # The answer names the cap and how to free space; it is retryable later.
    status, text, retry_after = json_export(server, "ab" * 16)
    assert status == 507, text
    assert "store.max_disk_bytes" in text and "3 MiB" in text and "retention" in text, text
    assert retry_after and int(retry_after) >= 1
    with grpc.insecure_channel(server.grpc_endpoint) as channel:
        data, _, _ = factory.next()
        with pytest.raises(grpc.RpcError) as refused:
            grpc_export_raw(channel)(data, timeout=30)
        assert refused.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        assert "store.max_disk_bytes" in refused.value.details()
        assert dict(refused.value.trailing_metadata() or ()).get("retry-after")
    # Reads keep working, and /metrics shows the budget.
    assert server.get("/api/v1/traces?limit=5").status_code == 200
    metrics = server.get("/metrics").text
    assert f"sightline_store_disk_limit_bytes {3 * MIB}" in metrics, metrics
    assert 'sightline_store_disk_state{state="full"} 1' in metrics
    assert "sightline_store_disk_bytes " in metrics

    # Retention frees the space (the batches' spans are from 2023); ingest resumes, no restart.
    subprocess.run([str(BIN), "retention", "apply", "--days", "1", "--data-dir",
                    str(server.data_dir)], check=True, capture_output=True, env=clean_env())
    now = time.time_ns()
    until(lambda: json_export(server, "cd" * 16, start=now)[0] == 200, 30,
          "ingest accepted again after retention freed space")
    assert server.get("/api/v1/traces/" + "cd" * 16).status_code == 200
    assert integrity(server.data_dir) == "ok"
    assert server.proc.poll() is None


@pytest.fixture
def small_volume(tmp_path):
    """A 24 MiB tmpfs, or a skip saying why there is none."""
    mount = tmp_path / "volume"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=24m", "tmpfs", str(mount)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({done.stderr.strip() or done.returncode}); "
                    "the configured-cap test covers the refusal path")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], capture_output=True)


def test_a_full_volume_refuses_ingest_with_507_loses_nothing_acknowledged_and_recovers(make_server, small_volume):
    data_dir = small_volume / "data"
    # No floor: the volume really fills, and the write the disk refuses must not hurt the store.
    server = make_server(data_dir=str(data_dir), env={"SIGHTLINE_STORE__MIN_FREE_DISK_BYTES": "0"})
    filler = small_volume / "filler"
    with open(filler, "wb") as f:
        while True:
            try:
                f.write(b"\0" * MIB)
                f.flush()
            except OSError:
                break
    filler_size = filler.stat().st_size
    # Leave room for a few batches only.
    with open(filler, "r+b") as f:
        f.truncate(max(0, filler_size - 3 * MIB))
    factory = BatchFactory(random.Random(43), 200, 1000)
    acked, _ = ingest_until(server, factory, 3, "ingest refused on a full volume")
    assert server.proc.poll() is None, server.log()
    status, text, _ = json_export(server, "ef" * 16)
    assert status == 507 and ("full" in text or "floor" in text), text
    assert server.get("/api/v1/traces?limit=5").status_code == 200

    filler.unlink()
    until(lambda: export(server, factory)[0] == 200, 30, "ingest accepted after space was freed")
    server.stop()
    assert integrity(data_dir) == "ok"
    missing = acked - stored_span_ids(data_dir)
    assert not missing, f"{len(missing)} of {len(acked)} acknowledged spans are not stored"

"""Retention as a user runs it on the embedded store: `retention_days` sweeping at start-up,
and `sightline retention apply` for one project while the server runs. Data older than the
cutoff midnight goes; newer data, other projects and everything derived from what remains stay."""

import json
import subprocess
import time

from api_data import hex_id, json_log, json_span, logs_body, post_json, traces_body
from conftest import BIN, clean_env
from otlp_builders import wait_for

MS = 1_000_000
DAY = 86_400 * 1_000_000_000


def export(server, key, label, start_ns, n_spans=2):
    """One trace (a root and children) plus a log inside it; returns the trace id."""
    tid = hex_id(f"{label}/{start_ns}", 16)
    sids = [hex_id(f"{tid}/{i}", 8) for i in range(n_spans)]
    spans = [json_span(tid, sid, f"{label}-{i}", start_ns + i * MS, MS,
                       parent=sids[0] if i else None,
                       attrs={"session.id": f"session-{label}"}) for i, sid in enumerate(sids)]
    post_json(server, "/v1/traces", traces_body([({"service.name": "ret"}, spans)]), key)
    post_json(server, "/v1/logs", logs_body([({"service.name": "ret"}, [
        json_log(start_ns, 9, "INFO", f"log of {label}", trace_id=tid, span_id=sids[0])])]), key)
    return tid


def session_ids(server, key):
    page = server.get("/api/v1/sessions?limit=100", key).json()
    return sorted(s["session_id"] for s in page["data"])


def log_bodies(server, key):
    page = server.get("/api/v1/logs?limit=100&from=0", key).json()
    return sorted(log["body"] for log in page["data"])


def metric(server, name):
    for line in server.get("/metrics").text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[-1])
    return None


def test_retention_days_deletes_old_data_at_start_up(make_server):
    server = make_server()
    now = time.time_ns()
    old = export(server, None, "old", now - 40 * DAY)
    edge = export(server, None, "edge", now - 29 * DAY)
    new = export(server, None, "new", now - 60 * 1_000_000_000)
    assert server.trace(old) is not None
    server.stop()

    server.extra_args = ["--retention-days", "30"]
    server.start()
    assert wait_for(lambda: metric(server, 'sightline_retention_runs_total{outcome="ok"}') == 1,
                    timeout=30), server.log()
    assert server.trace(old) is None
    assert server.trace(edge) is not None and server.trace(new) is not None
    assert session_ids(server, None) == ["session-edge", "session-new"]
    assert log_bodies(server, None) == ["log of edge", "log of new"]
    assert metric(server, 'sightline_retention_deleted_total{kind="spans"}') == 2
    assert metric(server, 'sightline_retention_deleted_total{kind="logs"}') == 1
    cutoff = metric(server, "sightline_retention_cutoff_seconds")
    midnight = (now // DAY - 30) * DAY // 1_000_000_000
    assert cutoff == midnight


def run_apply(*args):
    return subprocess.run([str(BIN), "retention", "apply", *args], capture_output=True, text=True,
                          env=clean_env(), timeout=120)


def test_retention_apply_deletes_one_projects_old_data_while_the_server_runs(make_server):
    server = make_server()
    a = server.create_key("team-a")["secret_key"]
    b = server.create_key("team-b")["secret_key"]
    now = time.time_ns()
    a_old = export(server, a, "a-old", now - 10 * DAY)
    b_old = export(server, b, "b-old", now - 10 * DAY)
    a_new = export(server, a, "a-new", now - 60 * 1_000_000_000)

    out = run_apply("--days", "7", "--project", "team-a", "--data-dir", str(server.data_dir),
                    "--json")
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    assert (result["deleted_spans"], result["deleted_logs"]) == (2, 1), result
    assert result["cutoff_ns"] == (now // DAY - 7) * DAY

    assert server.trace(a_old, a) is None
    assert server.trace(a_new, a) is not None
    assert server.trace(b_old, b) is not None, "another project's data was deleted"
    assert session_ids(server, a) == ["session-a-new"]
    assert log_bodies(server, b) == ["log of b-old"]
    # The server keeps ingesting afterwards.
    export(server, a, "a-later", time.time_ns())
    assert len(session_ids(server, a)) == 2


def test_retention_apply_refuses_bad_arguments_with_the_fix(tmp_path):
    out = run_apply("--days", "0", "--data-dir", str(tmp_path / "d"))
    assert out.returncode != 0 and "--days must be 1 to 36500" in out.stderr, out.stderr
    out = run_apply("--days", "3", "--project", "nobody", "--data-dir", str(tmp_path / "d"))
    assert out.returncode != 0 and '--project: no project is called "nobody"' in out.stderr, \
        out.stderr
    out = run_apply("--days", "3", "--data-dir", str(tmp_path / "d"))
    assert out.returncode == 0 and "deleted 0 spans and 0 log records" in out.stdout, out.stderr

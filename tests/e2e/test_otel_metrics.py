"""OTLP metrics from the real OpenTelemetry Python SDK (HTTP and gRPC exporters, cumulative and
delta temporality): a counter, `gen_ai.client.operation.duration` and `gen_ai.client.token.usage`
(with `gen_ai.token.type`) are stored as series, read back through `/api/v1/metric-series`
with the values recorded, and exposed at `/metrics/otlp`. The series limit refuses new series
with a message naming the metric; traceloop-sdk's metrics export is answered 200.

A 2xx means stored: once `force_flush()` returned and every export succeeded, the points are
readable at once, so nothing here polls."""

import json
import os
import shutil
import subprocess
import sys
import textwrap
import time

import pytest
from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter as GrpcMetricExporter
from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter as HttpMetricExporter
from opentelemetry.sdk.metrics import Counter, Histogram, MeterProvider
from opentelemetry.sdk.metrics.export import (
    AggregationTemporality,
    MetricExporter,
    MetricExportResult,
    PeriodicExportingMetricReader,
)
from opentelemetry.sdk.resources import Resource

from clickhouse_fixture import clickhouse, clickhouse_db, clickhouse_node  # noqa: F401
from conftest import clean_env

PROMTOOL = shutil.which("promtool")
DURATION_BOUNDS = [0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92]
TOKEN_BOUNDS = [1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864]
CHAT = {"gen_ai.operation.name": "chat", "gen_ai.provider.name": "openai", "gen_ai.request.model": "gpt-4o"}


class Recording(MetricExporter):
    """Wraps an exporter and keeps every export result, so a refused export fails the test."""

    def __init__(self, inner):
        super().__init__(preferred_temporality=inner._preferred_temporality)
        self.inner, self.results = inner, []

    def export(self, metrics_data, timeout_millis=10_000, **kwargs):
        result = self.inner.export(metrics_data, timeout_millis=timeout_millis)
        self.results.append(result)
        return result

    def force_flush(self, timeout_millis=10_000):
        return True

    def shutdown(self, timeout_millis=30_000, **kwargs):
        self.inner.shutdown()


def exporter(server, transport, temporality):
    preferred = {Counter: temporality, Histogram: temporality}
    if transport == "http":
        inner = HttpMetricExporter(endpoint=server.url + "/v1/metrics", preferred_temporality=preferred)
    else:
        inner = GrpcMetricExporter(endpoint=server.grpc_endpoint, insecure=True, preferred_temporality=preferred)
    return Recording(inner)


def provider_for(exp, service):
    # The interval is long: exports happen on force_flush only.
    reader = PeriodicExportingMetricReader(exp, export_interval_millis=3_600_000)
    return MeterProvider(metric_readers=[reader], resource=Resource.create({"service.name": service}))


def flush(provider, exp):
    assert provider.force_flush(10_000)
    assert exp.results and all(r == MetricExportResult.SUCCESS for r in exp.results), exp.results


def series(server, name, **params):
    r = server.get("/api/v1/metric-series", params={"name": name, "since": "1h", **params})
    assert r.status_code == 200, r.text
    return r.json()


def totals(answer, field):
    """A field summed over each group's buckets, by group."""
    return {g.get("group"): sum(p[field] for p in g["points"]) for g in answer["groups"]}


def prometheus(server):
    r = server.get("/metrics/otlp")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain"), r.text
    if PROMTOOL:
        check = subprocess.run([PROMTOOL, "check", "metrics"], input=r.content, capture_output=True, timeout=30)
        assert check.returncode == 0, check.stdout.decode() + check.stderr.decode()
    samples = {}
    for line in r.text.splitlines():
        if line and not line.startswith("#"):
            key, value = line.rsplit(" ", 1)
            samples[key] = float(value)
    return samples


def sample(samples, name, **labels):
    """The one sample of `name` whose labels include `labels`."""
    found = []
    for key, value in samples.items():
        metric, _, rest = key.partition("{")
        pairs = dict(p.split("=", 1) for p in rest.rstrip("}").split(",") if p) if rest else {}
        pairs = {k: v.strip('"') for k, v in pairs.items()}
        if metric == name and all(pairs.get(k) == str(v) for k, v in labels.items()):
            found.append(value)
    assert len(found) == 1, f"{name} {labels}: {found}"
    return found[0]


@pytest.mark.parametrize(
    "transport,temporality",
    [("http", AggregationTemporality.CUMULATIVE), ("grpc", AggregationTemporality.DELTA)],
)
def test_sdk_metrics_are_stored_and_read_back(server, transport, temporality):
    check_sdk_metrics(server, transport, temporality)


def test_sdk_metrics_on_clickhouse(clickhouse, clickhouse_db, clickhouse_node):
    node = clickhouse_node(clickhouse.database_url(clickhouse_db))
    check_sdk_metrics(node, "http", AggregationTemporality.CUMULATIVE)


def check_sdk_metrics(server, transport, temporality):
    """Records with the SDK, exports twice, and checks the API and `/metrics/otlp`."""
    service = f"agent-{transport}"
    exp = exporter(server, transport, temporality)
    provider = provider_for(exp, service)
    meter = provider.get_meter("e2e")
    requests_counter = meter.create_counter("app.requests", unit="{request}", description="requests served")
    duration = meter.create_histogram(
        "gen_ai.client.operation.duration", unit="s",
        explicit_bucket_boundaries_advisory=DURATION_BOUNDS,
    )
    tokens = meter.create_histogram(
        "gen_ai.client.token.usage", unit="{token}",
        explicit_bucket_boundaries_advisory=TOKEN_BOUNDS,
    )

    requests_counter.add(3, {"route": "a"})
    requests_counter.add(2, {"route": "b"})
    for seconds in (0.5, 1.5, 3.0):
        duration.record(seconds, CHAT)
    tokens.record(100, {**CHAT, "gen_ai.token.type": "input"})
    tokens.record(20, {**CHAT, "gen_ai.token.type": "output"})
    flush(provider, exp)
    # A second export: cumulative points grow (stored as increases), delta points add.
    requests_counter.add(4, {"route": "a"})
    tokens.record(300, {**CHAT, "gen_ai.token.type": "input"})
    flush(provider, exp)
    provider.shutdown()

    names = server.get("/api/v1/metric-names").json()
    by_name = {m["name"]: m for m in names["metrics"]}
    assert set(by_name) == {"app.requests", "gen_ai.client.operation.duration", "gen_ai.client.token.usage"}
    assert by_name["app.requests"]["kind"] == "sum" and by_name["app.requests"]["monotonic"] is True
    assert by_name["app.requests"]["temporality"] == ("cumulative" if temporality == AggregationTemporality.CUMULATIVE else "delta")
    assert by_name["gen_ai.client.token.usage"]["unit"] == "{token}"
    assert by_name["gen_ai.client.token.usage"]["series"] == 2
    assert names["series_limit"] == 10_000

    counter = series(server, "app.requests", group_by="route")
    assert totals(counter, "increase") == {"a": 7, "b": 2}
    assert max(p["last"] for p in counter["groups"][0]["points"]) == 7, "the running total"

    usage = series(server, "gen_ai.client.token.usage", group_by="gen_ai.token.type")
    assert totals(usage, "count") == {"input": 2, "output": 1}
    assert totals(usage, "sum") == {"input": 400, "output": 20}
    only_input = series(server, "gen_ai.client.token.usage", attribute="gen_ai.token.type=input")
    assert totals(only_input, "count") == {None: 2}
    by_service = series(server, "gen_ai.client.token.usage", group_by="service.name")
    assert totals(by_service, "count") == {service: 3}

    d = series(server, "gen_ai.client.operation.duration", bucket="1h")
    (group,) = d["groups"]
    (point,) = group["points"]
    assert (point["count"], point["sum"]) == (3, 5.0)
    assert point["bounds"] == DURATION_BOUNDS
    assert sum(point["bucket_counts"]) == 3
    assert 0.64 <= point["p50"] <= 2.56 and point["p99"] <= 5.12, point

    samples = prometheus(server)
    assert sample(samples, "app_requests_total", route="a", service_name=service) == 7
    assert sample(samples, "gen_ai_client_operation_duration_seconds_count", service_name=service) == 3
    assert sample(samples, "gen_ai_client_operation_duration_seconds_bucket", le="+Inf") == 3
    assert sample(samples, "gen_ai_client_token_usage_sum", gen_ai_token_type="input") == 400


def test_a_retried_export_is_stored_once_and_unknown_metrics_are_404(server):
    body = json.dumps({"resourceMetrics": [{"scopeMetrics": [{"metrics": [{
        "name": "calls", "sum": {"aggregationTemporality": 1, "isMonotonic": True, "dataPoints": [
            {"timeUnixNano": str(time.time_ns()), "asInt": "4"}]}}]}]}]})
    for _ in range(2):
        r = server.post("/v1/metrics", body)
        assert (r.status_code, r.json()) == (200, {})
    assert totals(series(server, "calls"), "increase") == {None: 4}
    r = server.get("/api/v1/metric-series", params={"name": "nope"})
    assert r.status_code == 404 and "metric-names" in r.json()["message"], r.text
    r = server.get("/api/v1/metric-series")
    assert r.status_code == 400 and r.json()["message"].startswith("name: required"), r.text


def test_new_series_past_the_limit_are_refused_by_name(make_server):
    server = make_server(env={"SIGHTLINE_INGEST__MAX_METRIC_SERIES": "3"})
    now = time.time_ns()

    def export(users):
        points = [{"attributes": [{"key": "user.id", "value": {"stringValue": u}}],
                   "timeUnixNano": str(now), "asInt": "1"} for u in users]
        return json.dumps({"resourceMetrics": [{"scopeMetrics": [{"metrics": [{
            "name": "logins", "sum": {"aggregationTemporality": 1, "isMonotonic": True,
                                      "dataPoints": points}}]}]}]})

    r = server.post("/v1/metrics", export(["u1", "u2", "u3", "u4", "u5"]))
    assert r.status_code == 200, r.text
    partial = r.json()["partialSuccess"]
    assert partial["rejectedDataPoints"] == "2"
    assert partial["errorMessage"].startswith(
        'metric "logins": 2 new series refused: the project has reached its limit of 3 series '
        "(ingest.max_metric_series)"), partial
    # Known series still take points at the limit.
    r = server.post("/v1/metrics", export(["u1"]).replace(str(now), str(now + 1)))
    assert (r.status_code, r.json()) == (200, {})
    assert server.get("/api/v1/metric-names").json()["series"] == 3
    metrics = server.get("/metrics").text
    assert "sightline_metrics_series_refused_total 2" in metrics.splitlines()
    assert 'sightline_ingest_metric_points_total{outcome="refused"} 2' in metrics.splitlines()


TRACELOOP_RUN = textwrap.dedent("""
    import sys
    from opentelemetry import metrics
    from traceloop.sdk import Traceloop

    Traceloop.init(app_name="traceloop-e2e", api_endpoint=sys.argv[1], disable_batch=True,
                   telemetry_enabled=False)
    counter = metrics.get_meter("traceloop-e2e").create_counter("e2e.calls")
    counter.add(2, {"kind": "probe"})
    # At exit traceloop's providers shut down and export (the request that used to get a 404).
""")


def test_traceloop_sdk_metrics_export_is_stored(server, tmp_path):
    script = tmp_path / "traceloop_run.py"
    script.write_text(TRACELOOP_RUN)
    env = clean_env({"TRACELOOP_TELEMETRY": "false", "TRACELOOP_METRICS_ENABLED": "true"})
    run = subprocess.run([sys.executable, str(script), server.url], capture_output=True, text=True,
                         timeout=60, env=env)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "404" not in run.stderr, run.stderr
    lines = server.get("/metrics").text.splitlines()
    ok = [l for l in lines if l.startswith('sightline_ingest_requests_total{receiver="otlp_http_metrics",code="200"}')]
    assert ok and float(ok[0].rsplit(" ", 1)[1]) >= 1, "\n".join(l for l in lines if "otlp_http" in l)
    assert not [l for l in lines if 'receiver="otlp_http_metrics"' in l and 'code="200"' not in l]
    calls = series(server, "e2e.calls")
    assert totals(calls, "increase") == {None: 2}

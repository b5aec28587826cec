"""Prometheus `/metrics`: llm spans for two tenants and several models go in over OTLP/HTTP JSON;
`promtool check metrics` accepts the exposition, a real Prometheus server scraping Sightline
answers the seed's per-tenant query, and every counter equals what was sent."""

import json
import os
import re
import shutil
import subprocess
import time
from decimal import Decimal

import pytest
import requests

from conftest import BIN, clean_env, free_port
from otlp_builders import T0, json_request, json_span

PROMTOOL = shutil.which("promtool")
PROMETHEUS = shutil.which("prometheus")
pytestmark = pytest.mark.skipif(
    not (PROMTOOL and PROMETHEUS),
    reason="needs promtool and prometheus (Debian package `prometheus`; .ci/run installs it)",
)

MS = 1_000_000
BUCKETS = ["0.01", "0.02", "0.04", "0.08", "0.16", "0.32", "0.64", "1.28", "2.56", "5.12",
           "10.24", "20.48", "40.96", "81.92", "+Inf"]
TOKEN_KEYS = {
    "input": "gen_ai.usage.input_tokens",
    "output": "gen_ai.usage.output_tokens",
    "cache_read": "gen_ai.usage.cache_read.input_tokens",
    "cache_write": "gen_ai.usage.cache_write.input_tokens",
    "reasoning": "gen_ai.usage.reasoning.output_tokens",
}


def attr(key, value):
    if isinstance(value, float):
        return {"key": key, "value": {"doubleValue": value}}
    if isinstance(value, int):
        return {"key": key, "value": {"intValue": str(value)}}
    return {"key": key, "value": {"stringValue": value}}


class Sent:
    """The llm calls sent, summed per (tenant, model) the way the server should count them."""

    def __init__(self):
        self.series = {}
        self.spans = 0
        self.seq = 0

    def call(self, tenant, model, ms, tokens, cost_nano, error=False):
        """One llm span (a new trace) and what it should add."""
        self.seq += 1
        self.spans += 1
        attrs = [
            attr("gen_ai.operation.name", "chat"),
            attr("gen_ai.provider.name", "openai"),
            attr("gen_ai.request.model", model),
            attr("gen_ai.agent.name", "planner"),
            attr("tenant.id", tenant),
            attr("workspace.id", f"{tenant}-ws"),
            attr("gen_ai.usage.cost", cost_nano / 1e9),
        ] + [attr(TOKEN_KEYS[t], n) for t, n in tokens.items()]
        if error:
            attrs.append(attr("error.type", "rate_limit"))
        start = T0 + self.seq * 10_000 * MS
        span = json_span(f"{self.seq:032x}", f"{self.seq:016x}", name=f"chat {model}",
                         start=start, end=start + ms * MS, attributes=attrs)
        if error:
            span["status"] = {"code": 2, "message": "rate limited"}
        s = self.series.setdefault((tenant, model), {
            "requests": 0, "errors": 0, "cost": 0, "latency_ns": [],
            "tokens": dict.fromkeys(TOKEN_KEYS, 0),
        })
        s["requests"] += 1
        s["errors"] += int(error)
        s["cost"] += cost_nano
        s["latency_ns"].append(ms * MS)
        for t, n in tokens.items():
            s["tokens"][t] += n
        return span

    def tool(self):
        """A tool span, which the llm series do not count."""
        self.seq += 1
        self.spans += 1
        return json_span(f"{self.seq:032x}", f"{self.seq:016x}", name="execute_tool search",
                         attributes=[attr("gen_ai.operation.name", "execute_tool"),
                                     attr("gen_ai.tool.name", "search"), attr("tenant.id", "acme")])

    def per_tenant(self, field):
        out = {}
        for (tenant, _), s in self.series.items():
            out[tenant] = out.get(tenant, 0) + s[field]
        return out


def wave(sent, factor):
    tok = lambda i, o, **kw: {"input": i * factor, "output": o * factor, **kw}  # noqa: E731
    return [
        sent.call("acme", "gpt-4o", 300, tok(1000, 200, cache_read=100), 12_500_000),
        sent.call("acme", "gpt-4o", 1500, tok(2000, 300, reasoning=50), 25_000_001),
        sent.call("acme", "gpt-4o-mini", 15, tok(100, 10), 150_000),
        sent.call("globex", "claude-3-5-sonnet", 640, tok(500, 500, cache_write=40), 9_000_000),
        sent.call("globex", "claude-3-5-sonnet", 90_000, tok(10, 0), 0, error=True),
        sent.call("globex", "gpt-4o", 50, tok(3, 4), 1),
        sent.tool(),
    ]


def post_spans(server, spans):
    r = server.post("/v1/traces", json.dumps(json_request(spans)))
    assert r.status_code == 200, r.text
    return r


SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$')
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def parse(body):
    """Sample lines as (name, labels dict, value string)."""
    out = []
    for line in body.splitlines():
        if not line or line.startswith("#"):
            continue
        m = SAMPLE.match(line)
        assert m, f"not a sample line: {line!r}"
        out.append((m.group(1), dict(LABEL.findall(m.group(2) or "")), m.group(3)))
    return out


def value(samples, name, **labels):
    found = [v for n, ls, v in samples if n == name and all(ls.get(k) == x for k, x in labels.items())]
    assert len(found) == 1, f"{name}{labels}: {found}"
    return found[0]


def check_counters(samples, sent):
    names = {(ls["tenant_id"], ls["model"]) for n, ls, _ in samples if n == "llm_requests_total"}
    assert names == set(sent.series), names
    for (tenant, model), s in sent.series.items():
        k = {"tenant_id": tenant, "model": model, "workspace_id": f"{tenant}-ws",
             "agent_id": "planner", "provider": "openai"}
        assert int(value(samples, "llm_requests_total", **k)) == s["requests"]
        assert int(value(samples, "llm_errors_total", **k)) == s["errors"]
        for t, n in s["tokens"].items():
            assert int(value(samples, "llm_tokens_total", token_type=t, **k)) == n, (tenant, model, t)
        # The exact decimal the server accumulated in integer nano-USD.
        assert Decimal(value(samples, "llm_cost_usd_total", **k)) == Decimal(s["cost"]) / 10**9
        assert int(value(samples, "llm_latency_seconds_count", **k)) == s["requests"]
        assert Decimal(value(samples, "llm_latency_seconds_sum", **k)) == Decimal(sum(s["latency_ns"])) / 10**9
        for le in BUCKETS:
            bound = float("inf") if le == "+Inf" else Decimal(le) * 10**9
            want = sum(1 for ns in s["latency_ns"] if ns <= bound)
            assert int(value(samples, "llm_latency_seconds_bucket", le=le, **k)) == want, (tenant, model, le)


class Prometheus:
    """A real Prometheus server on a loopback port, scraping one target every second."""

    def __init__(self, tmp_path, target, token=None):
        self.port = free_port()
        self.dir = tmp_path / f"prometheus-{self.port}"
        (self.dir / "data").mkdir(parents=True)
        config = self.dir / "prometheus.yml"
        # The authorization block docs/prometheus.md tells users to write.
        auth = f"    authorization:\n      credentials: {token}\n" if token else ""
        config.write_text(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
            "scrape_configs:\n  - job_name: sightline\n" + auth + "    static_configs:\n"
            f"      - targets: ['{target}']\n"
        )
        self.log = open(self.dir / "prometheus.log", "wb")
        self.proc = subprocess.Popen([
            PROMETHEUS, f"--config.file={config}", f"--storage.tsdb.path={self.dir / 'data'}",
            f"--web.listen-address=127.0.0.1:{self.port}", "--log.level=warn",
        ], stdout=self.log, stderr=self.log)

    def url(self, path):
        return f"http://127.0.0.1:{self.port}{path}"

    def logs(self):
        return (self.dir / "prometheus.log").read_text(errors="replace")[-3000:]

    def wait_ready(self, timeout=60):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, f"prometheus exited: {self.logs()}"
            try:
                if requests.get(self.url("/-/ready"), timeout=1).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.2)
        raise AssertionError(f"prometheus not ready within {timeout}s: {self.logs()}")

    def query(self, promql):
        r = requests.get(self.url("/api/v1/query"), params={"query": promql}, timeout=5)
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["status"] == "success", body
        return {tuple(sorted(x["metric"].items())): float(x["value"][1]) for x in body["data"]["result"]}

    def wait_for(self, promql, done, timeout=60):
        """Polls `promql` (one query per 0.5 s) until `done(result)`; returns the result."""
        deadline = time.monotonic() + timeout
        result = None
        while time.monotonic() < deadline:
            result = self.query(promql)
            if done(result):
                return result
            time.sleep(0.5)
        raise AssertionError(f"{promql} never satisfied the test within {timeout}s: {result}\n{self.logs()}")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self.log.close()


@pytest.fixture
def prometheus_for(tmp_path):
    started = []

    def start(server, token=None):
        p = Prometheus(tmp_path, f"127.0.0.1:{server.http_port}", token)
        started.append(p)
        p.wait_ready()
        return p

    yield start
    for p in started:
        p.stop()


def test_metrics_are_valid_scraped_and_equal_what_was_sent(server, prometheus_for):
    sent = Sent()
    first = wave(sent, 1)
    post_spans(server, first[:4])
    post_spans(server, first[4:])
    post_spans(server, first[:4])  # a client retry: already stored, counts nothing

    r = server.get("/metrics")
    assert r.status_code == 200
    assert r.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    # (a) promtool parses and lints the exposition (HELP/TYPE, names, suffixes, escaping).
    check = subprocess.run([PROMTOOL, "check", "metrics"], input=r.content, capture_output=True, timeout=30)
    assert check.returncode == 0, check.stdout.decode() + check.stderr.decode()
    check_counters(parse(r.text), sent)

    # (b) a real Prometheus scrapes Sightline; after a second wave the seed's query shows a
    # rising request rate for exactly the two tenants.
    prom = prometheus_for(server)
    prom.wait_for('sum by (tenant_id) (llm_requests_total)', lambda res: len(res) == 2)
    post_spans(server, wave(sent, 2))
    rate = prom.wait_for(
        "sum by (tenant_id) (rate(llm_requests_total[5m]))",
        lambda res: len(res) == 2 and all(v > 0 for v in res.values()),
    )
    assert set(rate) == {(("tenant_id", "acme"),), (("tenant_id", "globex"),)}

    # (c) what Prometheus stored and what /metrics says equal what was sent.
    want = {(("tenant_id", t),): float(n) for t, n in sent.per_tenant("requests").items()}
    prom.wait_for("sum by (tenant_id) (llm_requests_total)", lambda res: res == want)
    cost = prom.query("sum by (tenant_id) (llm_cost_usd_total)")
    for tenant, nano in sent.per_tenant("cost").items():
        assert cost[(("tenant_id", tenant),)] == pytest.approx(nano / 1e9, rel=1e-12)
    errors = prom.query("sum by (tenant_id) (llm_errors_total)")
    assert errors == {(("tenant_id", "acme"),): 0.0, (("tenant_id", "globex"),): 2.0}

    samples = parse(server.get("/metrics").text)
    check_counters(samples, sent)
    assert int(value(samples, "sightline_ingest_spans_total", outcome="accepted")) == sent.spans
    assert int(value(samples, "sightline_ingest_spans_total", outcome="duplicate")) == 4
    assert int(value(samples, "sightline_ingest_requests_total", receiver="otlp_http_traces", code="200")) == 4
    assert int(value(samples, "process_resident_memory_bytes")) > 0


def promtool_check(body):
    check = subprocess.run([PROMTOOL, "check", "metrics"], input=body, capture_output=True, timeout=30)
    assert check.returncode == 0, check.stdout.decode() + check.stderr.decode()


def test_empty_exposition_and_awkward_label_values_pass_promtool(server):
    promtool_check(server.get("/metrics").content)  # families declared, no llm samples yet

    tenant, model = 'we"ird\\ten\nant', "modèle-ü"
    sent = Sent()
    post_spans(server, [sent.call(tenant, model, 5, {"input": 1}, 7)])
    r = server.get("/metrics")
    promtool_check(r.content)
    assert 'tenant_id="we\\"ird\\\\ten\\nant"' in r.text
    samples = parse(r.text)
    (labels,) = [ls for n, ls, _ in samples if n == "llm_requests_total"]
    assert labels["model"] == model


SCRAPE_TOKEN = "scrape-0123456789abcdef"


def test_once_keys_exist_metrics_need_an_admin_key_or_the_scrape_token(make_server, prometheus_for):
    server = make_server(env={"SIGHTLINE_SERVER__METRICS_TOKEN": SCRAPE_TOKEN})
    assert server.get("/metrics").status_code == 200, "loopback and no key: open, like the API"
    key = server.create_key("ops")
    refused = server.get("/metrics")
    assert refused.status_code == 401 and refused.json()["code"] == "unauthenticated"
    assert server.get("/metrics", key="not-the-token-0123456789").status_code == 401
    assert server.get("/metrics", key=key["secret_key"]).status_code == 200
    assert server.get("/metrics", key=SCRAPE_TOKEN).status_code == 200
    # A real Prometheus with the documented authorization block scrapes; one without it cannot.
    with_token = prometheus_for(server, token=SCRAPE_TOKEN)
    without = prometheus_for(server)
    with_token.wait_for('up{job="sightline"}', lambda r: r and list(r.values()) == [1.0])
    without.wait_for('up{job="sightline"}', lambda r: r and list(r.values()) == [0.0])
    assert with_token.query("sightline_ingest_spans_total"), "the scraped series are there"


def test_a_short_scrape_token_is_refused_at_start(tmp_path):
    out = subprocess.run(
        [str(BIN), "serve", "--data-dir", str(tmp_path / "data"),
         "--http-addr", f"127.0.0.1:{free_port()}", "--grpc-addr", f"127.0.0.1:{free_port()}"],
        env=clean_env({"SIGHTLINE_SERVER__METRICS_TOKEN": "short"}),
        capture_output=True, text=True, timeout=30,
    )
    assert out.returncode != 0
    assert "server.metrics_token" in out.stderr and "16 characters" in out.stderr, out.stderr

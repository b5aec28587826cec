"""Helpers of the gateway tests: the mock LLM upstream (`sightline bench mock-upstream`) as a
process on a loopback port, a server whose upstreams point at it, and reading back what the
gateway recorded."""

import contextlib
import os
import secrets
import subprocess
import time

import requests

from conftest import BIN, Server, clean_env


class Mock:
    """The mock upstream; `url` is its root (the OpenAI and Anthropic APIs are under /v1)."""

    def __init__(self, *args):
        self.proc = subprocess.Popen(
            [str(BIN), "bench", "mock-upstream", "--port", "0", *args],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=clean_env(),
        )
        line = self.proc.stdout.readline().strip()
        assert line.startswith("listening on "), line
        self.url = "http://" + line.split()[-1]

    def behaviour(self, model, **kw):
        r = requests.post(self.url + "/mock/behaviour", json={"model": model, **kw}, timeout=5)
        assert r.status_code == 204, r.text

    def stats(self):
        return requests.get(self.url + "/mock/stats", timeout=5).json()

    def requests_for(self, model):
        return self.stats()["models"].get(model, {}).get("requests", 0)

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def upstreams(mock):
    """The gateway.upstreams setting pointing every upstream the tests use at the mock."""
    base = mock.url + "/v1"
    return f"openai={base},anthropic={base},backup=openai:{base},claude-backup=anthropic:{base}"


@contextlib.contextmanager
def gateway_server(tmp_path_factory, mock, *args, env=None, data_dir=None):
    """A server for a module, its gateway's upstreams at `mock`."""
    extra = {"SIGHTLINE_GATEWAY__UPSTREAMS": upstreams(mock),
             "SIGHTLINE_GATEWAY__RETRY_BACKOFF_MS": "20", **(env or {})}
    s = Server(data_dir or tmp_path_factory.mktemp("gw-data"), args, extra)
    s.start()
    try:
        yield s
    finally:
        try:
            s.stop(timeout=15)
        except Exception:
            s.kill()


def new_traceparent():
    """A fresh W3C traceparent, and its trace and parent span ids."""
    trace, span = secrets.token_hex(16), secrets.token_hex(8)
    return f"00-{trace}-{span}-01", trace, span


def wait_trace(server, trace_id, key=None, count=1, timeout=15):
    """The trace once it holds `count` observations (recording is asynchronous)."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = server.trace(trace_id, key)
        if last and len(last["observations"]) >= count:
            return last
        time.sleep(0.05)
    raise AssertionError(f"trace {trace_id} has not {count} observations after {timeout}s: {last}")


def llm(trace):
    """The single llm or embedding observation of a trace."""
    calls = [o for o in trace["observations"] if o["kind"] in ("llm", "embedding")]
    assert len(calls) == 1, trace
    return calls[0]


def gw_url(server, upstream="openai"):
    return f"{server.url}/gateway/{upstream}/v1"


def anthropic_url(server, upstream="anthropic"):
    return f"{server.url}/gateway/{upstream}"


def api(server, method, path, key=None, **kw):
    return requests.request(method, server.url + path, headers=server.headers(key), timeout=30, **kw)


def env_flag(name):
    return os.environ.get(name, "") not in ("", "0")

"""Fixtures that run the real `sightline` binary on loopback ports with a fresh data directory."""

import json
import os
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest
import requests

REPO = Path(__file__).resolve().parents[2]
BIN = Path(os.environ.get("SIGHTLINE_BIN", REPO / "target" / "debug" / "sightline"))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def clean_env(extra=None):
    env = {k: v for k, v in os.environ.items() if not k.startswith("SIGHTLINE_")}
    env.update(extra or {})
    return env


class Server:
    """One `sightline serve` process. `restart()` keeps the data directory."""

    def __init__(self, data_dir, extra_args=(), env=None):
        self.data_dir = Path(data_dir)
        self.extra_args = list(extra_args)
        self.env = env or {}
        self.proc = None
        self.http_port = free_port()
        self.grpc_port = free_port()
        self.log_path = self.data_dir.parent / f"serve-{self.http_port}.log"

    @property
    def url(self):
        return f"http://127.0.0.1:{self.http_port}"

    @property
    def grpc_endpoint(self):
        return f"127.0.0.1:{self.grpc_port}"

    def args(self):
        return [
            str(BIN), "serve",
            "--data-dir", str(self.data_dir),
            "--http-addr", f"127.0.0.1:{self.http_port}",
            "--grpc-addr", f"127.0.0.1:{self.grpc_port}",
            *self.extra_args,
        ]

    def start(self, timeout=30):
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(self.args(), stdout=log, stderr=log, env=clean_env(self.env))
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"sightline exited with {self.proc.returncode}: {self.log()}")
            try:
                if requests.get(self.url + "/health", timeout=1).status_code == 200:
                    return self
            except requests.RequestException:
                pass
            time.sleep(0.05)
        raise RuntimeError(f"sightline did not answer /health within {timeout}s: {self.log()}")

    def log(self):
        try:
            return self.log_path.read_text(errors="replace")[-4000:]
        except OSError:
            return ""

    def stop(self, sig=signal.SIGTERM, timeout=30):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            self.proc.wait(timeout=timeout)
        return self.proc.returncode if self.proc else None

    def kill(self):
        return self.stop(signal.SIGKILL)

    def restart(self):
        self.stop()
        return self.start()

    def rss_kib(self):
        """Current and peak resident memory of the server, in KiB."""
        status = Path(f"/proc/{self.proc.pid}/status").read_text()
        fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        return int(fields["VmRSS"].split()[0]), int(fields["VmHWM"].split()[0])

    def headers(self, key=None):
        return {"Authorization": f"Bearer {key}"} if key else {}

    def get(self, path, key=None, **kw):
        return requests.get(self.url + path, headers=self.headers(key), timeout=10, **kw)

    def post(self, path, data, content_type="application/json", key=None, headers=None, **kw):
        h = {"Content-Type": content_type, **self.headers(key), **(headers or {})}
        return requests.post(self.url + path, data=data, headers=h, timeout=30, **kw)

    def trace(self, trace_id, key=None):
        """The trace tree with payloads, or None when it is not found."""
        r = self.get(f"/api/v1/traces/{trace_id}?payloads=true", key)
        return r.json() if r.status_code == 200 else None

    def create_key(self, project):
        out = subprocess.run(
            [str(BIN), "keys", "create", "--project", project, "--json", "--data-dir", str(self.data_dir)],
            check=True, capture_output=True, text=True, env=clean_env(),
        )
        return json.loads(out.stdout)


def trace_logs(trace):
    """Every log of a trace answer, by time: the loose ones and those inside observations."""
    logs = list(trace["logs"]) + [log for o in trace["observations"] for log in o["logs"]]
    return sorted(logs, key=lambda log: log["time_ns"])


@pytest.fixture
def make_server(tmp_path):
    """Factory: `make_server(*extra_args)` starts a server; all are stopped at teardown."""
    servers = []

    def make(*extra_args, data_dir=None, env=None, start=True):
        s = Server(data_dir or tempfile.mkdtemp(dir=tmp_path, prefix="data-"), extra_args, env)
        servers.append(s)
        return s.start() if start else s

    yield make
    for s in servers:
        try:
            s.stop(timeout=10)
        except Exception:
            s.kill()


@pytest.fixture
def server(make_server):
    return make_server()

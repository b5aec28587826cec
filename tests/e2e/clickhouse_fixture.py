"""Throwaway ClickHouse servers for e2e tests: started by scripts/clickhouse-test-server.sh once
per test module, each test in its own database. Import the fixtures into a test module:

    from clickhouse_fixture import clickhouse, clickhouse_db, clickhouse_node  # noqa: F401
"""

import json
import os
import signal
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

import pytest
import requests

from conftest import BIN, REPO, Server, clean_env

SCRIPT = REPO / "scripts" / "clickhouse-test-server.sh"


class ClickHouse:
    """One test server: its URL, and kill/restart on the same port and data for fault tests."""

    def __init__(self, url):
        self.url = url.rstrip("/") + "/"
        self.port = int(self.url.rstrip("/").rsplit(":", 1)[1])
        self.state_dir = Path(os.environ.get("TMPDIR", "/tmp")) / f"sightline-clickhouse-{self.port}"

    def query(self, sql, database=None, timeout=30):
        """Runs `sql` and returns the answer as text (TabSeparated unless the SQL says FORMAT)."""
        params = {"database": database} if database else {}
        r = requests.post(self.url, params=params, data=sql.encode(), timeout=timeout)
        assert r.status_code == 200, f"ClickHouse refused {sql!r}: {r.text[:500]}"
        return r.text

    def rows(self, sql, database=None):
        return [line.split("\t") for line in self.query(sql, database).splitlines() if line]

    def database_url(self, database):
        return f"{self.url}?database={database}"

    def kill(self):
        """SIGKILLs the server process (its data dir stays for `restart`)."""
        pid = int((self.state_dir / "pid").read_text())
        os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                requests.get(self.url + "ping", timeout=0.5)
            except requests.RequestException:
                return
            time.sleep(0.05)
        raise AssertionError("ClickHouse still answers after SIGKILL")

    def restart(self):
        subprocess.run([str(SCRIPT), "restart", self.url], check=True, capture_output=True,
                       text=True, timeout=60)


def start_servers(n=None):
    """Starts one server (n=None) or an n-shard cluster `sightline_test`; stopped when the test
    process exits even if it dies."""
    args = ["start"] if n is None else ["start-cluster", str(n)]
    out = subprocess.run([str(SCRIPT), *args, "--owner-pid", str(os.getpid())],
                         capture_output=True, text=True, timeout=120)
    if out.returncode != 0:
        pytest.fail(f"could not start a test ClickHouse: {out.stderr[-2000:]}")
    return [ClickHouse(line) for line in out.stdout.split()]


def stop_servers(servers):
    for s in servers:
        subprocess.run([str(SCRIPT), "stop", s.url], capture_output=True, timeout=60)


@pytest.fixture(scope="module")
def clickhouse():
    servers = start_servers()
    yield servers[0]
    stop_servers(servers)


@pytest.fixture(scope="module")
def clickhouse_shards():
    """Two servers, two shards of the cluster `sightline_test`; shard 1 first."""
    servers = start_servers(2)
    yield servers
    stop_servers(servers)


@pytest.fixture
def clickhouse_db(request):
    """A fresh database name for this test."""
    name = "".join(c if c.isalnum() else "_" for c in request.node.name)[:40]
    return f"e2e_{name}_{uuid.uuid4().hex[:8]}"


def create_key(clickhouse_url, project, extra_args=()):
    """`sightline keys create` straight against the ClickHouse store."""
    out = subprocess.run(
        [str(BIN), "keys", "create", "--project", project, "--json", "--store", "clickhouse",
         "--clickhouse-url", clickhouse_url, *extra_args],
        check=True, capture_output=True, text=True, env=clean_env(), timeout=60,
    )
    return json.loads(out.stdout)


@pytest.fixture
def clickhouse_node(tmp_path):
    """Factory: `clickhouse_node(url, *extra_args)` starts a Sightline node on the ClickHouse
    store at `url`; all are stopped at teardown."""
    nodes = []

    def make(url, *extra_args, env=None):
        data_dir = tempfile.mkdtemp(dir=tmp_path, prefix="node-")
        node = Server(data_dir, ["--store", "clickhouse", "--clickhouse-url", url, *extra_args], env)
        nodes.append(node)
        return node.start()

    yield make
    for n in nodes:
        try:
            n.stop(timeout=10)
        except Exception:
            n.kill()

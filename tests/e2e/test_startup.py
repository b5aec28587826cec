"""`sightline serve` start-up: the refusal to listen beyond loopback without keys, configuration
from a TOML file and `SIGHTLINE_*` variables (environment wins, unknown keys are errors), and the
default data directory."""

import json
import socket
import subprocess
import time

import pytest
import requests

from conftest import BIN, clean_env, free_port


@pytest.fixture
def spawn(tmp_path):
    """Starts `sightline` with the given args; every process is ended at teardown."""
    procs = []

    def start(*args, env=None, cwd=None):
        log = open(tmp_path / f"proc-{len(procs)}.log", "wb")
        p = subprocess.Popen([str(BIN), *args], stdout=log, stderr=subprocess.STDOUT,
                             env=clean_env(env), cwd=cwd or tmp_path)
        p.log_path = log.name
        procs.append(p)
        return p

    yield start
    for p in procs:
        if p.poll() is None:
            p.terminate()
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(timeout=10)


def output_of(proc):
    with open(proc.log_path, errors="replace") as f:
        return f.read()


def wait_healthy(proc, port, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"sightline exited with {proc.returncode}: {output_of(proc)[-3000:]}")
        try:
            if requests.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.05)
    pytest.fail(f"no /health on port {port} within {timeout}s: {output_of(proc)[-3000:]}")


def run_to_exit(*args, env=None, cwd=None, timeout=20):
    """Runs a command that must exit by itself; `subprocess.run` kills it on timeout."""
    return subprocess.run([str(BIN), *args], capture_output=True, text=True, timeout=timeout,
                          env=clean_env(env), cwd=cwd)


def loopback_grpc():
    return ["--grpc-addr", f"127.0.0.1:{free_port()}"]


def test_public_listener_without_keys_is_refused(tmp_path):
    port = free_port()
    out = run_to_exit("serve", "--data-dir", str(tmp_path / "data"),
                      "--http-addr", f"0.0.0.0:{port}", *loopback_grpc())
    assert out.returncode != 0
    message = out.stderr + out.stdout
    assert "--allow-unauthenticated" in message
    assert "keys create" in message
    with pytest.raises(requests.ConnectionError):
        requests.get(f"http://127.0.0.1:{port}/health", timeout=1)


def test_public_listener_with_allow_unauthenticated_starts(spawn, tmp_path):
    port = free_port()
    proc = spawn("serve", "--data-dir", str(tmp_path / "data"), "--http-addr", f"0.0.0.0:{port}",
                 *loopback_grpc(), "--allow-unauthenticated")
    wait_healthy(proc, port)
    r = requests.get(f"http://127.0.0.1:{port}/api/v1/traces/{'ab' * 16}", timeout=5)
    assert r.status_code == 404, "anonymous read should reach project default"
    # /metrics names every project's tenants: beyond loopback it needs a key or the scrape token.
    metrics = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=5)
    assert metrics.status_code == 401, metrics.text
    assert metrics.json()["code"] == "unauthenticated"
    assert "metrics_token" in metrics.json()["message"]


def test_public_listener_with_a_key_starts_and_requires_it(spawn, tmp_path):
    data = tmp_path / "data"
    # The first key of a new store: --init creates it (the keys commands never do by accident).
    created = run_to_exit("keys", "create", "--project", "ops", "--json", "--data-dir", str(data),
                          "--init")
    assert created.returncode == 0, created.stderr
    key = json.loads(created.stdout)
    assert key["project"] == "ops" and key["secret_key"] and key["public_key"]

    port = free_port()
    proc = spawn("serve", "--data-dir", str(data), "--http-addr", f"0.0.0.0:{port}", *loopback_grpc())
    wait_healthy(proc, port)
    url = f"http://127.0.0.1:{port}/api/v1/traces/{'ab' * 16}"
    anonymous = requests.get(url, timeout=5)
    assert anonymous.status_code == 401 and anonymous.json()["code"] == "unauthenticated"
    assert requests.get(url, headers={"Authorization": f"Bearer {key['secret_key']}"},
                        timeout=5).status_code == 404
    metrics = f"http://127.0.0.1:{port}/metrics"
    assert requests.get(metrics, timeout=5).status_code == 401
    admin = requests.get(metrics, headers={"Authorization": f"Bearer {key['secret_key']}"}, timeout=5)
    assert admin.status_code == 200 and "sightline_ingest_spans_total" in admin.text


def test_unknown_environment_variable_is_an_error(tmp_path):
    out = run_to_exit("serve", "--data-dir", str(tmp_path / "data"),
                      "--http-addr", f"127.0.0.1:{free_port()}", *loopback_grpc(),
                      env={"SIGHTLINE_FOO": "1"})
    assert out.returncode != 0
    assert "SIGHTLINE_FOO" in out.stderr
    assert not (tmp_path / "data").exists(), "nothing should be created for a bad configuration"


def test_unknown_config_file_key_is_an_error(tmp_path):
    config = tmp_path / "sightline.toml"
    config.write_text(f'http_addr = "127.0.0.1:{free_port()}"\nmax_body_megabytes = 5\n')
    out = run_to_exit("serve", "--data-dir", str(tmp_path / "data"), "--config", str(config),
                      *loopback_grpc())
    assert out.returncode != 0
    assert "max_body_megabytes" in out.stderr


def test_environment_overrides_config_file_and_flags_override_environment(spawn, tmp_path):
    file_http, env_http, flag_http, file_grpc = free_port(), free_port(), free_port(), free_port()
    config = tmp_path / "sightline.toml"
    config.write_text(
        f'data_dir = "{tmp_path / "from-file"}"\n'
        f'http_addr = "127.0.0.1:{file_http}"\n'
        f'grpc_addr = "127.0.0.1:{file_grpc}"\n'
    )
    proc = spawn("serve", "--config", str(config), env={"SIGHTLINE_HTTP_ADDR": f"127.0.0.1:{env_http}"})
    wait_healthy(proc, env_http)
    with pytest.raises(requests.ConnectionError):
        requests.get(f"http://127.0.0.1:{file_http}/health", timeout=1)
    # The settings the environment does not name still come from the file.
    assert (tmp_path / "from-file").is_dir()
    socket.create_connection(("127.0.0.1", file_grpc), timeout=2).close()
    proc.terminate()
    assert proc.wait(timeout=20) == 0

    # SIGHTLINE_CONFIG names the file too, and a flag beats the environment.
    proc = spawn("serve", "--http-addr", f"127.0.0.1:{flag_http}",
                 env={"SIGHTLINE_CONFIG": str(config), "SIGHTLINE_HTTP_ADDR": f"127.0.0.1:{env_http}"})
    wait_healthy(proc, flag_http)
    with pytest.raises(requests.ConnectionError):
        requests.get(f"http://127.0.0.1:{env_http}/health", timeout=1)


def test_default_data_dir_is_created_in_the_working_directory(spawn, tmp_path):
    cwd = tmp_path / "workdir"
    cwd.mkdir()
    port = free_port()
    proc = spawn("serve", "--http-addr", f"127.0.0.1:{port}", *loopback_grpc(), cwd=cwd)
    wait_healthy(proc, port)
    data = cwd / "sightline-data"
    assert data.is_dir()
    assert any(data.iterdir()), "the store should have written its files"
    proc.terminate()
    assert proc.wait(timeout=20) == 0

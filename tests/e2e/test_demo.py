"""`sightline demo` against a real server: the multi-agent traffic it sends is stored whole
(an orchestrator and its worker agents, llm calls from several providers with costs, tool calls,
retries, failed traces, sessions of several traces, logs tied to their spans), and a wrong URL or
key gives a message that names it. Trace ids come from the demo's own output (one line per trace).
"""

import re
import subprocess
from collections import defaultdict

import requests

from conftest import BIN, clean_env, free_port

TRACE_LINE = re.compile(r"^trace ([0-9a-f]{32}) ", re.M)


def demo(*args, env=None):
    return subprocess.run(
        [str(BIN), "demo", *args], capture_output=True, text=True, timeout=120, env=clean_env(env),
    )


def fetch(server, trace_id, key=None):
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    r = requests.get(f"{server.url}/api/v1/traces/{trace_id}", params={"payloads": "true"},
                     headers=headers, timeout=10)
    assert r.status_code == 200, r.text
    return r.json()


def all_logs(trace):
    """Logs of the trace, whether attached to an observation or at the top level."""
    return trace.get("logs", []) + [l for o in trace["observations"] for l in o.get("logs", [])]


def test_demo_traffic_is_stored_with_agents_costs_tools_errors_sessions_and_logs(server):
    out = demo("--url", server.url, "--traces", "20", "--rate", "20", "--seed", "7")
    assert out.returncode == 0, out.stderr
    ids = TRACE_LINE.findall(out.stdout)
    assert len(ids) == 20 and len(set(ids)) == 20, out.stdout
    assert "sent 20 traces" in out.stdout and "sightline traces" in out.stdout, out.stdout

    traces = [fetch(server, i) for i in ids]
    obs = [o for t in traces for o in t["observations"]]

    # An orchestrator root delegating to worker agents.
    for t in traces:
        root = [o for o in t["observations"] if "parent_span_id" not in o]
        assert len(root) == 1 and root[0]["kind"] == "agent" and root[0]["agent_name"] == "orchestrator"
        assert root[0]["tenant_id"] and root[0]["user_id"] and root[0]["session_id"]
        workers = [o for o in t["observations"]
                   if o["kind"] == "agent" and o.get("parent_span_id") == root[0]["span_id"]]
        assert workers, t["trace_id"]
    worker_names = {o["agent_name"] for o in obs if o["kind"] == "agent"} - {"orchestrator"}
    assert len(worker_names) >= 3, worker_names

    # llm calls across providers, priced from the bundled table.
    llm = [o for o in obs if o["kind"] == "llm"]
    assert len({o["provider"] for o in llm}) >= 3, {o["provider"] for o in llm}
    answered = [o for o in llm if not o["is_error"]]
    assert answered and all(o["usage"]["input"] > 0 and o["usage"]["output"] > 0 for o in answered)
    unpriced = [(o["provider"], o["model"], o["cost"]) for o in answered
                if o["cost"].get("source") != "computed" or not o["cost"].get("nano_usd")]
    assert not unpriced, unpriced
    assert any(o["usage"].get("cache_read", 0) > 0 for o in answered)
    assert all(o["input"] and o["output"] for o in answered)
    assert all(t["summary"]["cost_nano_usd"] > 0 for t in traces)

    # Tool calls with arguments and results.
    tools = [o for o in obs if o["kind"] == "tool"]
    assert tools and all(o["tool_name"] and o["tool_call_id"] and o["tool_arguments"] for o in tools)
    assert any("tool_result" in o for o in tools)

    # Two blocks of ten: two failed traces, and retried llm calls inside traces that succeeded.
    failed = [t for t in traces if t["summary"]["error_count"] > 0
              and any(o["is_error"] and "parent_span_id" not in o for o in t["observations"])]
    assert len(failed) == 2, [t["summary"] for t in failed]
    retried = [o for o in llm if o["is_error"] and o["error"]["type"] and o["error"].get("stacktrace")
               and any(r["parent_span_id"] == o["parent_span_id"] and not r["is_error"]
                       and r["name"] == o["name"] and r["start_ns"] >= o["end_ns"] for r in llm)]
    assert len(retried) >= 6, len(retried)

    # Sessions span several traces of one user.
    sessions = defaultdict(list)
    for t in traces:
        sessions[t["summary"]["session_id"]].append(t["summary"]["user_id"])
    assert any(len(users) >= 2 for users in sessions.values()), sessions
    assert all(len(set(users)) == 1 for users in sessions.values())

    # Logs tied to their trace, span, agent and session, at several levels.
    span_ids = {(o["trace_id"], o["span_id"]) for o in obs}
    logs = [l for t in traces for l in all_logs(t)]
    assert len(logs) >= 3 * len(traces)
    assert all((l["trace_id"], l["span_id"]) in span_ids for l in logs)
    assert all(l["session_id"] and l["agent_name"] and l["body"] for l in logs)
    assert {"DEBUG", "INFO", "WARN", "ERROR"} <= {l["severity_text"] for l in logs}


def test_demo_names_the_url_when_no_server_answers():
    url = f"http://127.0.0.1:{free_port()}"
    out = demo("--url", url, "--traces", "1")
    assert out.returncode != 0
    assert f"cannot reach the server at {url}" in out.stderr and "--url" in out.stderr, out.stderr


def test_demo_needs_the_key_of_a_server_with_keys(server):
    key = server.create_key("demo")["secret_key"]
    missing = demo("--url", server.url, "--traces", "1")
    assert missing.returncode != 0
    assert server.url in missing.stderr and "--api-key" in missing.stderr, missing.stderr
    wrong = demo("--url", server.url, "--traces", "1", "--api-key", "sk-not-a-key")
    assert wrong.returncode != 0 and "refused the API key" in wrong.stderr, wrong.stderr
    # The server's own message, as text: not the protobuf bytes of its google.rpc.Status.
    assert "(401 Unauthorized: missing Authorization header" in missing.stderr, missing.stderr
    assert "(401 Unauthorized: invalid API key" in wrong.stderr, wrong.stderr
    for out in (missing, wrong):
        assert not any(c < " " and c not in "\n\t" for c in out.stderr), repr(out.stderr)

    ok = demo("--traces", "2", "--rate", "20", env={"SIGHTLINE_URL": server.url, "SIGHTLINE_API_KEY": key})
    assert ok.returncode == 0, ok.stderr
    ids = TRACE_LINE.findall(ok.stdout)
    assert len(ids) == 2
    assert fetch(server, ids[0], key)["observations"]

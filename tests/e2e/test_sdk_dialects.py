"""Real SDKs nobody here wrote, against the real binary, and models as people name them.

The Langfuse OpenAI drop-in (Chat Completions and Responses) and OpenLLMetry (traceloop-sdk)
call a mock OpenAI upstream on 127.0.0.1 and export to the server; each scenario is the one the
normalization fixtures were captured from (tests/fixtures/sdk/capture.py) and runs in its own
process, so one SDK's global instrumentation never reaches another test. Then the demo's
traffic: `sightline traces --model gpt-4o` finds its gpt-4o traces and none of gpt-4o-mini's.
"""

import json
import subprocess
import sys

from conftest import BIN, REPO, clean_env
from mock_openai import MockOpenAI

sys.path.insert(0, str(REPO / "tests" / "fixtures" / "sdk"))
import capture  # noqa: E402

# What the mock's usage costs at the bundled prices: gpt-4o, 200 uncached + 1000 cached input
# and 300 output tokens; gpt-4o-mini, 300 uncached + 500 cached input and 200 output tokens.
GPT_4O_COST = 4_750_000
GPT_4O_MINI_COST = 202_500


def run_scenario(server, name, upstream_calls=1):
    """Runs an SDK scenario against `server` in a project of its own; returns its key."""
    key = server.create_key(name.replace("_", "-"))
    with MockOpenAI() as openai:
        capture.run(name, server.url, openai.base_url, key["public_key"], key["secret_key"])
        assert len(openai.requests) == upstream_calls, openai.requests
    return key


def api(server, key, path, **params):
    r = server.get(path, key["secret_key"], params=params)
    assert r.status_code == 200, r.text
    return r.json()


def traces(server, key, **params):
    return api(server, key, "/api/v1/traces", since="1h", limit=100, **params)["data"]


def only_trace(server, key):
    listed = traces(server, key)
    assert len(listed) == 1, listed
    return server.trace(listed[0]["trace_id"], key["secret_key"])


def test_langfuse_openai_drop_in_chat_completions(server):
    key = run_scenario(server, "langfuse_openai_chat")
    trace = only_trace(server, key)
    # propagate_attributes(trace_name=...) names the trace; the root is the generation.
    assert trace["summary"]["root_name"] == "capital-question"
    [gen] = trace["observations"]
    assert gen["name"] == "OpenAI-generation" and gen["kind"] == "llm"
    assert gen["model"] == "gpt-4o-2024-08-06"
    # OpenAI's usage keys in usage_details: stored as sent, not {} and a tiktoken guess.
    assert gen["usage"] == {"input": 1200, "output": 300, "total": 1500, "cache_read": 1000,
                            "reasoning": 100}
    assert gen["cost"]["source"] == "computed"
    assert gen["cost"]["nano_usd"] == GPT_4O_COST
    assert (gen["user_id"], gen["session_id"]) == ("u-42", "s-7")
    assert [(m["role"], m["content"]) for m in gen["input"]["messages"]] == [
        ("system", "Answer in one word."), ("user", "What is the capital of France?")]
    assert gen["output"]["messages"][0]["content"] == "Paris."
    assert gen["attributes"]["langfuse.release"] == "v1.2.3"
    assert gen["attributes"]["langfuse.environment"] == "staging"
    assert "langfuse.observation.usage_details" not in gen["attributes"]
    s = trace["summary"]
    assert (s["input_tokens"], s["output_tokens"], s["cost_nano_usd"]) == (1200, 300, GPT_4O_COST)
    assert (s["user_id"], s["session_id"]) == ("u-42", "s-7")
    # The model as people name it.
    assert len(traces(server, key, model="gpt-4o")) == 1
    assert len(traces(server, key, model="gpt-4o-2024-08-06")) == 1
    assert traces(server, key, model="gpt-4o-mini") == []


def test_langfuse_openai_drop_in_responses_api(server):
    key = run_scenario(server, "langfuse_openai_responses")
    [gen] = only_trace(server, key)["observations"]
    assert gen["model"] == "gpt-4o-mini-2024-07-18"
    assert gen["usage"] == {"input": 800, "output": 200, "total": 1000, "cache_read": 500,
                            "reasoning": 50}
    assert gen["cost"]["nano_usd"] == GPT_4O_MINI_COST
    assert gen["input"] == {"value": "What is the capital of France?"}


def test_langfuse_own_usage_cost_keys_and_trace_io(server):
    key = run_scenario(server, "langfuse_trace_io", upstream_calls=0)
    trace = only_trace(server, key)
    obs = {o["name"]: o for o in trace["observations"]}
    gen, root = obs["answer"], obs["handle-request"]
    # Langfuse's disjoint buckets, added back; its own cost details, summed.
    assert gen["usage"] == {"input": 100, "output": 15, "total": 115, "cache_read": 80,
                            "reasoning": 5}
    assert gen["cost"] == {"nano_usd": 234_000, "source": "provided"}
    assert root["input"] == {"value": {"q": "capital of France?"}}
    # The root has its own input, so the trace's stays an attribute.
    assert json.loads(root["attributes"]["langfuse.trace.input"]) == {
        "question": "capital of France?"}
    assert trace["summary"]["root_name"] == "handle-request"
    rows = api(server, key, "/api/v1/costs", since="1h", group_by="model_family")["rows"]
    assert [(r["group"]["model_family"], r["requests"]) for r in rows] == [
        ("claude-3-5-sonnet", 1)]


def test_openllmetry_decorators_association_properties_and_openai(server):
    key = run_scenario(server, "traceloop_workflow")
    trace = only_trace(server, key)
    obs = {o["name"]: o for o in trace["observations"]}
    assert set(obs) == {"capital_question.workflow", "prepare.task", "geo_agent.agent",
                        "lookup_capital.tool", "openai.chat"}
    kinds = {name: o["kind"] for name, o in obs.items()}
    assert kinds == {"capital_question.workflow": "chain", "prepare.task": "chain",
                     "geo_agent.agent": "agent", "lookup_capital.tool": "tool",
                     "openai.chat": "llm"}
    for o in obs.values():
        assert (o["user_id"], o["session_id"], o["tenant_id"]) == ("u-tl", "s-tl", "acme")
        assert o["attributes"]["traceloop.association.properties.plan"] == "pro"
    workflow = obs["capital_question.workflow"]
    assert workflow["input"] == {"value": {"args": ["  What is the capital of France?  "],
                                           "kwargs": {}}}
    assert workflow["output"] == {"value": "Paris."}
    assert obs["lookup_capital.tool"]["tool_name"] == "lookup_capital"
    assert obs["lookup_capital.tool"]["output"] == {
        "value": {"country": "France", "capital": "Paris"}}
    assert obs["geo_agent.agent"]["agent_name"] == "geo_agent"
    llm = obs["openai.chat"]
    assert (llm["request_model"], llm["response_model"]) == ("gpt-4o", "gpt-4o-2024-08-06")
    assert llm["usage"] == {"input": 1200, "output": 300, "total": 1500, "cache_read": 1000,
                            "reasoning": 100}
    assert llm["cost"]["nano_usd"] == GPT_4O_COST
    s = trace["summary"]
    assert (s["user_id"], s["session_id"], s["tenant_id"]) == ("u-tl", "s-tl", "acme")
    assert s["root_name"] == "capital_question.workflow"
    rows = api(server, key, "/api/v1/costs", since="1h", group_by="request_model,model")["rows"]
    assert [(r["group"]["request_model"], r["group"]["model"]) for r in rows] == [
        ("gpt-4o", "gpt-4o-2024-08-06")]


def cli_json(server, *args):
    out = subprocess.run([str(BIN), *args, "--json"], capture_output=True, text=True, timeout=60,
                         env=clean_env({"SIGHTLINE_URL": server.url}))
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def test_demo_traces_by_model_family(server):
    out = subprocess.run([str(BIN), "demo", "--url", server.url, "--traces", "30", "--rate", "30",
                          "--seed", "11"], capture_output=True, text=True, timeout=120,
                         env=clean_env())
    assert out.returncode == 0, out.stderr
    with_model = {}
    for t in cli_json(server, "traces", "--since", "1h", "--limit", "100")["data"]:
        tree = server.trace(t["trace_id"])
        models = {o.get("model") for o in tree["observations"] if o["kind"] == "llm"}
        with_model[t["trace_id"]] = models
    assert len(with_model) == 30
    gpt_4o = {t for t, m in with_model.items() if "gpt-4o-2024-08-06" in m}
    mini = {t for t, m in with_model.items() if "gpt-4o-mini-2024-07-18" in m}
    assert gpt_4o and mini and len(gpt_4o) < 30, "the demo has traces of each, and others"
    # README's example: `sightline traces --model gpt-4o`: the traces with a gpt-4o call, none
    # with only gpt-4o-mini calls.
    found = {t["trace_id"] for t in
             cli_json(server, "traces", "--since", "1h", "--limit", "100", "--model", "gpt-4o")["data"]}
    assert found == gpt_4o
    assert not found & (mini - gpt_4o)
    # And the calls themselves: gpt-4o's snapshots, never gpt-4o-mini's.
    r = server.get("/api/v1/observations", params={"since": "1h", "limit": 500, "model": "gpt-4o"})
    assert r.status_code == 200, r.text
    assert {o["model"] for o in r.json()["data"]} == {"gpt-4o-2024-08-06"}
    found_mini = {t["trace_id"] for t in cli_json(
        server, "traces", "--since", "1h", "--limit", "100", "--model", "gpt-4o-mini")["data"]}
    assert found_mini == mini
    # Costs by family put every snapshot of a family on one row.
    costs = cli_json(server, "costs", "--since", "1h", "--by", "model_family")
    families = {r["group"].get("model_family") for r in costs["rows"]}
    assert {"gpt-4o", "gpt-4o-mini"} <= families
    assert not any(f and f.endswith(("-2024-08-06", "-2024-07-18")) for f in families)

"""Per-project prices (docs/api.md "Prices"): an API override prices project A's calls ingested
afterwards and nothing else (not B's, not A's earlier ones); list and lookup show it for A only;
the `sightline prices` CLI sets, looks up, lists and deletes overrides; a config-file override
prices a made-up model; OpenAI calls without usage are estimated from their text; bad override
bodies are 400s naming the field."""

import json
import subprocess
import time
from decimal import Decimal

import pytest
import requests
from api_data import MS, MINUTE, get_ok, hex_id, messages, post_json, problem, running_server, json_span, traces_body
from conftest import BIN, clean_env

MODEL = "gpt-4o"
TOKENS_IN, TOKENS_OUT = 1000, 500
# The override's rates (USD per million tokens) and what a (1000 in, 500 out) call costs at them.
OVERRIDE = {"provider": "openai", "model": MODEL, "input": "2.5", "output": "12"}
OVERRIDE_NANO = 1000 * 2_500 + 500 * 12_000


def nano(entry, tokens_in, tokens_out):
    """The cost in nano-USD of a call at `entry`'s input and output rates (USD per 1M tokens)."""
    usd = (Decimal(entry["input"]) * tokens_in + Decimal(entry["output"]) * tokens_out) / 1_000_000
    return int(usd * 1_000_000_000)


def llm_trace(label, model, attrs=None, usage=True):
    """A one-span trace: an llm call to `model` at openai, with usage unless told otherwise."""
    tid = hex_id(f"prices/{label}", 16)
    a = {"gen_ai.operation.name": "chat", "gen_ai.request.model": model, "gen_ai.provider.name": "openai"}
    if usage:
        a.update({"gen_ai.usage.input_tokens": TOKENS_IN, "gen_ai.usage.output_tokens": TOKENS_OUT})
    a.update(attrs or {})
    t0 = time.time_ns() - MINUTE
    return tid, traces_body([({"service.name": "pricing"}, [json_span(tid, hex_id(label, 8), "chat", t0, 5 * MS, a)])])


def ingest(server, key, label, model, attrs=None, usage=True):
    """Sends one llm call; answers the stored observation's `cost` object."""
    tid, body = llm_trace(label, model, attrs, usage)
    post_json(server, "/v1/traces", body, key)
    trace = server.trace(tid, key)
    assert trace is not None, f"trace {label} not found after ingest"
    (obs,) = trace["observations"]
    return obs["cost"]


def put_override(server, key, body):
    return requests.put(server.url + "/api/v1/prices/overrides", data=json.dumps(body),
                        headers={"Content-Type": "application/json", **server.headers(key)}, timeout=10)


def cli(server, key, *args):
    """Runs `sightline prices ARGS` against `server`; answers (exit code, stdout, stderr)."""
    out = subprocess.run([str(BIN), "prices", *args, "--url", server.url, "--api-key", key],
                         capture_output=True, text=True, env=clean_env(), timeout=30)
    return out.returncode, out.stdout, out.stderr


@pytest.fixture(scope="module")
def priced(tmp_path_factory):
    """A server with projects alpha and beta; alpha gets an override for gpt-4o after one call
    was already ingested at the bundled price."""
    with running_server(tmp_path_factory) as server:
        yield (server, *set_up(server))


def set_up(server):
    keys = {p: server.create_key(p)["secret_key"] for p in ("alpha", "beta", "gamma", "cli")}
    bundled = get_ok(server, "/api/v1/prices/lookup", {"model": MODEL, "provider": "openai"}, keys["beta"])
    assert bundled["entry"]["source"] == "bundled", bundled
    before = ingest(server, keys["alpha"], "alpha-before", MODEL)
    r = put_override(server, keys["alpha"], OVERRIDE)
    assert r.status_code == 200, r.text
    return keys, bundled["entry"], before, r.json()


def test_override_prices_later_calls_of_its_project_only(priced):
    server, keys, bundled, before, override = priced
    bundled_nano = nano(bundled, TOKENS_IN, TOKENS_OUT)
    assert bundled_nano != OVERRIDE_NANO, "pick override rates that differ from the bundled ones"
    assert before == {**before, "nano_usd": bundled_nano, "source": "computed"}, before

    after = ingest(server, keys["alpha"], "alpha-after", MODEL)
    assert after["nano_usd"] == OVERRIDE_NANO and after["source"] == "computed", after
    other = ingest(server, keys["beta"], "beta-after", MODEL)
    assert other["nano_usd"] == bundled_nano and other["source"] == "computed", other

    # the call ingested before the override keeps its price
    tid = hex_id("prices/alpha-before", 16)
    (obs,) = server.trace(tid, keys["alpha"])["observations"]
    assert obs["cost"]["nano_usd"] == bundled_nano, obs["cost"]


def test_list_and_lookup_show_the_override_to_its_project_only(priced):
    server, keys, _, _, override = priced
    assert override["id"].startswith("po_") and override["source"] == "override", override
    assert (override["model"], override["input"], override["output"]) == (MODEL, "2.5", "12"), override

    listed = get_ok(server, "/api/v1/prices", {"source": "override"}, keys["alpha"])["data"]
    assert [(e["id"], e["source"], e["model"]) for e in listed] == [(override["id"], "override", MODEL)], listed
    everything = get_ok(server, "/api/v1/prices", {"model": "GPT-4O", "provider": "openai"}, keys["alpha"])["data"]
    assert everything[0]["id"] == override["id"], everything[:2]
    assert {e["source"] for e in everything[1:]} == {"bundled"}, everything
    assert all("gpt-4o" in e["model"] for e in everything), everything

    found = get_ok(server, "/api/v1/prices/lookup", {"model": MODEL, "provider": "openai"}, keys["alpha"])
    assert found["entry"]["source"] == "override" and found["entry"]["id"] == override["id"], found
    assert found["rule"] == "exact", found

    assert get_ok(server, "/api/v1/prices", {"source": "override"}, keys["beta"])["data"] == []
    other = get_ok(server, "/api/v1/prices/lookup", {"model": MODEL, "provider": "openai"}, keys["beta"])
    assert other["entry"]["source"] == "bundled" and "id" not in other["entry"], other
    # beta cannot delete alpha's override
    r = requests.delete(f"{server.url}/api/v1/prices/overrides/{override['id']}",
                        headers=server.headers(keys["beta"]), timeout=10)
    problem(r, 404)


def test_cli_sets_looks_up_lists_and_deletes(priced):
    server, keys, _, _, _ = priced
    key = keys["cli"]
    code, out, err = cli(server, key, "set", "--model", "acme-cli-1", "--provider", "acme",
                         "--input", "1.25", "--output", "5", "--cache-read", "0.5",
                         "--effective-from", "2026-01-01", "--json")
    assert code == 0, err
    made = json.loads(out)
    assert (made["model"], made["provider"], made["input"], made["output"], made["cache_read"],
            made["effective_from"]) == ("acme-cli-1", "acme", "1.25", "5", "0.5", "2026-01-01"), made
    oid = made["id"]

    code, out, err = cli(server, key, "lookup", "acme-cli-1", "--provider", "acme")
    assert code == 0, err
    assert out.startswith("acme-cli-1 is priced by override entry acme/acme-cli-1 (rule exact)"), out
    assert oid in out and "1.25" in out, out
    code, out, err = cli(server, key, "lookup", "acme-cli-1", "--json")
    assert code == 0, err
    assert json.loads(out)["entry"]["id"] == oid, out

    code, out, err = cli(server, key, "list", "--source", "override")
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0].split()[:4] == ["SOURCE", "ID", "PROVIDER", "MODEL"], out
    assert lines[1].split() == ["override", oid, "acme", "acme-cli-1", "1.25", "5", "0.5", "-", "-", "2026-01-01"], out
    assert len(lines) == 3 and lines[2].startswith("1 entries"), out
    code, out, err = cli(server, key, "list", "--source", "override", "--json")
    assert code == 0, err
    assert [e["id"] for e in json.loads(out)["data"]] == [oid], out

    code, out, err = cli(server, key, "delete", oid)
    assert (code, out.strip()) == (0, f"deleted price override {oid}"), err
    assert get_ok(server, "/api/v1/prices", {"source": "override"}, key)["data"] == []
    code, out, err = cli(server, key, "delete", oid)
    assert code == 1 and f"no price override `{oid}`" in err, (out, err)
    code, out, err = cli(server, key, "lookup", "acme-cli-1")
    assert code == 1 and "no price known for model `acme-cli-1`" in err, (out, err)
    code, out, err = cli(server, key, "set", "--model", "acme-cli-1", "--input=-1", "--output", "5")
    assert code == 1 and err.startswith("error: `input`"), err


def test_calls_without_usage_are_estimated_for_openai_models(priced):
    server, keys, bundled, _, _ = priced
    text = {"gen_ai.input.messages": messages("user", "What is the capital of France? " * 20),
            "gen_ai.output.messages": messages("assistant", "Paris is the capital of France.")}
    cost = ingest(server, keys["gamma"], "estimated", MODEL, text, usage=False)
    assert cost["source"] == "estimated" and cost["nano_usd"] > 0, cost
    assert "token" in (cost.get("reason") or ""), cost
    # the estimate is priced at the bundled rates: at least the output text's few tokens
    assert cost["nano_usd"] >= nano(bundled, 100, 1), cost

    unknown = ingest(server, keys["gamma"], "unknown", "acme-made-up-9", text, usage=False)
    assert unknown["source"] == "unknown" and not unknown.get("nano_usd"), unknown
    assert unknown.get("reason"), unknown


@pytest.mark.parametrize("body, field", [
    ({"input": "1", "output": "2"}, "`model`"),
    ({"model": "m-1", "input": "-1", "output": "2"}, "`input`"),
    ({"model": "m-1", "input": "1", "output": -2}, "`output`"),
    ({"model": "m-1", "input": "1", "output": "2", "effective_from": "2026-13-45"}, "`effective_from`"),
    ({"model": "m-1", "input": "1"}, "`output`"),
    ({"model": "m-1", "input": "1", "output": "2", "colour": "red"}, "`colour`"),
])
def test_bad_override_bodies_name_the_field(priced, body, field):
    server, keys, _, _, _ = priced
    problem(put_override(server, keys["gamma"], body), 400, field)
    assert get_ok(server, "/api/v1/prices", {"source": "override"}, keys["gamma"])["data"] == []


def test_config_file_override_prices_a_made_up_model(make_server, tmp_path):
    config = tmp_path / "prices.toml"
    config.write_text('[[price_overrides]]\nproject = "cfg"\nmodel = "acme-frontier-1"\n'
                      'input = "4"\noutput = "16.5"\n')
    server = make_server("--config", str(config))
    key = server.create_key("cfg")["secret_key"]
    cost = ingest(server, key, "config", "acme-frontier-1")
    assert cost["source"] == "computed" and cost["nano_usd"] == 1000 * 4_000 + 500 * 16_500, cost
    listed = get_ok(server, "/api/v1/prices", {"source": "override"}, key)["data"]
    assert [(e["source"], e["model"], e["input"], e["output"]) for e in listed] == [
        ("config", "acme-frontier-1", "4", "16.5")], listed
    # another project does not get it
    other = server.create_key("other")["secret_key"]
    assert ingest(server, other, "config-other", "acme-frontier-1")["source"] == "unknown"

"""The real OpenAI and Anthropic Python SDKs, changed only in `base_url`, get through the
gateway exactly what they get from the (mock) upstream directly, streaming and not; and each
call is stored as an llm or embedding observation with the right model, tokens, cost, time to
first token and messages, as a child of the caller's span."""

import anthropic
import openai
import pytest
from gateway_helpers import Mock, anthropic_url, gateway_server, gw_url, llm, new_traceparent, wait_trace

OPENAI_MODEL = "gpt-4o-mini"
CLAUDE = "claude-3-5-haiku-20241022"
# The mock answers 21 prompt tokens (4 of them cached) and 7 completion tokens (2 reasoning)
# for OpenAI; for Anthropic 21 input tokens beside 4 read from and 2 written to the cache, and 7
# output tokens. Bundled prices, per million: gpt-4o-mini $0.15 in, $0.075 cached, $0.60 out;
# claude-3-5-haiku-20241022 $0.80 in, $0.08 cache read, $1 cache write, $4 out.
OPENAI_COST = 17 * 150 + 4 * 75 + 7 * 600  # nano-USD: uncached input, cached input, output
CLAUDE_COST = 21 * 800 + 4 * 80 + 2 * 1000 + 7 * 4000
TOOLS = [{"type": "function", "function": {"name": "weather", "description": "Weather in a city",
          "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}}]


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    mock = Mock("--chunk-delay-ms", "2")
    try:
        with gateway_server(tmp_path_factory, mock) as server:
            yield mock, server
    finally:
        mock.stop()


def clients(setup):
    mock, server = setup
    direct = openai.OpenAI(base_url=mock.url + "/v1", api_key="sk-test", max_retries=0)
    via = openai.OpenAI(base_url=gw_url(server), api_key="sk-test", max_retries=0)
    return direct, via


def test_openai_chat_answers_alike_and_is_recorded(setup):
    mock, server = setup
    direct, via = clients(setup)
    messages = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hello?"}]
    want = direct.chat.completions.create(model=OPENAI_MODEL, messages=messages, max_tokens=50)
    tp, trace_id, parent = new_traceparent()
    got = via.chat.completions.create(model=OPENAI_MODEL, messages=messages, max_tokens=50,
                                      extra_headers={"traceparent": tp, "Sightline-User-Id": "u-1",
                                                     "Sightline-Session-Id": "s-1", "Sightline-Property-Team": "search"})
    assert got.model_dump() == want.model_dump()
    o = llm(wait_trace(server, trace_id))
    assert o["parent_span_id"] == parent, "a child of the caller's span"
    assert (o["kind"], o["provider"], o["request_model"], o["response_model"]) == (
        "llm", "openai", OPENAI_MODEL, "gpt-4o-mini-2025-01-01")
    assert o["usage"] == {"input": 21, "output": 7, "total": 28, "cache_read": 4, "reasoning": 2}
    assert o["cost"] == {"nano_usd": OPENAI_COST, "source": "computed"}
    assert o["finish_reasons"] == ["stop"]
    assert (o["user_id"], o["session_id"]) == ("u-1", "s-1")
    assert o["attributes"]["sightline.property.team"] == "search"
    assert o["input"]["messages"] == [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hello?"}]
    assert o["output"]["messages"][0]["content"] == got.choices[0].message.content
    assert o["request_params"]["max_tokens"] == 50


def test_openai_stream_answers_alike_without_the_usage_chunk_it_did_not_ask_for(setup):
    mock, server = setup
    direct, via = clients(setup)
    messages = [{"role": "user", "content": "Stream please"}]
    want = [c.model_dump() for c in direct.chat.completions.create(model=OPENAI_MODEL, messages=messages, stream=True)]
    tp, trace_id, _ = new_traceparent()
    got = [c.model_dump() for c in via.chat.completions.create(
        model=OPENAI_MODEL, messages=messages, stream=True, extra_headers={"traceparent": tp})]
    assert got == want
    assert all(c["usage"] is None for c in got), "the gateway's usage chunk is not shown"
    assert mock.stats()["models"][OPENAI_MODEL]["last_body"]["stream_options"] == {"include_usage": True}
    o = llm(wait_trace(server, trace_id))
    assert o["usage"]["input"] == 21 and o["usage"]["output"] == 7
    assert o["cost"]["nano_usd"] == OPENAI_COST
    assert 0 < o["ttft_ns"] < o["duration_ns"], o
    assert o["output"]["messages"][0]["content"] == "Hello from the mock upstream, friend."
    # A client that asks for usage itself gets the chunk.
    chunks = list(via.chat.completions.create(model=OPENAI_MODEL, messages=messages, stream=True,
                                              stream_options={"include_usage": True}))
    assert chunks[-1].usage.prompt_tokens == 21


def test_openai_tool_calls_stream_and_are_recorded(setup):
    mock, server = setup
    direct, via = clients(setup)
    messages = [{"role": "user", "content": "Weather in Paris?"}]
    want = direct.chat.completions.create(model=OPENAI_MODEL, messages=messages, tools=TOOLS)
    got = via.chat.completions.create(model=OPENAI_MODEL, messages=messages, tools=TOOLS)
    assert got.model_dump() == want.model_dump()
    tp, trace_id, _ = new_traceparent()
    stream = list(via.chat.completions.create(model=OPENAI_MODEL, messages=messages, tools=TOOLS, stream=True,
                                              extra_headers={"traceparent": tp}))
    args = "".join(c.choices[0].delta.tool_calls[0].function.arguments or ""
                   for c in stream if c.choices and c.choices[0].delta.tool_calls)
    assert args == '{"city":"Paris"}'
    o = llm(wait_trace(server, trace_id))
    call = o["output"]["messages"][0]["tool_calls"][0]
    assert (call["name"], call["arguments"]) == ("weather", {"city": "Paris"})
    assert o["finish_reasons"] == ["tool_calls"]


def test_openai_responses_and_embeddings_and_models(setup):
    mock, server = setup
    direct, via = clients(setup)
    want = direct.responses.create(model="o4-mini", input="Hi", instructions="Be brief.")
    tp, trace_id, _ = new_traceparent()
    got = via.responses.create(model="o4-mini", input="Hi", instructions="Be brief.",
                               extra_headers={"traceparent": tp})
    assert got.model_dump() == want.model_dump()
    assert got.output_text == "Hello from the mock upstream, friend."
    o = llm(wait_trace(server, trace_id))
    assert o["usage"] == {"input": 21, "output": 7, "total": 28, "cache_read": 4, "reasoning": 2}
    assert o["input"]["messages"][0] == {"role": "system", "content": "Be brief."}
    # Streamed: the SDK sees the same events.
    want = [e.model_dump() for e in direct.responses.create(model="o4-mini", input="Hi", stream=True)]
    tp, trace_id, _ = new_traceparent()
    got = [e.model_dump() for e in via.responses.create(model="o4-mini", input="Hi", stream=True,
                                                        extra_headers={"traceparent": tp})]
    assert got == want
    assert llm(wait_trace(server, trace_id))["usage"]["output"] == 7

    tp, trace_id, _ = new_traceparent()
    emb = via.embeddings.create(model="text-embedding-3-small", input=["a", "b"], extra_headers={"traceparent": tp})
    assert emb.model_dump() == direct.embeddings.create(model="text-embedding-3-small", input=["a", "b"]).model_dump()
    o = llm(wait_trace(server, trace_id))
    assert (o["kind"], o["usage"]["input"]) == ("embedding", 21)
    assert o["input"] == {"value": ["a", "b"]}

    assert [m.id for m in via.models.list()] == [m.id for m in direct.models.list()]


def test_anthropic_messages_answer_alike_and_are_recorded(setup):
    mock, server = setup
    direct = anthropic.Anthropic(base_url=mock.url, api_key="sk-ant-test", max_retries=0)
    via = anthropic.Anthropic(base_url=anthropic_url(server), api_key="sk-ant-test", max_retries=0)
    kw = dict(model=CLAUDE, max_tokens=100, system="Be brief.", messages=[{"role": "user", "content": "Hello?"}])
    want = direct.messages.create(**kw)
    tp, trace_id, parent = new_traceparent()
    got = via.messages.create(**kw, extra_headers={"traceparent": tp, "Helicone-User-Id": "u-2"})
    assert got.model_dump() == want.model_dump()
    o = llm(wait_trace(server, trace_id))
    assert o["parent_span_id"] == parent
    assert (o["provider"], o["request_model"]) == ("anthropic", CLAUDE)
    # Anthropic's input_tokens exclude the cache: stored as OpenTelemetry counts them.
    assert o["usage"] == {"input": 27, "output": 7, "total": 34, "cache_read": 4, "cache_write": 2}
    assert o["cost"] == {"nano_usd": CLAUDE_COST, "source": "computed"}
    assert o["user_id"] == "u-2", "Helicone's header names work too"
    assert o["input"]["messages"] == [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hello?"}]
    assert o["output"]["messages"][0]["content"] == "Hello from the mock upstream, friend."
    assert o["finish_reasons"] == ["end_turn"]

    want = [e.model_dump() for e in direct.messages.create(**kw, stream=True)]
    tp, trace_id, _ = new_traceparent()
    got = [e.model_dump() for e in via.messages.create(**kw, stream=True, extra_headers={"traceparent": tp})]
    assert got == want
    o = llm(wait_trace(server, trace_id))
    assert o["usage"] == {"input": 27, "output": 7, "total": 34, "cache_read": 4, "cache_write": 2}
    assert 0 < o["ttft_ns"] < o["duration_ns"]

    # Tool use, streamed with the SDK's helper.
    tools = [{"name": "weather", "description": "Weather", "input_schema": {"type": "object"}}]
    tp, trace_id, _ = new_traceparent()
    with via.messages.stream(model=CLAUDE, max_tokens=100, tools=tools, extra_headers={"traceparent": tp},
                             messages=[{"role": "user", "content": "Weather?"}]) as s:
        final = s.get_final_message()
    assert final.content[0].input == {"city": "Paris"}
    o = llm(wait_trace(server, trace_id))
    call = o["output"]["messages"][0]["tool_calls"][0]
    assert (call["name"], call["arguments"]) == ("weather", {"city": "Paris"})

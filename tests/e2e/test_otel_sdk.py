"""The real OpenTelemetry Python SDK exporting to Sightline over OTLP/HTTP (plain and gzip) and
OTLP/gRPC, with GenAI and OpenInference attributes, then read back through the trace API.

A 2xx means stored: once `force_flush()` returns True and every export succeeded, the trace must
be readable at once, so nothing here polls."""

import json

import pytest
from opentelemetry._logs import LogRecord, SeverityNumber
from opentelemetry.exporter.otlp.proto.grpc._log_exporter import OTLPLogExporter as GrpcLogExporter
from opentelemetry.exporter.otlp.proto.grpc.exporter import Compression as GrpcCompression
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as GrpcSpanExporter
from opentelemetry.exporter.otlp.proto.http import Compression
from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter as HttpLogExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as HttpSpanExporter
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import LogExportResult, SimpleLogRecordProcessor
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    SimpleSpanProcessor,
    SpanExporter,
    SpanExportResult,
)
from opentelemetry.trace import SpanKind, Status, StatusCode

RESOURCE = Resource.create({"service.name": "travel-agent", "tenant.id": "acme"})


class Recording(SpanExporter):
    """Wraps an exporter and keeps every export result, so a refused batch fails the test."""

    def __init__(self, inner):
        self.inner, self.results = inner, []

    def export(self, spans):
        result = self.inner.export(spans)
        self.results.append(result)
        return result

    def shutdown(self):
        self.inner.shutdown()

    def force_flush(self, timeout_millis=30000):
        return self.inner.force_flush(timeout_millis)


def span_exporter(server, transport):
    if transport == "http":
        return HttpSpanExporter(endpoint=server.url + "/v1/traces")
    if transport == "http-gzip":
        return HttpSpanExporter(endpoint=server.url + "/v1/traces", compression=Compression.Gzip)
    if transport == "grpc-gzip":
        return GrpcSpanExporter(endpoint=server.grpc_endpoint, insecure=True, compression=GrpcCompression.Gzip)
    return GrpcSpanExporter(endpoint=server.grpc_endpoint, insecure=True)


def make_provider(exporter, batch):
    provider = TracerProvider(resource=RESOURCE)
    processor = BatchSpanProcessor(exporter) if batch else SimpleSpanProcessor(exporter)
    provider.add_span_processor(processor)
    return provider


def hex_trace(span):
    return format(span.get_span_context().trace_id, "032x")


def hex_span(span):
    return format(span.get_span_context().span_id, "016x")


def flush(provider, exporter):
    assert provider.force_flush(10_000) is True
    assert exporter.results and all(r == SpanExportResult.SUCCESS for r in exporter.results)
    provider.shutdown()


def by_name(trace):
    return {o["name"]: o for o in trace["observations"]}


INPUT_MESSAGES = [
    {"role": "system", "parts": [{"type": "text", "content": "You plan trips."}]},
    {"role": "user", "parts": [{"type": "text", "content": "Weather in Paris tomorrow?"}]},
]
OUTPUT_MESSAGES = [
    {
        "role": "assistant",
        "parts": [{"type": "text", "content": "Sunny, 21 degrees."}],
        "finish_reason": "stop",
    }
]


def send_agent_trace(tracer):
    """invoke_agent root > chat, execute_tool, and a failing step; returns the ids."""
    with tracer.start_as_current_span(
        "invoke_agent travel-planner",
        attributes={
            "gen_ai.operation.name": "invoke_agent",
            "gen_ai.agent.name": "travel-planner",
            "gen_ai.agent.id": "agent-7",
            "gen_ai.conversation.id": "conv-42",
            "user.id": "user-9",
        },
    ) as root:
        with tracer.start_as_current_span(
            "chat gpt-4o",
            kind=SpanKind.CLIENT,
            attributes={
                "gen_ai.operation.name": "chat",
                "gen_ai.provider.name": "openai",
                "gen_ai.request.model": "gpt-4o",
                "gen_ai.response.model": "gpt-4o-2024-08-06",
                "gen_ai.request.temperature": 0.2,
                "gen_ai.usage.input_tokens": 120,
                "gen_ai.usage.output_tokens": 30,
                "gen_ai.usage.cache_read.input_tokens": 100,
                "gen_ai.response.finish_reasons": ["stop"],
                "gen_ai.input.messages": json.dumps(INPUT_MESSAGES),
                "gen_ai.output.messages": json.dumps(OUTPUT_MESSAGES),
            },
        ):
            pass
        with tracer.start_as_current_span(
            "execute_tool get_weather",
            attributes={
                "gen_ai.operation.name": "execute_tool",
                "gen_ai.tool.name": "get_weather",
                "gen_ai.tool.call.id": "call_abc123",
                "gen_ai.tool.call.arguments": json.dumps({"city": "Paris"}),
                "gen_ai.tool.call.result": json.dumps({"temp_c": 21, "sky": "clear"}),
            },
        ):
            pass
        with tracer.start_as_current_span("book_flight") as failing:
            try:
                raise ValueError("no seats left on AF123")
            except ValueError as e:
                failing.record_exception(e)
                failing.set_status(Status(StatusCode.ERROR, "booking failed"))
    return hex_trace(root), hex_span(root)


@pytest.mark.parametrize(
    "transport,batch",
    [("http", False), ("http-gzip", True), ("grpc", True), ("grpc-gzip", False)],
)
def test_genai_agent_trace(server, transport, batch):
    exporter = Recording(span_exporter(server, transport))
    provider = make_provider(exporter, batch)
    trace_id, root_span_id = send_agent_trace(provider.get_tracer("e2e.genai"))
    flush(provider, exporter)

    trace = server.trace(trace_id)
    assert trace is not None, f"trace {trace_id} not stored"
    assert trace["trace_id"] == trace_id
    obs = by_name(trace)
    assert set(obs) == {"invoke_agent travel-planner", "chat gpt-4o", "execute_tool get_weather", "book_flight"}

    root = obs["invoke_agent travel-planner"]
    assert root["kind"] == "agent"
    assert "parent_span_id" not in root
    assert root["span_id"] == root_span_id
    assert root["agent_name"] == "travel-planner"
    assert root["agent_id"] == "agent-7"
    assert root["session_id"] == "conv-42"
    assert root["user_id"] == "user-9"
    assert root["tenant_id"] == "acme"
    assert root["service_name"] == "travel-agent"
    assert root["resource"]["service.name"] == "travel-agent"
    for child in ("chat gpt-4o", "execute_tool get_weather", "book_flight"):
        assert obs[child]["parent_span_id"] == root_span_id, child
        assert obs[child]["trace_id"] == trace_id

    chat = obs["chat gpt-4o"]
    assert chat["kind"] == "llm"
    assert chat["span_kind"] == "client"
    assert root["span_kind"] == "internal"
    assert chat["operation"] == "chat"
    assert chat["provider"] == "openai"
    assert chat["request_model"] == "gpt-4o"
    assert chat["response_model"] == "gpt-4o-2024-08-06"
    assert chat["model"] == "gpt-4o-2024-08-06"
    assert chat["usage"]["input"] == 120
    assert chat["usage"]["output"] == 30
    assert chat["usage"]["total"] == 150
    assert chat["usage"]["cache_read"] == 100
    # Priced at ingest from the bundled table: gpt-4o at $2.50/M input, $1.25/M cached input and
    # $10/M output; the 100 cached tokens are part of the 120 input tokens and are charged once.
    assert chat["cost"] == {"nano_usd": 20 * 2500 + 100 * 1250 + 30 * 10000, "source": "computed"}
    assert chat["finish_reasons"] == ["stop"]
    assert chat["request_params"]["temperature"] == 0.2
    assert chat["status"] == "unset" and chat["is_error"] is False
    messages = chat["input"]["messages"]
    assert [m["role"] for m in messages] == ["system", "user"]
    assert messages[1]["content"] == "Weather in Paris tomorrow?"
    out = chat["output"]["messages"]
    assert out[0]["role"] == "assistant" and out[0]["content"] == "Sunny, 21 degrees."
    # Promoted attributes leave the raw bag.
    assert "gen_ai.input.messages" not in chat["attributes"]
    assert "gen_ai.usage.input_tokens" not in chat["attributes"]

    tool = obs["execute_tool get_weather"]
    assert tool["kind"] == "tool"
    assert tool["tool_name"] == "get_weather"
    assert tool["tool_call_id"] == "call_abc123"
    assert tool["tool_arguments"] == {"city": "Paris"}
    assert tool["tool_result"] == {"temp_c": 21, "sky": "clear"}

    failing = obs["book_flight"]
    assert failing["status"] == "error"
    assert failing["is_error"] is True
    assert failing["status_message"] == "booking failed"
    assert failing["error"]["type"] == "ValueError"
    assert failing["error"]["message"] == "no seats left on AF123"
    assert "Traceback" in failing["error"]["stacktrace"]
    assert "raise ValueError" in failing["error"]["stacktrace"]
    assert not any(e["name"] == "exception" for e in failing.get("events", []))

    summary = trace["summary"]
    assert summary["root_name"] == "invoke_agent travel-planner"
    assert summary["span_count"] == 4
    assert summary["error_count"] == 1
    assert summary["input_tokens"] == 120
    assert summary["output_tokens"] == 30
    assert summary["total_tokens"] == 150
    assert summary["cache_read_tokens"] == 100
    assert summary["service_name"] == "travel-agent"
    assert summary["agent_name"] == "travel-planner"
    assert summary["session_id"] == "conv-42"
    assert summary["user_id"] == "user-9"
    assert summary["tenant_id"] == "acme"
    starts = [o["start_ns"] for o in trace["observations"]]
    assert summary["start_ns"] == min(starts) == root["start_ns"]
    assert summary["end_ns"] == root["end_ns"] >= max(o["end_ns"] for o in trace["observations"])


def test_openinference_trace(server):
    exporter = Recording(span_exporter(server, "http"))
    provider = make_provider(exporter, batch=False)
    tracer = provider.get_tracer("openinference.instrumentation.e2e")
    with tracer.start_as_current_span(
        "RAG pipeline",
        attributes={
            "openinference.span.kind": "CHAIN",
            "input.value": "What is the capital of France?",
            "output.value": "Paris.",
            "session.id": "sess-oi-1",
            "user.id": "user-oi",
        },
    ) as chain:
        with tracer.start_as_current_span(
            "ChatCompletion",
            attributes={
                "openinference.span.kind": "LLM",
                "llm.model_name": "claude-3-5-sonnet",
                "llm.provider": "anthropic",
                "llm.token_count.prompt": 42,
                "llm.token_count.completion": 7,
                "llm.input_messages.0.message.role": "system",
                "llm.input_messages.0.message.content": "Answer briefly.",
                "llm.input_messages.1.message.role": "user",
                "llm.input_messages.1.message.content": "What is the capital of France?",
                "llm.output_messages.0.message.role": "assistant",
                "llm.output_messages.0.message.content": "Paris.",
                "session.id": "sess-oi-1",
                "user.id": "user-oi",
            },
        ):
            pass
    trace_id, chain_id = hex_trace(chain), hex_span(chain)
    flush(provider, exporter)

    trace = server.trace(trace_id)
    assert trace is not None
    obs = by_name(trace)
    c = obs["RAG pipeline"]
    assert c["kind"] == "chain"
    assert c["input"] == {"value": "What is the capital of France?"}
    assert c["output"] == {"value": "Paris."}
    assert c["session_id"] == "sess-oi-1" and c["user_id"] == "user-oi"
    assert c["tenant_id"] == "acme"

    llm = obs["ChatCompletion"]
    assert llm["parent_span_id"] == chain_id
    assert llm["kind"] == "llm"
    assert llm["model"] == "claude-3-5-sonnet"
    assert llm["provider"] == "anthropic"
    assert llm["usage"]["input"] == 42 and llm["usage"]["output"] == 7 and llm["usage"]["total"] == 49
    assert [(m["role"], m["content"]) for m in llm["input"]["messages"]] == [
        ("system", "Answer briefly."),
        ("user", "What is the capital of France?"),
    ]
    assert [(m["role"], m["content"]) for m in llm["output"]["messages"]] == [("assistant", "Paris.")]
    assert not any(k.startswith("llm.input_messages") for k in llm["attributes"])
    assert llm["session_id"] == "sess-oi-1" and llm["user_id"] == "user-oi"

    s = trace["summary"]
    assert s["root_name"] == "RAG pipeline"
    assert (s["span_count"], s["error_count"]) == (2, 0)
    assert (s["input_tokens"], s["output_tokens"], s["total_tokens"]) == (42, 7, 49)
    assert s["session_id"] == "sess-oi-1" and s["user_id"] == "user-oi"


@pytest.mark.parametrize("transport", ["http", "grpc"])
def test_log_record_in_span_context(server, transport):
    span_exp = Recording(span_exporter(server, transport))
    provider = make_provider(span_exp, batch=False)
    if transport == "http":
        log_exp = HttpLogExporter(endpoint=server.url + "/v1/logs")
    else:
        log_exp = GrpcLogExporter(endpoint=server.grpc_endpoint, insecure=True)
    log_results = []
    real_export = log_exp.export

    def export(batch):
        result = real_export(batch)
        log_results.append(result)
        return result

    log_exp.export = export
    logger_provider = LoggerProvider(resource=RESOURCE)
    logger_provider.add_log_record_processor(SimpleLogRecordProcessor(log_exp))
    logger = logger_provider.get_logger("e2e.logs")

    tracer = provider.get_tracer("e2e.logs")
    with tracer.start_as_current_span(
        "invoke_agent support-bot",
        attributes={"gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": "support-bot"},
    ) as root:
        with tracer.start_as_current_span("lookup_order") as inner:
            logger.emit(
                LogRecord(
                    body=f"order 1234 not found ({transport})",
                    severity_number=SeverityNumber.WARN,
                    severity_text="WARN",
                    attributes={"session.id": "sess-log-1", "order.id": 1234},
                )
            )
    flush(provider, span_exp)
    assert logger_provider.force_flush(10_000) is True
    assert log_results == [LogExportResult.SUCCESS]
    logger_provider.shutdown()

    trace_id = hex_trace(root)
    trace = server.trace(trace_id)
    assert trace is not None
    # The log carries the inner span's id, so it sits inside that observation.
    assert trace["logs"] == [], trace["logs"]
    inner_obs = next(o for o in trace["observations"] if o["span_id"] == hex_span(inner))
    assert len(inner_obs["logs"]) == 1, inner_obs["logs"]
    log = inner_obs["logs"][0]
    assert log["trace_id"] == trace_id
    assert log["span_id"] == hex_span(inner)
    assert log["body"] == f"order 1234 not found ({transport})"
    assert log["severity_number"] == SeverityNumber.WARN.value
    assert log["severity_text"] == "WARN"
    assert log["service_name"] == "travel-agent"
    assert log["session_id"] == "sess-log-1"
    assert log["attributes"]["order.id"] == 1234

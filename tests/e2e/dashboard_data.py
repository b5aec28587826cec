"""Data for the dashboard's tests and benchmark: one large multi-agent trace."""

from api_data import MS, hex_id, json_span, traces_body


def big_trace_body(trace_id, t0, label="big", spans=10_000):
    """An OTLP/JSON request holding one trace of `spans` spans: a root agent, then workers of 100
    llm/tool steps each (99 workers for 10,000). Span ids are `hex_id(f"{label}/root")`,
    `hex_id(f"{label}/w{w}")` and `hex_id(f"{label}/{w}/{k}")`; step names are `step WWW.KK`."""
    root = hex_id(f"{label}/root", 8)
    out = [json_span(trace_id, root, "invoke_agent planner", t0, 60_000 * MS,
                     {"gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": "planner"})]
    w = 0
    while len(out) < spans:
        wid = hex_id(f"{label}/w{w}", 8)
        ws = t0 + w * 500 * MS
        out.append(json_span(trace_id, wid, f"invoke_agent worker-{w:03}", ws + MS, 480 * MS,
                             {"gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": f"worker-{w % 7}"},
                             root))
        for k in range(min(100, spans - len(out))):
            attrs = ({"gen_ai.operation.name": "chat", "gen_ai.request.model": "gpt-4o-mini",
                      "gen_ai.provider.name": "openai", "gen_ai.usage.input_tokens": 100 + k,
                      "gen_ai.usage.output_tokens": 20}
                     if k % 3 else {"gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": "lookup"})
            out.append(json_span(trace_id, hex_id(f"{label}/{w}/{k}", 8), f"step {w:03}.{k:02}",
                                 ws + 2 * MS + k * 4 * MS, 3 * MS, attrs, wid))
        w += 1
    return traces_body([({"service.name": "bulk-agent"}, out)])

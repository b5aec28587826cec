//! Rendering tests: sample answers shaped as docs/api.md describes, and the exact text each
//! view prints for them.

use serde::de::DeserializeOwned;

use super::{lines, table, tree};

/// T0 = 2023-11-14 22:13:20 UTC.
const T0: i64 = 1_700_000_000_000_000_000;
const MS: i64 = 1_000_000;

/// Parses `json`, renders it, and compares with `expected` (a leading newline is dropped so
/// the expected text can start on its own line).
fn check<T: DeserializeOwned>(json: &str, render: impl Fn(&T) -> String, expected: &str) {
    let value: T = serde_json::from_str(json).unwrap();
    let got = render(&value);
    let expected = expected.strip_prefix('\n').unwrap_or(expected);
    assert_eq!(
        got, expected,
        "\n--- got ---\n{got}\n--- expected ---\n{expected}"
    );
}

fn summary(trace_id: &str, extra: &str) -> String {
    format!(
        r#"{{"trace_id":"{trace_id}","root_name":"invoke_agent planner","root_span_id":"00f067aa0ba902b7",
        "start_ns":{T0},"start_time":"2023-11-14T22:13:20Z","end_ns":{},"end_time":"x","duration_ns":{},
        "span_count":4,"error_count":1,"input_tokens":1200,"output_tokens":300,"total_tokens":1500,
        "cache_read_tokens":0,"cache_write_tokens":0,"reasoning_tokens":0,
        "service_name":"checkout"{extra}}}"#,
        T0 + 2000 * MS,
        2000 * MS
    )
}

#[test]
fn trace_list_as_a_table_with_the_next_cursor() {
    let a = summary(
        "4bf92f3577b34da6a3ce929d0e0e4736",
        r#","cost_nano_usd":1200000"#,
    );
    let b = r#"{"trace_id":"0af7651916cd43dd8448eb211c80319c","root_name":"tool lookup",
        "start_ns":1700000005000000000,"end_ns":1700000005000850000,"duration_ns":850000,
        "span_count":1,"error_count":0,"total_tokens":0}"#;
    let page = format!(r#"{{"data":[{a},{b}],"next_cursor":"c2tpcA"}}"#);
    check(
        &page,
        |p| table::traces(p, false),
        r#"
TIME                 TRACE     NAME                  SERVICE   DURATION  SPANS  TOKENS     COST  ERRORS
2023-11-14 22:13:20  4bf92f35  invoke_agent planner  checkout     2.00s      4    1.5k  $0.0012  ✗ 1
2023-11-14 22:13:25  0af76519  tool lookup           -            850us      1       -        -
more: add --cursor c2tpcA
"#,
    );
    check(
        &page,
        |p| table::traces(p, true),
        r#"
TIME                 TRACE                             NAME                  SERVICE   DURATION  SPANS  TOKENS     COST  ERRORS
2023-11-14 22:13:20  4bf92f3577b34da6a3ce929d0e0e4736  invoke_agent planner  checkout     2.00s      4    1.5k  $0.0012  ✗ 1
2023-11-14 22:13:25  0af7651916cd43dd8448eb211c80319c  tool lookup           -            850us      1       -        -
more: add --cursor c2tpcA
"#,
    );
    check(
        r#"{"data":[]}"#,
        |p| table::traces(p, false),
        "no traces found\n",
    );
}

fn observation(
    span: &str,
    parent: Option<&str>,
    name: &str,
    from_ms: i64,
    to_ms: i64,
    extra: &str,
) -> String {
    let parent = parent
        .map(|p| format!(r#""parent_span_id":"{p}","#))
        .unwrap_or_default();
    format!(
        r#"{{"trace_id":"4bf92f3577b34da6a3ce929d0e0e4736","span_id":"{span}",{parent}"name":"{name}",
        "start_ns":{},"end_ns":{},"duration_ns":{}{extra}}}"#,
        T0 + from_ms * MS,
        T0 + to_ms * MS,
        (to_ms - from_ms) * MS
    )
}

fn sample_trace() -> String {
    let root = observation(
        "00f067aa0ba902b7",
        None,
        "invoke_agent planner",
        0,
        2000,
        r#","kind":"agent","depth":0,"orphan":false,"child_count":2,
        "input":{"value":"plan a trip"},"output":{"value":"done"}"#,
    );
    let llm = observation(
        "1111111111111111",
        Some("00f067aa0ba902b7"),
        "chat gpt-4o",
        100,
        1100,
        r#","kind":"llm","model":"gpt-4o","usage":{"input":1200,"output":300,"total":1500},"depth":1,"orphan":false,
        "input":{"messages":[{"role":"system","content":"be brief"},{"role":"user","content":"plan\na trip"}]},
        "output":{"messages":[{"role":"assistant","content":"ok"}]}"#,
    );
    let tool = observation(
        "2222222222222222",
        Some("00f067aa0ba902b7"),
        "execute_tool search",
        1200,
        1500,
        r#","kind":"tool","status":"error","is_error":true,"error":{"type":"TimeoutError","message":"search timed out after 300ms"},
        "depth":1,"orphan":false,"tool_arguments":{"q":"paris"},
        "logs":[{"time_ns":1700000001450000000,"severity_number":17,"severity_text":"ERROR","body":"retrying search","span_id":"2222222222222222"}]"#,
    );
    let orphan = observation(
        "3333333333333333",
        Some("9999999999999999"),
        "late step",
        1600,
        2000,
        r#","kind":"span","depth":0,"orphan":true"#,
    );
    format!(
        r#"{{"trace_id":"4bf92f3577b34da6a3ce929d0e0e4736","summary":{},"observation_count":4,"orphan_count":1,
        "observations":[{root},{llm},{tool},{orphan}],
        "logs":[{{"time_ns":1700000002000000000,"severity_number":9,"body":{{"event":"finished"}},"service_name":"checkout"}}]}}"#,
        summary(
            "4bf92f3577b34da6a3ce929d0e0e4736",
            r#","cost_nano_usd":1200000"#
        )
    )
}

#[test]
fn trace_as_a_tree_with_bars_errors_orphans_and_logs() {
    check(
        &sample_trace(),
        |d| tree::trace(d, false),
        r#"
trace 4bf92f3577b34da6a3ce929d0e0e4736
invoke_agent planner  service checkout  2023-11-14 22:13:20  2.00s  4 spans  1.5k tokens (1.2k in, 300 out)  $0.0012  ✗ 1 error
1 orphan span(s): their parent never arrived

KIND   NAME                     MODEL   TOKENS  DURATION  TIMELINE
agent  invoke_agent planner                        2.00s  |██████████████████████████████|
llm      chat gpt-4o            gpt-4o    1.5k     1.00s  | ████████████████             |
tool     execute_tool search ✗                     300ms  |                  █████       |
           ✗ error: TimeoutError: search timed out after 300ms
           log 2023-11-14 22:13:21.450 ERROR retrying search
span   late step [orphan]                          400ms  |                        ██████|
         orphan: parent span 9999999999999999 never arrived

logs not attached to a span:
  log 2023-11-14 22:13:22.000 INFO {"event":"finished"}
"#,
    );
}

#[test]
fn trace_payloads_are_shown_on_request_in_one_line() {
    let out = tree::trace(&serde_json::from_str(&sample_trace()).unwrap(), true);
    for line in [
        "         input: plan a trip\n",
        "           input: system: be brief | user: plan a trip\n",
        "           output: assistant: ok\n",
        "           arguments: {\"q\":\"paris\"}\n",
    ] {
        assert!(out.contains(line), "missing {line:?} in\n{out}");
    }
}

#[test]
fn a_trace_known_only_from_logs() {
    // The store answers such a trace with an empty summary.
    check(
        r#"{"trace_id":"ab","summary":{"trace_id":"ab","start_ns":0,"end_ns":0,"duration_ns":0,
            "span_count":0,"error_count":0,"total_tokens":0},
            "observation_count":0,"orphan_count":0,"observations":[],
            "logs":[{"time_ns":1700000000000000000,"severity_number":13,"body":"slow"}]}"#,
        |d| tree::trace(d, false),
        r#"
trace ab
(no root)  1970-01-01 00:00:00  0us  0 spans
no observations: this trace is known only from its logs

logs not attached to a span:
  log 2023-11-14 22:13:20.000 WARN slow
"#,
    );
}

#[test]
fn bars_place_and_size_each_span() {
    assert_eq!(tree::bar(0, 10, 0, 10, 10), "|██████████|");
    assert_eq!(tree::bar(5, 5, 0, 10, 10), "|     █    |");
    assert_eq!(tree::bar(10, 10, 0, 10, 10), "|         █|");
    assert_eq!(tree::bar(0, 0, 0, 0, 4), "|█   |");
}

#[test]
fn sessions_as_a_table() {
    check(
        r#"{"data":[{"session_id":"sess-1","first_seen_ns":1700000000000000000,"first_seen":"x",
            "last_seen_ns":1700000065000000000,"last_seen":"x","trace_count":3,"span_count":20,
            "error_count":1,"input_tokens":100,"output_tokens":50,"total_tokens":150,
            "cost_nano_usd":9000,"user_ids":["u1","u2"]}]}"#,
        table::sessions,
        r#"
LAST SEEN            SESSION  USERS  TRACES  SPANS  TOKENS       COST  DURATION  ERRORS
2023-11-14 22:14:25  sess-1   u1,u2       3     20     150  $0.000009     1m05s  ✗ 1
"#,
    );
}

#[test]
fn session_as_a_conversation() {
    let turn1 = summary("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "");
    let turn1 = turn1.trim_end_matches('}').to_string()
        + r#","input":{"messages":[{"role":"system","content":"be brief"},{"role":"user","content":"Weather in Paris?"}]},
        "output":{"messages":[{"role":"assistant","content":"Sunny,\n22C."}]}}"#;
    let turn2 = r#"{"trace_id":"bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb","start_ns":1700000060000000000,
        "end_ns":1700000061000000000,"duration_ns":1000000000,"span_count":1,"error_count":0,"total_tokens":0,
        "input":{"value":"and tomorrow?"}}"#;
    check(
        &format!(
            r#"{{"session":{{"session_id":"sess-1","first_seen_ns":{T0},"last_seen_ns":1700000061000000000,
            "trace_count":2,"span_count":5,"error_count":1,"total_tokens":1500,"user_ids":["u1"]}},
            "traces":[{turn1},{turn2}]}}"#
        ),
        lines::session,
        r#"
session sess-1
2 traces  5 spans  1.5k tokens  ✗ 1 error  users u1
2023-11-14 22:13:20 .. 2023-11-14 22:14:21 (1m01s)

[1] 2023-11-14 22:13:20  aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa  invoke_agent planner  2.00s  1.5k tokens  ✗ 1 error
    > Weather in Paris?
    < Sunny, 22C.

[2] 2023-11-14 22:14:20  bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb  (no root)  1.00s
    > and tomorrow?
    < (no output)
"#,
    );
}

#[test]
fn logs_as_a_table() {
    check(
        r#"{"data":[
            {"time_ns":1700000000123000000,"time":"x","severity_number":13,"severity_text":"WARN",
             "body":"rate limited,\nretrying","service_name":"checkout","trace_id":"4bf92f3577b34da6a3ce929d0e0e4736"},
            {"time_ns":1700000000000000000,"severity_number":9,"event_name":"agent.start"}],
            "next_cursor":"abc"}"#,
        table::logs,
        r#"
TIME                     LEVEL  SERVICE   TRACE     MESSAGE
2023-11-14 22:13:20.123  WARN   checkout  4bf92f35  rate limited, retrying
2023-11-14 22:13:20.000  INFO   -         -         [agent.start]
more: add --cursor abc
"#,
    );
}

#[test]
fn stream_events_as_lines() {
    let obs = observation(
        "2222222222222222",
        None,
        "execute_tool search",
        1200,
        1500,
        r#","kind":"tool","service_name":"checkout","is_error":true,"status_message":"boom""#,
    );
    assert_eq!(
        lines::event_line("observation", &obs).unwrap(),
        "2023-11-14 22:13:21.200  tool       execute_tool search  (checkout)  300ms  trace 4bf92f35  ✗ boom"
    );
    let llm = observation(
        "1111111111111111",
        None,
        "chat",
        0,
        1250,
        r#","kind":"llm","model":"gpt-4o","usage":{"input":10,"output":5}"#,
    );
    assert_eq!(
        lines::event_line("observation", &llm).unwrap(),
        "2023-11-14 22:13:20.000  llm        chat  gpt-4o  1.25s  15 tokens  trace 4bf92f35"
    );
    assert_eq!(
        lines::event_line(
            "log",
            r#"{"time_ns":1700000000000000000,"severity_number":17,"body":"bad","service_name":"svc"}"#
        )
        .unwrap(),
        "2023-11-14 22:13:20.000  log ERROR  bad  (svc)"
    );
    assert_eq!(lines::event_line("heartbeat", "{}"), None);
}

//! Tests of the native event format.

use super::*;

const NOW: i64 = 1_800_000_000_000_000_000;
/// 2024-05-01T12:00:00Z
const MAY_1: i64 = 1_714_564_800_000_000_000;

fn attr<'a>(log: &'a RawLog, key: &str) -> Option<&'a AttrValue> {
    log.attributes
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v)
}

fn str_attr(s: &str) -> AttrValue {
    AttrValue::Str(s.to_owned())
}

#[test]
fn a_full_event_maps_every_field() {
    let body = br#"[{
        "timestamp": "2024-05-01T14:00:00+02:00",
        "level": "warning",
        "message": "tool call failed",
        "service": {"name": "planner", "version": "1.2.0", "instance_id": "pod-7"},
        "resource": {"deployment.environment": "prod"},
        "trace_id": "4BF92F3577B34DA6A3CE929D0E0E4736",
        "span_id": "00f067aa0ba902b7",
        "parent_span_id": "53995C3F42CD8AD8",
        "session_id": "sess-1",
        "agent": "planner",
        "task_id": "t-9",
        "user_id": "u-1",
        "tenant_id": "acme",
        "logger": "agent.tools",
        "event": {"category": "tool", "action": "call", "outcome": "failure"},
        "attributes": {"tool.name": "search", "args": {"q": "rust", "n": 3}},
        "retry": 2,
        "nothing": null
    }]"#;
    let batch = decode_events(body, NOW).unwrap();
    assert_eq!(batch.rejected_logs, 0, "{:?}", batch.errors);
    assert_eq!(
        batch.resources,
        vec![Resource {
            attributes: vec![
                ("service.instance.id".into(), str_attr("pod-7")),
                ("service.name".into(), str_attr("planner")),
                ("service.version".into(), str_attr("1.2.0")),
                ("deployment.environment".into(), str_attr("prod")),
            ]
        }]
    );
    let (res, log) = &batch.logs[0];
    assert_eq!(*res, 0);
    assert_eq!((log.time_ns, log.observed_ns), (MAY_1, NOW));
    assert_eq!(
        (log.severity_number, log.severity_text.as_str()),
        (13, "WARNING")
    );
    assert_eq!(log.body, str_attr("tool call failed"));
    assert_eq!(
        log.trace_id.unwrap().to_hex(),
        "4bf92f3577b34da6a3ce929d0e0e4736"
    );
    assert_eq!(log.span_id.unwrap().to_hex(), "00f067aa0ba902b7");
    assert_eq!(log.scope_name, "agent.tools");
    assert_eq!(log.event_name, "call");
    let expected = [
        ("session.id", str_attr("sess-1")),
        ("gen_ai.agent.name", str_attr("planner")),
        ("task.id", str_attr("t-9")),
        ("user.id", str_attr("u-1")),
        ("tenant.id", str_attr("acme")),
        ("parent_span_id", str_attr("53995c3f42cd8ad8")),
        ("event.category", str_attr("tool")),
        ("event.action", str_attr("call")),
        ("event.outcome", str_attr("failure")),
        ("tool.name", str_attr("search")),
        ("retry", AttrValue::Int(2)),
    ];
    for (k, v) in &expected {
        assert_eq!(attr(log, k), Some(v), "{k}");
    }
    assert_eq!(
        attr(log, "args"),
        Some(&AttrValue::Map(vec![
            ("n".into(), AttrValue::Int(3)),
            ("q".into(), str_attr("rust"))
        ]))
    );
    assert_eq!(attr(log, "nothing"), None);
    assert_eq!(log.attributes.len(), expected.len() + 1);
}

#[test]
fn defaults_for_a_minimal_event() {
    let batch = decode_events(br#"{"message": "hi"}"#, NOW).unwrap();
    let log = &batch.logs[0].1;
    assert_eq!(
        (log.time_ns, log.severity_number, log.severity_text.as_str()),
        (NOW, 9, "INFO")
    );
    assert_eq!((log.trace_id, log.span_id), (None, None));
    assert!(log.attributes.is_empty());
    assert_eq!(
        batch.resources[0].attributes,
        vec![("service.name".into(), str_attr("unknown_service"))]
    );
}

#[test]
fn levels_map_to_severity_numbers() {
    let cases = [
        ("trace", 1, "TRACE"),
        ("Debug", 5, "DEBUG"),
        ("INFO", 9, "INFO"),
        ("warn", 13, "WARN"),
        ("WARNING", 13, "WARNING"),
        ("error", 17, "ERROR"),
        ("fatal", 21, "FATAL"),
        ("critical", 21, "CRITICAL"),
        ("notice", 0, "NOTICE"),
    ];
    for (level, number, text) in cases {
        assert_eq!(
            level_of(&format!(r#"{{"message":"m","level":"{level}"}}"#)),
            (number, text.into())
        );
    }
}

fn level_of(line: &str) -> (i32, String) {
    let batch = decode_events(line.as_bytes(), NOW).unwrap();
    let log = &batch.logs[0].1;
    (log.severity_number, log.severity_text.clone())
}

#[test]
fn json_lines_share_resources_per_service_and_skip_blank_lines() {
    let body = b"{\"message\":\"a\",\"service\":\"x\"}\r\n\n  \n{\"message\":\"b\",\"service\":\"y\"}\n{\"message\":\"c\",\"service\":\"x\"}\n{\"message\":\"d\",\"service\":{\"name\":\"x\"}}\n{\"message\":\"e\",\"service\":\"x\",\"resource\":{\"k\":1}}\n";
    let batch = decode_events(body, NOW).unwrap();
    assert_eq!(batch.rejected_logs, 0, "{:?}", batch.errors);
    let indexes: Vec<usize> = batch.logs.iter().map(|(r, _)| *r).collect();
    // "x" as a string and as {"name": "x"} are spelled differently but both fine; "e" adds a key.
    assert_eq!(indexes, [0, 1, 0, 2, 3]);
    assert_eq!(
        batch.resources[0].attributes,
        vec![("service.name".into(), str_attr("x"))]
    );
    assert_eq!(batch.resources[2].attributes, batch.resources[0].attributes);
    assert_eq!(
        batch.resources[3].attributes,
        vec![
            ("service.name".into(), str_attr("x")),
            ("k".into(), AttrValue::Int(1))
        ]
    );
}

#[test]
fn explicit_service_wins_over_resource_and_resource_can_name_the_service() {
    let batch = decode_events(
        br#"{"message":"a","service":"svc","resource":{"service.name":"other","region":"eu"}}
{"message":"b","resource":{"service.name":"from-resource"}}"#,
        NOW,
    )
    .unwrap();
    assert_eq!(
        batch.resources[0].attributes,
        vec![
            ("service.name".into(), str_attr("svc")),
            ("region".into(), str_attr("eu"))
        ]
    );
    assert_eq!(
        batch.resources[1].attributes,
        vec![("service.name".into(), str_attr("from-resource"))]
    );
}

#[test]
fn a_bad_line_rejects_that_line_only() {
    let body = br#"{"message":"ok 1"}
{"message": "broken"
{"level":"info"}
{"message": 5}
[1, 2]
{"message":"bad trace","trace_id":"abcd"}
{"message":"bad span","span_id":"zz00000000000001"}
{"message":"bad parent","parent_span_id":"0000000000000000"}
{"message":"bad time","timestamp":"2023-02-29T00:00:00Z"}
{"message":"bad level","level":3}
{"message":"bad service","service":7}
{"message":"bad attributes","attributes":[1]}
{"message":"bad event","event":true}
{"message":"bad logger","logger":{}}
{"message":"ok 2","event":"started"}"#;
    let batch = decode_events(body, NOW).unwrap();
    let messages: Vec<&AttrValue> = batch.logs.iter().map(|(_, l)| &l.body).collect();
    assert_eq!(messages, [&str_attr("ok 1"), &str_attr("ok 2")]);
    assert_eq!(batch.logs[1].1.event_name, "started");
    assert_eq!(batch.rejected_logs, 13);
    let expected_prefixes = [
        "line 2: not valid JSON (EOF while parsing an object at line 1 column 20); send one JSON object per line",
        "line 3: field 'message' is required (a string)",
        "line 4: field 'message' is required (a string)",
        "line 5: expected a JSON object, got an array",
        "line 6: field 'trace_id' must be 32 hex characters, got 4; send the W3C trace id in hex, got \"abcd\"",
        "line 7: field 'span_id' must be hexadecimal (16 characters of 0-9, a-f); send the 8-byte span id in hex, got \"zz00000000000001\"",
        "line 8: field 'parent_span_id' must not be all zeros; send the parent's 8-byte span id in hex, got \"0000000000000000\"",
        "line 9: field 'timestamp' is not a valid time (day 29 does not exist in 2023-02): expected an RFC 3339 time",
        "line 10: field 'level' must be a string: TRACE, DEBUG, INFO, WARN, ERROR or FATAL",
        "line 11: field 'service' must be a string (the service name) or an object",
        "line 12: field 'attributes' must be an object of key/value pairs",
        "line 13: field 'event' must be an object such as",
        "line 14: field 'logger' must be a string",
    ];
    assert_eq!(batch.errors.len(), expected_prefixes.len());
    for (line, prefix) in batch.errors.iter().zip(expected_prefixes) {
        assert!(
            line.starts_with(prefix),
            "{line}\n  does not start with\n{prefix}"
        );
    }
}

#[test]
fn arrays_number_their_events_and_a_broken_array_fails() {
    let batch = decode_events(br#"[{"message":"a"}, {"nope":1}, "str"]"#, NOW).unwrap();
    assert_eq!(batch.logs.len(), 1);
    assert_eq!(
        batch.errors,
        [
            "event 2: field 'message' is required (a string)",
            "event 3: expected a JSON object, got \"str\""
        ]
    );
    let err = decode_events(b"[{\"message\":\"a\"},\n {\"message\": }]", NOW).unwrap_err();
    assert_eq!(
        err.to_string(),
        "the body is not a valid JSON array of events: expected value at line 2 column 14; send a JSON array of event objects, or one JSON object per line"
    );
}

#[test]
fn pretty_printed_single_object_and_empty_bodies() {
    let batch = decode_events(
        b"{\n  \"message\": \"pretty\",\n  \"level\": \"error\"\n}\n",
        NOW,
    )
    .unwrap();
    assert_eq!(batch.logs.len(), 1);
    assert_eq!(batch.logs[0].1.severity_number, 17);
    assert_eq!(decode_events(b"", NOW).unwrap(), RawBatch::default());
    assert_eq!(decode_events(b" \n\n", NOW).unwrap(), RawBatch::default());
    assert_eq!(decode_events(b"[]", NOW).unwrap(), RawBatch::default());
}

#[test]
fn epoch_timestamps_and_errors_are_capped() {
    let batch = decode_events(br#"[{"message":"m","timestamp":1714564800123}]"#, NOW).unwrap();
    assert_eq!(batch.logs[0].1.time_ns, MAY_1 + 123_000_000);
    let body = "{\"no\":1}\n".repeat(30);
    let batch = decode_events(body.as_bytes(), NOW).unwrap();
    assert_eq!(batch.rejected_logs, 30);
    assert_eq!(batch.errors.len(), 21);
    assert_eq!(batch.errors[20], "... and 10 more");
}

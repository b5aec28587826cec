//! Tests of the OTLP decoders, the conversion to `RawBatch` and the response encodings.

use super::*;
use crate::error::rpc::RpcStatus;
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceResponse;
use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, KeyValue};
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};
use serde_json::{json, Value};
use sightline_core::{AttrValue, SpanKind, StatusCode};

const TRACE: &str = "4BF92F3577B34DA6A3CE929D0E0E4736";
const SPAN: &str = "00f067aa0ba902b7";
const PARENT: &str = "53995C3F42CD8AD8";

fn realistic() -> Value {
    serde_json::from_str(
        r#"{
      "resourceSpans": [{
        "resource": {
          "attributes": [
            {"key": "service.name", "value": {"stringValue": "support-agent"}},
            {"key": "tenant.id", "value": {"stringValue": "acme"}}
          ],
          "droppedAttributesCount": 0
        },
        "schemaUrl": "https://opentelemetry.io/schemas/1.26.0",
        "scopeSpans": [{
          "scope": {"name": "openinference.langchain", "version": "0.1.2"},
          "spans": [{
            "traceId": "4BF92F3577B34DA6A3CE929D0E0E4736",
            "spanId": "00f067aa0ba902b7",
            "parentSpanId": "53995C3F42CD8AD8",
            "traceState": "vendor=1",
            "flags": 257,
            "name": "chat gpt-4o",
            "kind": 3,
            "startTimeUnixNano": "1714564800000000000",
            "endTimeUnixNano": 1714564801500000000,
            "attributes": [
              {"key": "gen_ai.request.model", "value": {"stringValue": "gpt-4o"}},
              {"key": "gen_ai.usage.input_tokens", "value": {"intValue": "1200"}},
              {"key": "gen_ai.usage.output_tokens", "value": {"intValue": 85}},
              {"key": "gen_ai.request.temperature", "value": {"doubleValue": 0.2}},
              {"key": "nan", "value": {"doubleValue": "NaN"}},
              {"key": "stream", "value": {"boolValue": true}},
              {"key": "blob", "value": {"bytesValue": "AQID/w=="}},
              {"key": "unset", "value": {}},
              {"key": "no.value"},
              {"key": "finish_reasons", "value": {"arrayValue": {"values": [
                {"stringValue": "stop"}, {"intValue": "-3"}
              ]}}},
              {"key": "llm.input", "value": {"kvlistValue": {"values": [
                {"key": "role", "value": {"stringValue": "user"}},
                {"key": "parts", "value": {"arrayValue": {"values": [
                  {"kvlistValue": {"values": [{"key": "n", "value": {"intValue": 1}}]}}
                ]}}}
              ]}}}
            ],
            "droppedAttributesCount": "2",
            "events": [{"timeUnixNano": "1714564800500000000", "name": "gen_ai.choice",
                        "attributes": [{"key": "index", "value": {"intValue": 0}}]}],
            "links": [{"traceId": "4bf92f3577b34da6a3ce929d0e0e4736", "spanId": "53995c3f42cd8ad8", "attributes": []}],
            "status": {"code": 2, "message": "rate limited"},
            "someFutureField": {"ignored": true}
          }]
        }]
      }]
    }"#,
    )
    .unwrap()
}

fn decode_json(v: &Value) -> Result<ExportTraceServiceRequest, DecodeError> {
    decode_traces(v.to_string().as_bytes(), Format::Json)
}

fn err_text(v: Value) -> String {
    decode_json(&v).unwrap_err().to_string()
}

#[test]
fn json_realistic_request_decodes_every_value_type() {
    let req = decode_json(&realistic()).unwrap();
    let rs = &req.resource_spans[0];
    assert_eq!(rs.schema_url, "https://opentelemetry.io/schemas/1.26.0");
    let span = &rs.scope_spans[0].spans[0];
    assert_eq!(hex::encode(&span.trace_id), TRACE.to_lowercase());
    assert_eq!(hex::encode(&span.parent_span_id), PARENT.to_lowercase());
    assert_eq!(span.flags, 257);
    assert_eq!(span.kind, 3);
    assert_eq!(span.start_time_unix_nano, 1_714_564_800_000_000_000);
    assert_eq!(span.end_time_unix_nano, 1_714_564_801_500_000_000);
    assert_eq!(span.dropped_attributes_count, 2);
    assert_eq!(span.status.as_ref().unwrap().code, 2);
    assert_eq!(span.events[0].time_unix_nano, 1_714_564_800_500_000_000);

    let batch = traces_to_raw(req);
    assert_eq!(batch.rejected_spans, 0, "{:?}", batch.errors);
    assert!(batch.errors.is_empty());
    assert_eq!(batch.resources.len(), 1);
    assert_eq!(
        batch.resources[0].attributes[1],
        ("tenant.id".into(), AttrValue::Str("acme".into()))
    );
    let (res, raw) = &batch.spans[0];
    assert_eq!(*res, 0);
    assert_eq!(raw.trace_id.to_hex(), TRACE.to_lowercase());
    assert_eq!(raw.parent_span_id.unwrap().to_hex(), PARENT.to_lowercase());
    assert_eq!(raw.span_kind, SpanKind::Client);
    assert_eq!(raw.status_code, StatusCode::Error);
    assert_eq!(raw.status_message, "rate limited");
    assert_eq!(
        (raw.scope_name.as_str(), raw.scope_version.as_str()),
        ("openinference.langchain", "0.1.2")
    );
    let attr = |k: &str| {
        raw.attributes
            .iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.clone())
            .unwrap()
    };
    assert_eq!(attr("gen_ai.usage.input_tokens"), AttrValue::Int(1200));
    assert_eq!(attr("gen_ai.usage.output_tokens"), AttrValue::Int(85));
    assert_eq!(attr("gen_ai.request.temperature"), AttrValue::Double(0.2));
    assert!(matches!(attr("nan"), AttrValue::Double(d) if d.is_nan()));
    assert_eq!(attr("stream"), AttrValue::Bool(true));
    assert_eq!(attr("blob"), AttrValue::Bytes(vec![1, 2, 3, 255]));
    assert_eq!(attr("unset"), AttrValue::Empty);
    assert_eq!(attr("no.value"), AttrValue::Empty);
    assert_eq!(
        attr("finish_reasons"),
        AttrValue::Array(vec![AttrValue::Str("stop".into()), AttrValue::Int(-3)])
    );
    assert_eq!(
        attr("llm.input"),
        AttrValue::Map(vec![
            ("role".into(), AttrValue::Str("user".into())),
            (
                "parts".into(),
                AttrValue::Array(vec![AttrValue::Map(vec![("n".into(), AttrValue::Int(1))])])
            ),
        ])
    );
    assert_eq!(raw.events[0].name, "gen_ai.choice");
    assert_eq!(
        raw.events[0].attributes,
        vec![("index".into(), AttrValue::Int(0))]
    );
    assert_eq!(raw.links[0].span_id.to_hex(), PARENT.to_lowercase());
}

#[test]
fn json_missing_and_null_fields_default() {
    let req =
        decode_json(&json!({"resourceSpans": [{"scopeSpans": [{"spans": [{"name": null}]}]}]}))
            .unwrap();
    let span = &req.resource_spans[0].scope_spans[0].spans[0];
    assert_eq!(span, &Span::default());
    assert!(req.resource_spans[0].resource.is_none());
    assert_eq!(
        decode_traces(b"", Format::Json).unwrap(),
        ExportTraceServiceRequest::default()
    );
    assert_eq!(
        decode_traces(b" \n", Format::Json).unwrap(),
        ExportTraceServiceRequest::default()
    );
    assert_eq!(
        decode_json(&json!({})).unwrap(),
        ExportTraceServiceRequest::default()
    );
    assert_eq!(
        decode_logs(b"", Format::Json).unwrap(),
        ExportLogsServiceRequest::default()
    );
}

#[test]
fn json_error_paths_name_the_field_and_the_fix() {
    let span_with = |field: &str, value: Value| {
        let mut span = json!({"traceId": TRACE, "spanId": SPAN, "name": "x"});
        span[field] = value;
        json!({"resourceSpans": [{"scopeSpans": [{}, {"spans": [{}, {}, {}, span]}]}]})
    };
    let at = "resourceSpans[0].scopeSpans[1].spans[3]";
    let cases = [
        (span_with("startTimeUnixNano", json!(true)),
         format!("{at}.startTimeUnixNano: expected a decimal string or integer of nanoseconds, got true")),
        (span_with("endTimeUnixNano", json!("-1")),
         format!("{at}.endTimeUnixNano: expected a decimal string or integer of nanoseconds, got \"-1\"")),
        (span_with("kind", json!("SPAN_KIND_SERVER")),
         format!("{at}.kind: OTLP/JSON sends enums as integers, not names; send 2 instead of \"SPAN_KIND_SERVER\"")),
        (span_with("kind", json!("banana")),
         format!("{at}.kind: expected an integer enum value (e.g. 2 for SPAN_KIND_SERVER); OTLP/JSON does not use enum names, got \"banana\"")),
        (span_with("status", json!({"code": "STATUS_CODE_ERROR"})),
         format!("{at}.status.code: OTLP/JSON sends enums as integers, not names; send 2 instead of \"STATUS_CODE_ERROR\"")),
        (span_with("traceId", json!("S/kvNXezTaajzpKdDg5HNg==")),
         format!("{at}.traceId: expected a hex string (32 hex characters for a trace id); OTLP/JSON encodes ids as hex, not base64, got \"S/kvNXezTaajzpKdDg5HNg==\"")),
        (span_with("spanId", json!(12)),
         format!("{at}.spanId: expected a hex string (16 hex characters for a span id); OTLP/JSON encodes ids as hex, not base64, got 12")),
        (span_with("name", json!(5)), format!("{at}.name: expected a string, got 5")),
        (span_with("attributes", json!({})), format!("{at}.attributes: expected an array, got an object")),
        (span_with("attributes", json!([{"key": "a", "value": {"intValue": "1.5"}}])),
         format!("{at}.attributes[0].value.intValue: expected a decimal string or integer (int64), got \"1.5\"")),
        (span_with("attributes", json!([{"key": "a", "value": {"boolValue": "true"}}])),
         format!("{at}.attributes[0].value.boolValue: expected true or false, got \"true\"")),
        (span_with("attributes", json!([{"key": "a", "value": {"doubleValue": "x"}}])),
         format!("{at}.attributes[0].value.doubleValue: expected a number (or \"NaN\", \"Infinity\", \"-Infinity\"), got \"x\"")),
        (span_with("attributes", json!([{"key": "a", "value": "plain"}])),
         format!("{at}.attributes[0].value: expected an AnyValue object such as {{\"stringValue\": \"...\"}}, got \"plain\"")),
        (span_with("attributes", json!([{"key": "a", "value": {"stringValue": "x", "intValue": 1}}])),
         format!("{at}.attributes[0].value: an AnyValue holds one value, but intValue is set beside another; send only one of stringValue, boolValue, intValue, doubleValue, arrayValue, kvlistValue, bytesValue")),
        (span_with("attributes", json!([{"key": "a", "value": {"arrayValue": {"values": [{"kvlistValue": {"values": [{"key": "k", "value": {"intValue": []}}]}}]}}}])),
         format!("{at}.attributes[0].value.arrayValue.values[0].kvlistValue.values[0].value.intValue: expected a decimal string or integer (int64), got an array")),
        (span_with("events", json!([{"timeUnixNano": 1.5}])),
         format!("{at}.events[0].timeUnixNano: expected a decimal string or integer of nanoseconds, got 1.5")),
        (span_with("links", json!([{"traceId": "xyz"}])),
         format!("{at}.links[0].traceId: expected a hex string (32 hex characters for a trace id); OTLP/JSON encodes ids as hex, not base64, got \"xyz\"")),
        (span_with("flags", json!(-1)), format!("{at}.flags: expected a non-negative integer, got -1")),
        (json!([1]), "the request: expected an ExportTraceServiceRequest object, got an array".into()),
        (json!({"resourceSpans": {}}), "resourceSpans: expected an array, got an object".into()),
        (json!({"resourceSpans": [{"resource": []}]}), "resourceSpans[0].resource: expected a resource object, got an array".into()),
        (json!({"resource_spans": []}),
         "resource_spans: OTLP/JSON keys are lowerCamelCase; rename resource_spans to resourceSpans (and likewise for nested keys)".into()),
    ];
    for (input, expected) in cases {
        assert_eq!(err_text(input), expected);
    }
    let bad = decode_json(&span_with(
        "attributes",
        json!([{"key": "b", "value": {"bytesValue": "!!"}}]),
    ));
    assert!(bad.unwrap_err().to_string().starts_with(&format!(
        "{at}.attributes[0].value.bytesValue: expected a base64 string ("
    )));
}

#[test]
fn json_syntax_errors_and_numbers_in_both_forms() {
    let err = decode_traces(b"{\"resourceSpans\": [", Format::Json).unwrap_err();
    assert!(matches!(err, DecodeError::JsonSyntax(_)));
    assert!(
        err.to_string().starts_with("the body is not valid JSON: "),
        "{err}"
    );
    // int64 as numbers, strings and integral floats; URL-safe base64 without padding.
    let v = json!({"resourceLogs": [{"scopeLogs": [{"logRecords": [{
        "timeUnixNano": 1.7e18, "observedTimeUnixNano": " 1700000000000000001 ",
        "severityNumber": 17, "body": {"bytesValue": "_-8"}, "eventName": "e",
        "traceId": "", "spanId": ""
    }]}]}]});
    let req = decode_logs(v.to_string().as_bytes(), Format::Json).unwrap();
    let rec = &req.resource_logs[0].scope_logs[0].log_records[0];
    assert_eq!(rec.time_unix_nano, 1_700_000_000_000_000_000);
    assert_eq!(rec.observed_time_unix_nano, 1_700_000_000_000_000_001);
    assert_eq!(
        rec.body.as_ref().unwrap().value,
        Some(any_value::Value::BytesValue(vec![0xff, 0xef]))
    );
    let err = decode_logs(br#"{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"severityNumber":"SEVERITY_NUMBER_WARN2"}]}]}]}"#, Format::Json)
        .unwrap_err();
    assert_eq!(err.to_string(), "resourceLogs[0].scopeLogs[0].logRecords[0].severityNumber: OTLP/JSON sends enums as integers, not names; send 14 instead of \"SEVERITY_NUMBER_WARN2\"");
}

fn kv(key: &str, v: any_value::Value) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: Some(AnyValue { value: Some(v) }),
        key_strindex: 0,
    }
}

fn good_span(name: &str, span_id: u8) -> Span {
    Span {
        trace_id: vec![0xab; 16],
        span_id: vec![span_id; 8],
        name: name.into(),
        start_time_unix_nano: 1_000,
        end_time_unix_nano: 2_000,
        ..Span::default()
    }
}

fn request(spans: Vec<Span>) -> ExportTraceServiceRequest {
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            scope_spans: vec![ScopeSpans {
                spans,
                ..ScopeSpans::default()
            }],
            ..ResourceSpans::default()
        }],
    }
}

#[test]
fn protobuf_round_trip() {
    let mut span = good_span("tool", 1);
    span.attributes = vec![kv("k", any_value::Value::IntValue(7))];
    let req = request(vec![span]);
    let decoded = decode_traces(&req.encode_to_vec(), Format::Protobuf).unwrap();
    assert_eq!(decoded, req);
    assert_eq!(
        decode_traces(b"", Format::Protobuf).unwrap(),
        ExportTraceServiceRequest::default()
    );
    let err = decode_traces(b"\xff\xff\xff", Format::Protobuf)
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("the body is not a valid ExportTraceServiceRequest protobuf: "),
        "{err}"
    );
    let logs = ExportLogsServiceRequest {
        resource_logs: vec![ResourceLogs {
            scope_logs: vec![ScopeLogs {
                log_records: vec![LogRecord::default()],
                ..ScopeLogs::default()
            }],
            ..ResourceLogs::default()
        }],
    };
    assert_eq!(
        decode_logs(&logs.encode_to_vec(), Format::Protobuf).unwrap(),
        logs
    );
    let err = decode_logs(b"\x0a\x05ab", Format::Protobuf)
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("the body is not a valid ExportLogsServiceRequest protobuf: "),
        "{err}"
    );
}

#[test]
fn conversion_rejects_bad_spans_and_keeps_the_rest() {
    let mut short_trace = good_span("short trace", 2);
    short_trace.trace_id = vec![1; 8];
    let mut zero_span = good_span("zero span", 3);
    zero_span.span_id = vec![0; 8];
    let mut bad_parent = good_span("bad parent", 4);
    bad_parent.parent_span_id = vec![1; 4];
    let mut backwards = good_span("backwards", 5);
    backwards.end_time_unix_nano = 500;
    let mut no_start = good_span("no start", 6);
    no_start.start_time_unix_nano = 0;
    let mut far_future = good_span("far future", 7);
    far_future.start_time_unix_nano = u64::MAX;
    far_future.end_time_unix_nano = u64::MAX;
    let mut bad_link = good_span("bad link", 8);
    bad_link.links = vec![
        opentelemetry_proto::tonic::trace::v1::span::Link {
            trace_id: vec![2; 16],
            span_id: vec![3; 8],
            ..Default::default()
        },
        opentelemetry_proto::tonic::trace::v1::span::Link {
            trace_id: vec![2; 15],
            span_id: vec![3; 8],
            ..Default::default()
        },
    ];
    let spans = vec![
        good_span("first", 1),
        short_trace,
        zero_span,
        bad_parent,
        backwards,
        no_start,
        far_future,
        bad_link,
    ];
    let batch = traces_to_raw(request(spans));
    let names: Vec<&str> = batch.spans.iter().map(|(_, s)| s.name.as_str()).collect();
    assert_eq!(names, ["first", "bad link"]);
    assert_eq!(batch.rejected_spans, 6);
    assert_eq!(batch.spans[1].1.links.len(), 1);
    let at = "resourceSpans[0].scopeSpans[0].spans";
    assert_eq!(batch.errors, [
        format!("{at}[1] (span \"short trace\"): traceId must be 16 bytes (32 hex characters), got 8 bytes; send the W3C trace id (16 random bytes)"),
        format!("{at}[2] (span \"zero span\"): spanId must not be all zeros; send the span's 8-byte id"),
        format!("{at}[3] (span \"bad parent\"): parentSpanId must be 8 bytes (16 hex characters), got 4 bytes; send the parent's 8-byte span id, or leave it empty for a root span"),
        format!("{at}[4] (span \"backwards\"): endTimeUnixNano (500) is before startTimeUnixNano (1000); send the end time of a finished span, in nanoseconds since the Unix epoch"),
        format!("{at}[5] (span \"no start\"): startTimeUnixNano is 0; send the span's start time in nanoseconds since the Unix epoch"),
        format!("{at}[6] (span \"far future\"): startTimeUnixNano (18446744073709551615) is beyond the year 2262; send nanoseconds since the Unix epoch"),
        format!("{at}[7].links[1]: traceId must be 16 bytes (32 hex characters), got 15 bytes; send the W3C trace id (16 random bytes); the link was dropped and the span kept"),
    ]);
}

#[test]
fn conversion_keeps_one_resource_per_entry_and_caps_errors() {
    let mut bad = good_span("bad", 1);
    bad.trace_id.clear();
    let mut req = request(vec![bad; 25]);
    req.resource_spans.push(ResourceSpans::default());
    req.resource_spans
        .push(request(vec![good_span("ok", 9)]).resource_spans.remove(0));
    let batch = traces_to_raw(req);
    assert_eq!(batch.resources.len(), 3);
    assert_eq!(batch.spans.len(), 1);
    assert_eq!(batch.spans[0].0, 2);
    assert_eq!(batch.rejected_spans, 25);
    assert_eq!(batch.errors.len(), 21);
    assert_eq!(batch.errors[20], "... and 5 more");
    assert!(batch.errors[19].starts_with(
        "resourceSpans[0].scopeSpans[0].spans[19] (span \"bad\"): traceId must be 16 bytes"
    ));
}

#[test]
fn event_times_default_to_the_span_start() {
    let mut span = good_span("s", 1);
    span.events = vec![
        opentelemetry_proto::tonic::trace::v1::span::Event {
            name: "untimed".into(),
            ..Default::default()
        },
        opentelemetry_proto::tonic::trace::v1::span::Event {
            name: "late".into(),
            time_unix_nano: u64::MAX,
            ..Default::default()
        },
    ];
    let batch = traces_to_raw(request(vec![span]));
    assert_eq!(batch.spans[0].1.events.len(), 1);
    assert_eq!(batch.spans[0].1.events[0].time_ns, 1_000);
    assert_eq!(batch.rejected_spans, 0);
    assert!(batch.errors[0].ends_with("timeUnixNano (18446744073709551615) is beyond the year 2262; send nanoseconds since the Unix epoch; the event was dropped and the span kept"), "{:?}", batch.errors);
}

#[test]
fn logs_conversion() {
    let record = |f: &dyn Fn(&mut LogRecord)| {
        let mut r = LogRecord {
            time_unix_nano: 5,
            observed_time_unix_nano: 6,
            severity_number: 17,
            severity_text: "ERROR".into(),
            body: Some(AnyValue {
                value: Some(any_value::Value::StringValue("boom".into())),
            }),
            attributes: vec![kv("a", any_value::Value::BoolValue(false))],
            trace_id: vec![1; 16],
            span_id: vec![2; 8],
            event_name: "exception".into(),
            ..LogRecord::default()
        };
        f(&mut r);
        r
    };
    let req = ExportLogsServiceRequest {
        resource_logs: vec![ResourceLogs {
            resource: Some(opentelemetry_proto::tonic::resource::v1::Resource {
                attributes: vec![kv(
                    "service.name",
                    any_value::Value::StringValue("svc".into()),
                )],
                ..Default::default()
            }),
            scope_logs: vec![ScopeLogs {
                scope: Some(
                    opentelemetry_proto::tonic::common::v1::InstrumentationScope {
                        name: "app.logger".into(),
                        ..Default::default()
                    },
                ),
                log_records: vec![
                    record(&|_| {}),
                    record(&|r| {
                        r.time_unix_nano = 0;
                        r.trace_id.clear();
                        r.span_id.clear();
                        r.body = None;
                    }),
                    record(&|r| {
                        r.time_unix_nano = 0;
                        r.observed_time_unix_nano = 0;
                    }),
                    record(&|r| r.trace_id = vec![0; 16]),
                    record(&|r| r.span_id = vec![1; 3]),
                    record(&|r| r.time_unix_nano = u64::MAX),
                ],
                ..Default::default()
            }],
            ..Default::default()
        }],
    };
    let batch = logs_to_raw(req);
    assert_eq!(
        batch.resources[0].attributes,
        vec![("service.name".into(), AttrValue::Str("svc".into()))]
    );
    assert_eq!(batch.logs.len(), 3);
    let (res, first) = &batch.logs[0];
    assert_eq!(*res, 0);
    assert_eq!(
        (first.time_ns, first.observed_ns, first.severity_number),
        (5, 6, 17)
    );
    assert_eq!(first.body, AttrValue::Str("boom".into()));
    assert_eq!(first.scope_name, "app.logger");
    assert_eq!(first.event_name, "exception");
    assert_eq!(first.trace_id.unwrap().to_hex(), "01".repeat(16));
    let second = &batch.logs[1].1;
    assert_eq!(
        (second.time_ns, second.trace_id, second.span_id),
        (6, None, None)
    );
    assert_eq!(second.body, AttrValue::Empty);
    assert_eq!(batch.logs[2].1.time_ns, 0);
    assert_eq!(batch.rejected_logs, 3);
    let at = "resourceLogs[0].scopeLogs[0].logRecords";
    assert_eq!(batch.errors, [
        format!("{at}[3]: traceId must not be all zeros; send the W3C trace id of the active span, or leave it empty"),
        format!("{at}[4]: spanId must be 8 bytes (16 hex characters), got 3 bytes; send the active span's 8-byte id, or leave it empty"),
        format!("{at}[5]: timeUnixNano (18446744073709551615) is beyond the year 2262; send nanoseconds since the Unix epoch"),
    ]);
}

#[test]
fn json_responses_have_the_exact_shapes() {
    let text = |b: Vec<u8>| String::from_utf8(b).unwrap();
    assert_eq!(text(encode_trace_response(0, "", Format::Json)), "{}");
    assert_eq!(
        text(encode_trace_response(2, "bad ids", Format::Json)),
        r#"{"partialSuccess":{"rejectedSpans":"2","errorMessage":"bad ids"}}"#
    );
    assert_eq!(
        text(encode_trace_response(0, "link dropped", Format::Json)),
        r#"{"partialSuccess":{"rejectedSpans":"0","errorMessage":"link dropped"}}"#
    );
    assert_eq!(text(encode_logs_response(0, "", Format::Json)), "{}");
    assert_eq!(
        text(encode_logs_response(3, "x", Format::Json)),
        r#"{"partialSuccess":{"rejectedLogRecords":"3","errorMessage":"x"}}"#
    );
    assert_eq!(
        text(encode_status(
            3,
            "resourceSpans: expected an array",
            Format::Json
        )),
        r#"{"code":3,"message":"resourceSpans: expected an array"}"#
    );
}

#[test]
fn protobuf_responses_decode_back() {
    let full = ExportTraceServiceResponse::decode(&*encode_trace_response(0, "", Format::Protobuf))
        .unwrap();
    assert_eq!(full.partial_success, None);
    let partial =
        ExportTraceServiceResponse::decode(&*encode_trace_response(2, "m", Format::Protobuf))
            .unwrap();
    let p = partial.partial_success.unwrap();
    assert_eq!((p.rejected_spans, p.error_message.as_str()), (2, "m"));
    let warn = ExportLogsServiceResponse::decode(&*encode_logs_response(0, "w", Format::Protobuf))
        .unwrap();
    let p = warn.partial_success.unwrap();
    assert_eq!((p.rejected_log_records, p.error_message.as_str()), (0, "w"));
    assert_eq!(
        ExportLogsServiceResponse::decode(&*encode_logs_response(0, "", Format::Protobuf))
            .unwrap()
            .partial_success,
        None
    );
    let status = RpcStatus::decode(&*encode_status(8, "slow down", Format::Protobuf)).unwrap();
    assert_eq!(
        (status.code, status.message.as_str(), status.details.len()),
        (8, "slow down", 0)
    );
}

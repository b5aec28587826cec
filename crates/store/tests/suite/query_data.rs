//! The known dataset the explore suite writes, and the per-observation matcher its brute-force
//! expectations are computed with.

use std::sync::Arc;

use serde_json::json;
use sightline_core::model_name::model_matches;
use sightline_core::{
    AttrValue, ErrorInfo, Message, Observation, ObservationKind, Payload, ProjectId, StatusCode,
};
use sightline_store::{Engine, ObservationFilter, StatusFilter};

use super::{batch, sid, tid};

pub const P1: ProjectId = ProjectId(1);
pub const BASE: i64 = 1_700_000_000_000_000_000;
pub const TRACES: u8 = 24;

pub fn str_attr(k: &str, v: &str) -> (String, AttrValue) {
    (k.into(), AttrValue::Str(v.into()))
}

pub fn user_says(text: String) -> Payload {
    Payload::Messages(vec![Message {
        role: "user".into(),
        content: Some(text),
        ..Default::default()
    }])
}

/// The trace dimensions of trace `t`: (service, agent, user, session, tenant).
pub fn dims(
    t: u8,
) -> (
    &'static str,
    &'static str,
    &'static str,
    Option<&'static str>,
    &'static str,
) {
    let session = match t % 4 {
        0 => Some("s1"),
        1 => Some("s2"),
        2 => Some("s3"),
        _ => None,
    };
    (
        ["svc-a", "svc-b", "svc-c"][usize::from(t % 3)],
        ["planner", "coder"][usize::from(t % 2)],
        ["u1", "u2", "u3"][usize::from(t % 3)],
        session,
        ["t1", "t2"][usize::from((t / 2) % 2)],
    )
}

/// A deterministic data set: `TRACES` traces of an agent root, an llm call and (every other
/// trace) a tool call, with ties in start times, errors, attributes, tags and payloads.
pub fn dataset() -> Vec<Observation> {
    let mut out = Vec::new();
    for t in 0..TRACES {
        let ti = i64::from(t);
        let start = BASE + (ti % 6) * 1_000_000;
        let (service, agent, user, session, tenant) = dims(t);
        let mut spans = Vec::new();

        let mut root = Observation::new(tid(t + 1), sid(1), format!("run-{}", t % 3));
        root.kind = ObservationKind::Agent;
        root.start_ns = start;
        root.end_ns = start + 10_000 + (ti * 7919 % 13) * 1000;
        root.operation = Some("invoke_agent".into());
        if t % 5 != 0 {
            let city = ["Paris", "Tokyo", "Lima"][usize::from(t % 3)];
            root.input = Some(user_says(format!("Question {t}: weather in {city}")));
            root.output = Some(Payload::Value(json!({"answer": format!("Sunny {t}")})));
        }
        spans.push(root);

        let mut llm = Observation::new(tid(t + 1), sid(2), "chat".into());
        llm.parent_span_id = Some(sid(1));
        llm.kind = ObservationKind::Llm;
        llm.start_ns = start + 100;
        llm.end_ns = llm.start_ns + (ti * 31 % 7 + 1) * 500;
        llm.operation = Some("chat".into());
        // Models as providers name them: a family asked, a snapshot answered; a deployment.
        let (request, response) = match t % 4 {
            0 => ("gpt-4o", Some("gpt-4o-2024-08-06")),
            1 => (
                "claude-3-5-sonnet-latest",
                Some("claude-3-5-sonnet-20241022"),
            ),
            2 => ("gpt-4o-mini", None),
            _ => ("prod-deploy", Some("claude-3-5-sonnet-20241022")),
        };
        llm.request_model = Some(request.into());
        llm.response_model = response.map(str::to_owned);
        llm.provider = Some(["openai", "anthropic"][usize::from(t % 2)].into());
        llm.usage.input = Some(10 * ti);
        llm.usage.output = Some(ti);
        llm.usage.total = (t % 2 == 0).then_some(11 * ti);
        if t % 3 != 0 {
            llm.cost = Some(sightline_core::Cost {
                nano_usd: Some(ti * 100),
                source: sightline_core::CostSource::Computed,
                reason: None,
            });
        }
        if t % 4 == 1 {
            llm.status = StatusCode::Error;
        }
        llm.attributes = vec![
            str_attr("env", ["prod", "dev"][usize::from(t % 2)]),
            ("retries".into(), AttrValue::Int(ti % 3)),
        ];
        if t % 2 == 0 {
            llm.tags.push("beta".into());
        }
        if t % 3 == 0 {
            llm.tags.push("gold".into());
        }
        llm.input = Some(user_says(format!("Translate HELLO world {t}")));
        llm.output = Some(Payload::Messages(vec![Message {
            role: "assistant".into(),
            content: Some(format!("Bonjour {t}")),
            ..Default::default()
        }]));
        spans.push(llm);

        if t % 2 == 0 {
            let mut tool = Observation::new(tid(t + 1), sid(3), "search".into());
            tool.parent_span_id = Some(sid(1));
            tool.kind = ObservationKind::Tool;
            tool.start_ns = start + 2000;
            tool.end_ns = tool.start_ns + 300 * (ti % 4 + 1);
            tool.operation = Some("execute_tool".into());
            if t % 6 == 0 {
                tool.error = Some(ErrorInfo {
                    error_type: Some("Timeout".into()),
                    ..Default::default()
                });
            }
            tool.attributes = vec![
                str_attr("env", "prod"),
                ("flag".into(), AttrValue::Bool(true)),
            ];
            let args = json!({"query": format!("Lookup MARKET {t}")});
            tool.tool_arguments = Some(args.clone());
            tool.input = Some(Payload::Value(args));
            spans.push(tool);
        }
        for s in &mut spans {
            s.service_name = Some(service.into());
            s.agent_name = Some(agent.into());
            s.user_id = Some(user.into());
            s.session_id = session.map(str::to_owned);
            s.tenant_id = Some(tenant.into());
        }
        out.extend(spans);
    }
    out
}

pub async fn load(store: &Arc<dyn Engine>, project: ProjectId, obs: &[Observation]) {
    // Two batches: the summary must be right whichever batch a trace's spans arrive in.
    let (a, b) = obs.split_at(obs.len() / 2);
    store.write(project, batch(a.to_vec())).await.unwrap();
    store.write(project, batch(b.to_vec())).await.unwrap();
}

// ---- brute force ----

pub fn payload_has(p: &Option<Payload>, q: &str) -> bool {
    fn json_has(v: &serde_json::Value, q: &str) -> bool {
        match v {
            serde_json::Value::String(s) => s.to_lowercase().contains(q),
            serde_json::Value::Array(a) => a.iter().any(|x| json_has(x, q)),
            serde_json::Value::Object(o) => o.values().any(|x| json_has(x, q)),
            _ => false,
        }
    }
    match p {
        None => false,
        Some(Payload::Value(v)) => json_has(v, q),
        Some(Payload::Messages(m)) => m.iter().any(|m| {
            m.content
                .as_deref()
                .unwrap_or("")
                .to_lowercase()
                .contains(q)
        }),
    }
}

pub fn attr_text(v: &AttrValue) -> String {
    match v {
        AttrValue::Str(s) => s.clone(),
        other => other.to_json().to_string(),
    }
}

/// The fields a trace list tests on single observations.
pub fn per_observation_match(o: &Observation, f: &ObservationFilter) -> bool {
    let eq = |want: &Option<String>, have: &Option<String>| want.is_none() || want == have;
    f.kind.is_none_or(|k| o.kind == k)
        && f.name.as_ref().is_none_or(|n| *n == o.name)
        && eq(&f.service, &o.service_name)
        && eq(&f.agent, &o.agent_name)
        && f.model.as_ref().is_none_or(|m| {
            model_matches(m, o.request_model.as_deref(), o.response_model.as_deref())
        })
        && eq(&f.provider, &o.provider)
        && eq(&f.user_id, &o.user_id)
        && eq(&f.session_id, &o.session_id)
        && eq(&f.tenant_id, &o.tenant_id)
        && f.attributes.iter().all(|(k, v)| {
            o.attributes
                .iter()
                .any(|(ok, ov)| ok == k && attr_text(ov) == *v)
        })
        && f.tags.iter().all(|t| o.tags.contains(t))
        && f.text.as_ref().is_none_or(|q| {
            let q = q.to_lowercase();
            o.name.to_lowercase().contains(&q)
                || payload_has(&o.input, &q)
                || payload_has(&o.output, &q)
        })
}

pub fn obs_match(o: &Observation, f: &ObservationFilter) -> bool {
    f.from_ns.is_none_or(|from| o.start_ns >= from)
        && f.to_ns.is_none_or(|to| o.start_ns < to)
        && f.trace_id.is_none_or(|t| o.trace_id == t)
        && match f.status {
            StatusFilter::Any => true,
            StatusFilter::Error => o.is_error(),
            StatusFilter::Ok => !o.is_error(),
        }
        && f.min_duration_ns.is_none_or(|d| o.end_ns - o.start_ns >= d)
        && per_observation_match(o, f)
}

pub fn counts_usage(o: &Observation) -> bool {
    matches!(o.kind, ObservationKind::Llm | ObservationKind::Embedding)
}

pub fn total_of(o: &Observation) -> i64 {
    o.usage
        .total
        .unwrap_or(o.usage.input.unwrap_or(0) + o.usage.output.unwrap_or(0))
}

/// The filters every list is checked with; each narrows the data set (checked below).
pub fn filters() -> Vec<(&'static str, ObservationFilter)> {
    let f = ObservationFilter::default;
    vec![
        (
            "from",
            ObservationFilter {
                from_ns: Some(BASE + 3_000_000),
                ..f()
            },
        ),
        (
            "to",
            ObservationFilter {
                to_ns: Some(BASE + 2_000_000),
                ..f()
            },
        ),
        (
            "window",
            ObservationFilter {
                from_ns: Some(BASE + 1_000_000),
                to_ns: Some(BASE + 3_000_000),
                ..f()
            },
        ),
        (
            "trace_id",
            ObservationFilter {
                trace_id: Some(tid(5)),
                ..f()
            },
        ),
        (
            "kind",
            ObservationFilter {
                kind: Some(ObservationKind::Tool),
                ..f()
            },
        ),
        (
            "name",
            ObservationFilter {
                name: Some("run-1".into()),
                ..f()
            },
        ),
        (
            "service",
            ObservationFilter {
                service: Some("svc-b".into()),
                ..f()
            },
        ),
        (
            "agent",
            ObservationFilter {
                agent: Some("coder".into()),
                ..f()
            },
        ),
        (
            "model family (not gpt-4o-mini)",
            ObservationFilter {
                model: Some("gpt-4o".into()),
                ..f()
            },
        ),
        (
            "model answered",
            ObservationFilter {
                model: Some("claude-3-5-sonnet-20241022".into()),
                ..f()
            },
        ),
        (
            "model requested, another family answered",
            ObservationFilter {
                model: Some("prod-deploy".into()),
                ..f()
            },
        ),
        (
            "model family of -latest and dated names",
            ObservationFilter {
                model: Some("claude-3-5-sonnet".into()),
                ..f()
            },
        ),
        (
            "provider",
            ObservationFilter {
                provider: Some("openai".into()),
                ..f()
            },
        ),
        (
            "user_id",
            ObservationFilter {
                user_id: Some("u3".into()),
                ..f()
            },
        ),
        (
            "session_id",
            ObservationFilter {
                session_id: Some("s2".into()),
                ..f()
            },
        ),
        (
            "tenant_id",
            ObservationFilter {
                tenant_id: Some("t2".into()),
                ..f()
            },
        ),
        (
            "status error",
            ObservationFilter {
                status: StatusFilter::Error,
                ..f()
            },
        ),
        (
            "status ok",
            ObservationFilter {
                status: StatusFilter::Ok,
                ..f()
            },
        ),
        (
            "min duration",
            ObservationFilter {
                min_duration_ns: Some(15_000),
                ..f()
            },
        ),
        (
            "attribute",
            ObservationFilter {
                attributes: vec![("env".into(), "dev".into())],
                ..f()
            },
        ),
        (
            "int and bool attributes",
            ObservationFilter {
                attributes: vec![("retries".into(), "2".into())],
                ..f()
            },
        ),
        (
            "bool attribute",
            ObservationFilter {
                attributes: vec![("flag".into(), "true".into())],
                ..f()
            },
        ),
        (
            "tag",
            ObservationFilter {
                tags: vec!["gold".into()],
                ..f()
            },
        ),
        (
            "two tags",
            ObservationFilter {
                tags: vec!["gold".into(), "beta".into()],
                ..f()
            },
        ),
        (
            "text in input",
            ObservationFilter {
                text: Some("PARIS".into()),
                ..f()
            },
        ),
        (
            "text in output",
            ObservationFilter {
                text: Some("sunny 1".into()),
                ..f()
            },
        ),
        (
            "text in name",
            ObservationFilter {
                text: Some("Run-2".into()),
                ..f()
            },
        ),
        (
            "text in a value",
            ObservationFilter {
                text: Some("market 1".into()),
                ..f()
            },
        ),
        (
            "kind and tag",
            ObservationFilter {
                kind: Some(ObservationKind::Llm),
                tags: vec!["beta".into()],
                status: StatusFilter::Ok,
                ..f()
            },
        ),
    ]
}

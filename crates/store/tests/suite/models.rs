//! Models as people name them, and the trace's name: the model filter matches the requested
//! model, the answered model and the family on every read (trace list, observation list,
//! costs from the rollup and from raw spans); costs group by request model and family; a root's
//! `langfuse.trace.name` names its trace.

use std::collections::BTreeMap;
use std::sync::Arc;

use sightline_core::{AttrValue, Cost, CostSource, ObservationKind, ProjectId};
use sightline_store::{
    CostDimension, CostQuery, Engine, ObservationFilter, ObservationQuery, TraceQuery,
};

use super::{batch, span, tid};

const P1: ProjectId = ProjectId(1);
const HOUR: i64 = 3_600_000_000_000;

fn trace_name(name: &str) -> (String, AttrValue) {
    ("langfuse.trace.name".into(), AttrValue::Str(name.into()))
}

/// Trace `t`: a root named `root-t` and one llm call asking `request` and answered by
/// `response`.
fn call(t: u8, request: &str, response: Option<&str>) -> Vec<sightline_core::Observation> {
    let mut root = span(t, 1, None, ObservationKind::Agent);
    root.name = format!("root-{t}");
    let mut llm = span(t, 2, Some(1), ObservationKind::Llm);
    llm.request_model = Some(request.into());
    llm.response_model = response.map(str::to_owned);
    llm.usage.input = Some(10);
    llm.cost = Some(Cost {
        nano_usd: Some(100),
        source: CostSource::Computed,
        reason: None,
    });
    vec![root, llm]
}

async fn traces_of(store: &dyn Engine, model: &str) -> Vec<String> {
    let q = TraceQuery {
        filter: ObservationFilter {
            model: Some(model.into()),
            ..Default::default()
        },
        limit: 100,
        ..Default::default()
    };
    let mut ids: Vec<String> = store
        .list_traces(P1, &q)
        .await
        .unwrap()
        .traces
        .into_iter()
        .map(|t| t.root_name.unwrap_or_default())
        .collect();
    ids.sort();
    ids
}

async fn requests_by(
    store: &dyn Engine,
    from: i64,
    group_by: CostDimension,
    filters: Vec<(CostDimension, String)>,
) -> BTreeMap<Option<String>, i64> {
    let q = CostQuery {
        from_ns: from,
        to_ns: 2 * HOUR,
        group_by: vec![group_by],
        filters,
        ..Default::default()
    };
    let report = store.costs(P1, &q).await.unwrap();
    report
        .rows
        .into_iter()
        .map(|r| (r.group[0].clone(), r.requests))
        .collect()
}

pub async fn model_filter_matches_request_answer_and_family(store: Arc<dyn Engine>) {
    let mut spans = Vec::new();
    spans.extend(call(1, "gpt-4o", Some("gpt-4o-2024-08-06")));
    spans.extend(call(2, "gpt-4o-mini", Some("gpt-4o-mini-2024-07-18")));
    spans.extend(call(3, "prod-deploy", Some("claude-3-5-sonnet-20241022")));
    spans.extend(call(4, "claude-3-5-sonnet-latest", None));
    store.write(P1, batch(spans)).await.unwrap();
    let store = store.as_ref();

    for (model, want) in [
        ("gpt-4o", vec!["root-1"]),
        ("gpt-4o-2024-08-06", vec!["root-1"]),
        ("gpt-4o-mini", vec!["root-2"]),
        ("prod-deploy", vec!["root-3"]),
        ("claude-3-5-sonnet", vec!["root-3", "root-4"]),
        ("claude-3-5-sonnet-latest", vec!["root-4"]),
        ("gpt-4o-2024-05-13", vec![]),
        ("gpt", vec![]),
    ] {
        assert_eq!(traces_of(store, model).await, want, "traces of {model}");
        let page = store
            .list_observations(
                P1,
                &ObservationQuery {
                    filter: ObservationFilter {
                        model: Some(model.into()),
                        ..Default::default()
                    },
                    limit: 100,
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        let mut got: Vec<String> = page
            .observations
            .iter()
            .map(|o| format!("root-{}", o.trace_id.0[0]))
            .collect();
        got.sort();
        assert_eq!(got, want, "observations of {model}");
    }

    // Both names come back as sent.
    let t3 = store.trace(P1, tid(3), false).await.unwrap().unwrap();
    let llm = &t3.observations[1];
    assert_eq!(llm.request_model.as_deref(), Some("prod-deploy"));
    assert_eq!(
        llm.response_model.as_deref(),
        Some("claude-3-5-sonnet-20241022")
    );

    // Costs, from whole hours (the rollup where the engine keeps one) and from raw spans.
    for from in [0, 1] {
        let family = requests_by(store, from, CostDimension::ModelFamily, vec![]).await;
        let want: BTreeMap<Option<String>, i64> = [
            (Some("gpt-4o".to_owned()), 1),
            (Some("gpt-4o-mini".to_owned()), 1),
            (Some("claude-3-5-sonnet".to_owned()), 2),
        ]
        .into();
        assert_eq!(family, want, "by family from {from}");
        let requested = requests_by(store, from, CostDimension::RequestModel, vec![]).await;
        let want: BTreeMap<Option<String>, i64> = [
            (Some("gpt-4o".to_owned()), 1),
            (Some("gpt-4o-mini".to_owned()), 1),
            (Some("prod-deploy".to_owned()), 1),
            (Some("claude-3-5-sonnet-latest".to_owned()), 1),
        ]
        .into();
        assert_eq!(requested, want, "by request model from {from}");
        for (model, want) in [
            ("gpt-4o", vec!["gpt-4o-2024-08-06"]),
            ("prod-deploy", vec!["claude-3-5-sonnet-20241022"]),
            (
                "claude-3-5-sonnet",
                vec!["claude-3-5-sonnet-20241022", "claude-3-5-sonnet-latest"],
            ),
        ] {
            let filter = vec![(CostDimension::Model, model.to_owned())];
            let got = requests_by(store, from, CostDimension::Model, filter).await;
            let want: BTreeMap<Option<String>, i64> =
                want.into_iter().map(|m| (Some(m.to_owned()), 1)).collect();
            assert_eq!(got, want, "model filter {model} from {from}");
        }
    }
}

pub async fn a_root_names_its_trace(store: Arc<dyn Engine>) {
    let mut named = call(5, "gpt-4o", None);
    named[0].attributes.push(trace_name("support-answer"));
    // A child's trace name does not rename the trace: the root's does.
    named[1].attributes.push(trace_name("from-a-child"));
    let mut child_only = call(6, "gpt-4o", None);
    child_only[1].attributes.push(trace_name("from-a-child"));
    store.write(P1, batch(named)).await.unwrap();
    store.write(P1, batch(child_only)).await.unwrap();
    let name = |t: &sightline_store::TraceSummary| t.root_name.clone();
    let s5 = store
        .trace(P1, tid(5), false)
        .await
        .unwrap()
        .unwrap()
        .summary;
    let s6 = store
        .trace(P1, tid(6), false)
        .await
        .unwrap()
        .unwrap()
        .summary;
    assert_eq!(name(&s5).as_deref(), Some("support-answer"));
    assert_eq!(name(&s6).as_deref(), Some("root-6"));
    let listed = store
        .list_traces(
            P1,
            &TraceQuery {
                limit: 10,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let mut names: Vec<Option<String>> = listed.traces.iter().map(name).collect();
    names.sort();
    assert_eq!(
        names,
        vec![Some("root-6".to_owned()), Some("support-answer".to_owned())]
    );
    // The attribute stays on the span.
    let t5 = store.trace(P1, tid(5), false).await.unwrap().unwrap();
    assert!(t5.observations[0]
        .attributes
        .iter()
        .any(|(k, _)| k == "langfuse.trace.name"));
}

//! Cost attribution: every grouping, filter, bucket and top-k answer equals a brute-force
//! recomputation from the raw spans written (random data, fixed seed); retries never count
//! twice; projects stay apart.

use std::collections::BTreeMap;
use std::sync::Arc;

use sightline_core::model_name::{family, model_matches};
use sightline_core::{
    AttrValue, Cost, CostSource, Observation, ObservationKind, ProjectId, SpanId, TraceId, Usage,
};
use sightline_store::{CostBucket, CostDimension, CostOrder, CostQuery, Engine};

use super::batch;

const P1: ProjectId = ProjectId(1);
const P2: ProjectId = ProjectId(2);
pub const HOUR: i64 = 3_600_000_000_000;
pub const BASE: i64 = 1_700_000_000_000_000_000 / HOUR * HOUR; // an hour start

/// A tiny deterministic generator (xorshift), so failures reproduce.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn pick<'a>(&mut self, from: &[&'a str]) -> Option<&'a str> {
        let i = (self.next() % (from.len() as u64 + 1)) as usize;
        from.get(i).copied()
    }
}

fn random_span(rng: &mut Rng, n: u32) -> Observation {
    let mut o = Observation::new(
        TraceId([(n % 251) as u8 + 1; 16]),
        SpanId((u64::from(n) + 1).to_be_bytes()),
        format!("call-{n}"),
    );
    o.kind = match rng.next() % 5 {
        0 => ObservationKind::Tool,
        1 => ObservationKind::Embedding,
        _ => ObservationKind::Llm,
    };
    o.start_ns = BASE + (rng.next() % (50 * HOUR as u64)) as i64;
    o.end_ns = o.start_ns + (rng.next() % 5_000_000_000) as i64;
    o.tenant_id = rng.pick(&["acme", "globex", "initech"]).map(str::to_owned);
    o.user_id = rng.pick(&["u1", "u2"]).map(str::to_owned);
    o.session_id = rng.pick(&["s1", "s2", "s3"]).map(str::to_owned);
    o.agent_name = rng.pick(&["planner", "coder"]).map(str::to_owned);
    o.provider = rng.pick(&["openai", "anthropic"]).map(str::to_owned);
    o.service_name = rng.pick(&["api"]).map(str::to_owned);
    // Requested and answered models as providers name them: families, snapshots, deployments.
    o.request_model = rng
        .pick(&["gpt-4o", "prod-deploy", "claude-3-5-sonnet-latest"])
        .map(str::to_owned);
    o.response_model = rng
        .pick(&[
            "gpt-4o-2024-08-06",
            "gpt-4o-mini-2024-07-18",
            "claude",
            "emb-3",
        ])
        .map(str::to_owned);
    if let Some(ws) = rng.pick(&["w1", "w2"]) {
        // As normalization leaves it: the attribute kept, the workspace on the observation.
        o.attributes
            .push(("workspace.id".into(), AttrValue::Str(ws.into())));
        o.workspace_id = Some(ws.into());
    }
    if let Some(team) = rng.pick(&["red", "blue"]) {
        o.attributes
            .push(("team".into(), AttrValue::Str(team.into())));
    }
    o.usage = Usage {
        input: Some((rng.next() % 5000) as i64),
        output: (!rng.next().is_multiple_of(3)).then(|| (rng.next() % 900) as i64),
        cache_read: Some((rng.next() % 100) as i64),
        ..Usage::default()
    };
    if !rng.next().is_multiple_of(4) {
        o.cost = Some(Cost {
            nano_usd: Some((rng.next() % 10_000_000_000) as i64),
            source: CostSource::Computed,
            reason: None,
        });
    }
    if rng.next().is_multiple_of(10) {
        o.status = sightline_core::StatusCode::Error;
    }
    o
}

/// The values [`random_span`] gives a dimension, plus one no call has.
fn known_values(d: &CostDimension) -> &'static [&'static str] {
    match d {
        CostDimension::Tenant => &["acme", "globex", "initech", "nobody"],
        CostDimension::Workspace => &["w1", "w2", "w9"],
        CostDimension::Agent => &["planner", "coder", "critic"],
        CostDimension::User => &["u1", "u2", "u9"],
        CostDimension::Session => &["s1", "s2", "s3", "s9"],
        CostDimension::Model => &[
            "gpt-4o",
            "gpt-4o-2024-08-06",
            "gpt-4o-mini",
            "prod-deploy",
            "claude-3-5-sonnet",
            "claude",
            "none-1",
        ],
        CostDimension::RequestModel => &["gpt-4o", "prod-deploy", "emb-3", "none-1"],
        CostDimension::ModelFamily => &["gpt-4o", "gpt-4o-mini", "claude-3-5-sonnet", "none-1"],
        CostDimension::Provider => &["openai", "anthropic", "mistral"],
        CostDimension::Service => &["api", "web"],
        CostDimension::Attribute(_) => &["red", "blue", "green"],
    }
}

fn dim_value(o: &Observation, d: &CostDimension) -> Option<String> {
    let attr = |k: &str| {
        o.attributes
            .iter()
            .find(|(key, _)| key == k)
            .and_then(|(_, v)| v.to_text())
    };
    match d {
        CostDimension::Tenant => o.tenant_id.clone(),
        CostDimension::Workspace => o.workspace_id.clone(),
        CostDimension::Agent => o.agent_name.clone(),
        CostDimension::User => o.user_id.clone(),
        CostDimension::Session => o.session_id.clone(),
        CostDimension::Model => o.model().map(str::to_owned),
        CostDimension::RequestModel => o.request_model.clone().or(o.model().map(str::to_owned)),
        CostDimension::ModelFamily => o.model().map(|m| family(m).to_owned()),
        CostDimension::Provider => o.provider.clone(),
        CostDimension::Service => o.service_name.clone(),
        CostDimension::Attribute(k) => attr(k),
    }
}

/// (bucket, group) -> (requests, errors, input, output, total, cache read, cost, costed).
type Expected = BTreeMap<(Option<i64>, Vec<Option<String>>), [i64; 8]>;

fn brute_force(spans: &[Observation], q: &CostQuery) -> Expected {
    let mut out = Expected::new();
    for o in spans {
        if !matches!(o.kind, ObservationKind::Llm | ObservationKind::Embedding)
            || o.start_ns < q.from_ns
            || o.start_ns >= q.to_ns
            || q.filters.iter().any(|(d, v)| match d {
                CostDimension::Model => {
                    !model_matches(v, o.request_model.as_deref(), o.response_model.as_deref())
                }
                d => dim_value(o, d).as_deref() != Some(v.as_str()),
            })
        {
            continue;
        }
        let group = q.group_by.iter().map(|d| dim_value(o, d)).collect();
        let bucket = q.bucket.map(|b| b.start_of(o.start_ns));
        let e = out.entry((bucket, group)).or_default();
        let u = &o.usage;
        let total = u.input.unwrap_or(0) + u.output.unwrap_or(0);
        let cost = o.cost.as_ref().and_then(|c| c.nano_usd);
        for (slot, v) in e.iter_mut().zip([
            1,
            i64::from(o.is_error()),
            u.input.unwrap_or(0),
            u.output.unwrap_or(0),
            total,
            u.cache_read.unwrap_or(0),
            cost.unwrap_or(0),
            i64::from(cost.is_some()),
        ]) {
            *slot += v;
        }
    }
    out
}

async fn answer(store: &dyn Engine, p: ProjectId, q: &CostQuery) -> Expected {
    let report = store.costs(p, q).await.unwrap();
    let mut out = Expected::new();
    for r in report.rows {
        let v = [
            r.requests,
            r.errors,
            r.input_tokens,
            r.output_tokens,
            r.total_tokens,
            r.cache_read_tokens,
            r.cost_nano_usd,
            r.costed_requests,
        ];
        assert!(
            out.insert((r.bucket_start_ns, r.group.clone()), v)
                .is_none(),
            "one row per (bucket, group): {r:?}"
        );
    }
    out
}

/// `n` random spans (fixed seed; about four in five are model calls) over 50 hours from
/// [`BASE`], for engine-specific checks.
pub fn random_spans(n: u32) -> Vec<Observation> {
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    (0..n).map(|i| random_span(&mut rng, i)).collect()
}

/// The answer to `q` in project 1 equals the brute-force sums over `spans`.
pub async fn assert_brute_force(store: &dyn Engine, spans: &[Observation], q: &CostQuery) {
    assert_eq!(answer(store, P1, q).await, brute_force(spans, q), "{q:?}");
}

pub async fn costs_match_brute_force(store: Arc<dyn Engine>) {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let spans: Vec<Observation> = (0..600).map(|n| random_span(&mut rng, n)).collect();
    for chunk in spans.chunks(97) {
        store.write(P1, batch(chunk.to_vec())).await.unwrap();
    }
    // Retries of the first 200 spans: stored once, counted once.
    let retry = store.write(P1, batch(spans[..200].to_vec())).await.unwrap();
    assert_eq!(retry.duplicates, 200);
    let all = [
        CostDimension::Tenant,
        CostDimension::Workspace,
        CostDimension::Agent,
        CostDimension::User,
        CostDimension::Session,
        CostDimension::Model,
        CostDimension::RequestModel,
        CostDimension::ModelFamily,
        CostDimension::Provider,
        CostDimension::Service,
        CostDimension::Attribute("team".into()),
    ];
    for round in 0..80 {
        let mut group_by = Vec::new();
        for d in &all {
            if rng.next().is_multiple_of(4) {
                group_by.push(d.clone());
            }
        }
        // Half the rounds filter, mostly by rollup dimensions, sometimes by raw-only ones
        // (session, attribute) or by a value no call has.
        let mut filters = Vec::new();
        if round % 4 >= 2 {
            for d in &all {
                let odds = match d {
                    CostDimension::Session | CostDimension::Attribute(_) => 8,
                    _ => 3,
                };
                if rng.next().is_multiple_of(odds) {
                    let values = known_values(d);
                    let v = values[(rng.next() % values.len() as u64) as usize];
                    filters.push((d.clone(), v.to_owned()));
                }
            }
        }
        // Windows both aligned to hours (rollup) and not (raw edges).
        let from = BASE + (rng.next() % (20 * HOUR as u64)) as i64;
        let from = if round % 2 == 0 {
            from / HOUR * HOUR
        } else {
            from
        };
        let to = from + (rng.next() % (40 * HOUR as u64)) as i64;
        let bucket = match rng.next() % 4 {
            0 => None,
            1 => Some(CostBucket::Hour),
            2 => Some(CostBucket::Day),
            _ => Some(CostBucket::Month),
        };
        let q = CostQuery {
            from_ns: from,
            to_ns: to,
            group_by,
            bucket,
            order_by: CostOrder::Cost,
            top: None,
            filters,
        };
        assert_eq!(
            answer(store.as_ref(), P1, &q).await,
            brute_force(&spans, &q),
            "{q:?}"
        );
    }
    // Top-k over the whole window, ordered by cost.
    let q = CostQuery {
        from_ns: BASE,
        to_ns: BASE + 60 * HOUR,
        group_by: vec![CostDimension::Tenant, CostDimension::Model],
        bucket: None,
        order_by: CostOrder::Cost,
        top: Some(3),
        filters: Vec::new(),
    };
    let want = brute_force(&spans, &q);
    let mut ranked: Vec<_> = want.iter().map(|(k, v)| (v[6], k.1.clone())).collect();
    ranked.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    let report = store.costs(P1, &q).await.unwrap();
    let got: Vec<_> = report
        .rows
        .iter()
        .map(|r| (r.cost_nano_usd, r.group.clone()))
        .collect();
    assert_eq!(got, ranked[..3].to_vec());
    // Another project sees none of it.
    assert!(store.costs(P2, &q).await.unwrap().rows.is_empty());
    // "The top 2 users by cost for tenant acme on a day" (whole hours: the rollup answers on
    // SQLite), then the same with a filter only raw spans know.
    for extra in [None, Some((CostDimension::Session, "s2".to_owned()))] {
        let mut filters = vec![
            (CostDimension::Tenant, "acme".to_owned()),
            (CostDimension::Provider, "openai".to_owned()),
        ];
        filters.extend(extra);
        let q = CostQuery {
            from_ns: BASE + 24 * HOUR,
            to_ns: BASE + 48 * HOUR,
            group_by: vec![CostDimension::User],
            bucket: Some(CostBucket::Hour),
            order_by: CostOrder::Cost,
            top: Some(2),
            filters,
        };
        let want = brute_force(&spans, &q);
        let mut totals: BTreeMap<Vec<Option<String>>, i64> = BTreeMap::new();
        for ((_, g), v) in &want {
            *totals.entry(g.clone()).or_default() += v[6];
        }
        let mut ranked: Vec<_> = totals.into_iter().collect();
        ranked.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        ranked.truncate(2);
        let kept: Expected = want
            .into_iter()
            .filter(|(k, _)| ranked.iter().any(|r| r.0 == k.1))
            .collect();
        assert!(kept.len() > 2, "the case has data: {kept:?}");
        assert_eq!(answer(store.as_ref(), P1, &q).await, kept, "{q:?}");
    }
}

/// Latency percentiles from a rollup stay within the documented bound.
pub async fn cost_latency_is_close(store: Arc<dyn Engine>) {
    let spans: Vec<Observation> = (0..100u32)
        .map(|n| {
            let mut o = Observation::new(
                TraceId([9; 16]),
                SpanId((u64::from(n) + 1).to_be_bytes()),
                "llm".into(),
            );
            o.kind = ObservationKind::Llm;
            o.start_ns = BASE + i64::from(n) * 1_000_000;
            o.end_ns = o.start_ns + (i64::from(n) + 1) * 10_000_000;
            o
        })
        .collect();
    store.write(P1, batch(spans)).await.unwrap();
    let q = CostQuery {
        from_ns: BASE,
        to_ns: BASE + HOUR,
        ..CostQuery::default()
    };
    let r = &store.costs(P1, &q).await.unwrap().rows[0];
    assert_eq!(r.requests, 100);
    for (got, exact) in [
        (r.latency_p50_ns, 500_000_000f64),
        (r.latency_p95_ns, 950_000_000.0),
        (r.latency_p99_ns, 990_000_000.0),
    ] {
        assert!(
            (got as f64 - exact).abs() / exact <= 0.045,
            "{got} vs {exact}"
        );
    }
}

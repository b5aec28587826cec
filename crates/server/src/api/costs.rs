//! `GET /api/v1/costs`: cost, tokens, requests, errors and latency of model calls, grouped by
//! project-level dimensions, optionally filtered by any of them, bucketed by UTC hour, day or
//! month, ranked for top-k.
//! Parses the query into a [`CostQuery`]; the answer is [`Costs`].

use axum::extract::{RawQuery, State};
use sightline_core::time::format_rfc3339;
use sightline_store::{CostBucket, CostDimension, CostOrder, CostQuery};

use super::params::{invalid, Params, TIME};
use super::shapes::Costs;
use super::ApiState;
use crate::auth::Caller;
use crate::error::ApiError;

const SEC: i64 = 1_000_000_000;
/// The window when neither `from` nor `since` is given: the 30 days before `to`.
const DEFAULT_WINDOW: i64 = 30 * 86_400 * SEC;
pub const MAX_TOP: usize = 1000;
const DIMENSIONS: &str = "tenant, workspace, agent, user, session, model, request_model, \
    model_family, provider, service, attribute";

/// The equality filters, named like the dimensions they test.
pub const FILTERS: &[&str] = &[
    "tenant",
    "workspace",
    "agent",
    "user",
    "session",
    "model",
    "provider",
    "service",
];

pub const PARAMS: &[&[&str]] = &[
    TIME,
    &["group_by", "attribute_key", "bucket", "top", "order_by"],
    FILTERS,
];

pub async fn costs(
    State(state): State<ApiState>,
    caller: Caller,
    RawQuery(query): RawQuery,
) -> Result<axum::Json<Costs>, ApiError> {
    let project = caller.project();
    let p = Params::parse(query.as_deref(), PARAMS)?;
    let now = state.clock.now_ns();
    let q = cost_query(&p, now)?;
    let report = state.costs.costs(project, &q).await?;
    Ok(axum::Json(Costs::new(&q, &report)))
}

/// The store question the parameters ask.
fn cost_query(p: &Params, now_ns: i64) -> Result<CostQuery, ApiError> {
    let (from, to) = p.window(now_ns)?;
    let to_ns = to.unwrap_or(now_ns);
    let from_ns = from.unwrap_or_else(|| to_ns.saturating_sub(DEFAULT_WINDOW));
    if to_ns <= from_ns {
        return Err(invalid(format!(
            "to: must be after from ({} is not after {}); widen the window",
            format_rfc3339(to_ns),
            format_rfc3339(from_ns)
        )));
    }
    let group_by = group_by(p.get("group_by")?, p.get("attribute_key")?)?;
    let bucket = p.get("bucket")?.map(bucket).transpose()?;
    let order_by = p
        .get("order_by")?
        .map(order_by)
        .transpose()?
        .unwrap_or_default();
    let top = p.get("top")?.map(top).transpose()?;
    let mut filters = Vec::new();
    for name in FILTERS {
        if let Some(value) = p.get(name)? {
            filters.push((dimension(name)?, value.to_owned()));
        }
    }
    Ok(CostQuery {
        from_ns,
        to_ns,
        group_by,
        bucket,
        order_by,
        top,
        filters,
    })
}

/// A dimension by its API name (not `attribute`, which needs its key).
fn dimension(name: &str) -> Result<CostDimension, ApiError> {
    Ok(match name {
        "tenant" => CostDimension::Tenant,
        "workspace" => CostDimension::Workspace,
        "agent" => CostDimension::Agent,
        "user" => CostDimension::User,
        "session" => CostDimension::Session,
        "model" => CostDimension::Model,
        "request_model" => CostDimension::RequestModel,
        "model_family" => CostDimension::ModelFamily,
        "provider" => CostDimension::Provider,
        "service" => CostDimension::Service,
        other => {
            return Err(invalid(format!(
                "group_by: unknown dimension {other:?}; give a comma list of {DIMENSIONS}"
            )))
        }
    })
}

/// `group_by` (a comma list of distinct dimensions) with `attribute_key`, which `attribute`
/// needs and nothing else takes.
fn group_by(
    list: Option<&str>,
    attribute_key: Option<&str>,
) -> Result<Vec<CostDimension>, ApiError> {
    let mut dims = Vec::new();
    for name in list.map(|l| l.split(',')).into_iter().flatten() {
        let d = match name.trim() {
            "attribute" => match attribute_key {
                Some(k) => CostDimension::Attribute(k.to_owned()),
                None => {
                    return Err(invalid(
                        "attribute_key: required when group_by includes attribute; give the \
                         attribute's key, e.g. attribute_key=team",
                    ))
                }
            },
            other => dimension(other)?,
        };
        if dims.contains(&d) {
            return Err(invalid(format!(
                "group_by: {} is listed twice; list each dimension once",
                d.name()
            )));
        }
        dims.push(d);
    }
    let by_attribute = dims
        .iter()
        .any(|d| matches!(d, CostDimension::Attribute(_)));
    if attribute_key.is_some() && !by_attribute {
        return Err(invalid(
            "attribute_key: only used with group_by=attribute; add attribute to group_by or \
             leave attribute_key out",
        ));
    }
    Ok(dims)
}

fn bucket(v: &str) -> Result<CostBucket, ApiError> {
    Ok(match v {
        "hour" => CostBucket::Hour,
        "day" => CostBucket::Day,
        "month" => CostBucket::Month,
        _ => {
            return Err(invalid(format!(
                "bucket: must be hour, day or month (or left out for totals), got {v:?}"
            )))
        }
    })
}

fn order_by(v: &str) -> Result<CostOrder, ApiError> {
    Ok(match v {
        "cost" => CostOrder::Cost,
        "tokens" => CostOrder::Tokens,
        "requests" => CostOrder::Requests,
        _ => {
            return Err(invalid(format!(
                "order_by: must be cost, tokens or requests, got {v:?}"
            )))
        }
    })
}

fn top(v: &str) -> Result<usize, ApiError> {
    match v.parse::<usize>() {
        Ok(n) if (1..=MAX_TOP).contains(&n) => Ok(n),
        _ => Err(invalid(format!(
            "top: must be an integer from 1 to {MAX_TOP}, got {v:?}"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use sightline_store::{CostReport, CostRow};

    use super::*;

    /// The answer as JSON.
    fn answer(q: &CostQuery, report: &CostReport) -> serde_json::Value {
        serde_json::to_value(Costs::new(q, report)).unwrap()
    }

    fn parse(q: &str) -> Result<CostQuery, ApiError> {
        cost_query(&Params::parse(Some(q), PARAMS)?, 1_000 * 86_400 * SEC)
    }

    #[test]
    fn parameters_become_the_store_query() {
        let q = parse("group_by=request_model,model_family").unwrap();
        assert_eq!(
            q.group_by,
            vec![CostDimension::RequestModel, CostDimension::ModelFamily]
        );
        let q = parse("group_by=tenant,model&bucket=day&top=5&order_by=tokens&since=1d").unwrap();
        assert_eq!(
            q.group_by,
            vec![CostDimension::Tenant, CostDimension::Model]
        );
        assert_eq!(q.bucket, Some(CostBucket::Day));
        assert_eq!(q.top, Some(5));
        assert_eq!(q.order_by, CostOrder::Tokens);
        assert_eq!(q.to_ns - q.from_ns, 86_400 * SEC);
        let q = parse("group_by=attribute&attribute_key=team").unwrap();
        assert_eq!(q.group_by, vec![CostDimension::Attribute("team".into())]);
        let q = parse("group_by=user&top=10&tenant=acme&since=1d&session=s%201").unwrap();
        assert_eq!(q.group_by, vec![CostDimension::User]);
        assert_eq!(
            q.filters,
            vec![
                (CostDimension::Tenant, "acme".to_owned()),
                (CostDimension::Session, "s 1".to_owned())
            ]
        );
        let all = FILTERS.iter().map(|f| format!("{f}=v")).collect::<Vec<_>>();
        assert_eq!(parse(&all.join("&")).unwrap().filters.len(), FILTERS.len());
        let q = parse("").unwrap();
        assert!(q.group_by.is_empty() && q.bucket.is_none() && q.top.is_none());
        assert!(q.filters.is_empty());
        assert_eq!(q.to_ns - q.from_ns, DEFAULT_WINDOW);
    }

    #[test]
    fn bad_parameters_are_named() {
        for (query, starts) in [
            (
                "group_by=tenant,colour",
                "group_by: unknown dimension \"colour\"",
            ),
            ("group_by=model,model", "group_by: model is listed twice"),
            ("group_by=attribute", "attribute_key: required"),
            ("attribute_key=team", "attribute_key: only used"),
            ("bucket=week", "bucket: must be hour, day or month"),
            ("order_by=latency", "order_by: must be"),
            ("top=0", "top: must be an integer from 1 to 1000"),
            ("top=1001", "top: must be an integer"),
            ("colour=x", "colour: unknown parameter"),
            ("tenant=", "tenant: is empty"),
            ("tenant=a&tenant=b", "tenant: given more than once"),
        ] {
            let e = parse(query).unwrap_err();
            assert!(e.message.starts_with(starts), "{query}: {}", e.message);
        }
    }

    #[test]
    fn rows_name_their_groups_and_carry_exact_money() {
        let q = parse("group_by=tenant,model&bucket=day").unwrap();
        let report = CostReport {
            rows: vec![CostRow {
                bucket_start_ns: Some(86_400 * SEC),
                group: vec![Some("acme".into()), None],
                requests: 4,
                errors: 1,
                cost_nano_usd: 2_500_000_000,
                latency_p50_ns: 1_500_000,
                ..Default::default()
            }],
            approximate_latency: false,
        };
        let v = answer(&q, &report);
        let r = &v["rows"][0];
        assert_eq!(r["group"], json!({"tenant": "acme"}));
        assert_eq!(r["bucket_start"], "1970-01-02T00:00:00.000000000Z");
        assert_eq!(r["cost_usd"], "2.5");
        assert_eq!(r["cost_nano_usd"], 2_500_000_000i64);
        assert_eq!(r["error_rate"].as_f64().unwrap(), 0.25);
        assert_eq!(r["latency_p50_ms"].as_f64().unwrap(), 1.5);
        assert_eq!(v["group_by"], json!(["tenant", "model"]));
        assert_eq!(v["bucket"], "day");
        assert!(v.get("top").is_none());
        assert!(v.get("filters").is_none());
        let q = parse("group_by=user&tenant=acme&model=gpt-4o").unwrap();
        let v = answer(&q, &CostReport::default());
        assert_eq!(v["filters"], json!({"tenant": "acme", "model": "gpt-4o"}));
    }
}

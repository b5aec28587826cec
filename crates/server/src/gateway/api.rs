//! The gateway's management API (docs/gateway.md): budgets (`/api/v1/budgets`, their
//! notifications at `/api/v1/budgets/events`), rate-limit rules and stored provider keys
//! (`/api/v1/gateway/rate-limits`, `/api/v1/gateway/keys`), and the upstreams with the
//! gateway's counters (`/api/v1/gateway`). Thin handlers: the caller by signature, a body or
//! query parsed with errors naming the field, the store through the gateway's parts, an answer
//! of `api::shapes`.

use std::sync::atomic::Ordering;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use serde::Deserialize;
use sightline_core::cost::Rate;
use sightline_core::gateway::budget::{Budget, Scope};
use sightline_core::gateway::ratelimit::Policy;
use sightline_core::gateway::window::Window;
use sightline_core::money::usd_exact;
use sightline_core::time::format_rfc3339;
use sightline_store::{ProviderKey, RateLimitRule};

use super::GatewayState;
use crate::api::params::{invalid, parse_time, Params};
use crate::api::shapes::{self, Page};
use crate::auth::{Caller, Role, SECRET_PREFIX};
use crate::error::{ApiError, ErrorCode};

pub const EVENT_PARAMS: &[&[&str]] = &[&["since"]];

/// Largest management body accepted.
const MAX_BODY_BYTES: usize = 16 * 1024;

fn usd(n: i64) -> String {
    usd_exact(i128::from(n))
}

fn new_id(prefix: &str) -> String {
    format!("{prefix}_{}", hex::encode(rand::random::<[u8; 8]>()))
}

/// A JSON body of type `T`, unknown fields refused; `example` shows a good one.
fn body<T: for<'de> Deserialize<'de>>(bytes: &[u8], example: &str) -> Result<T, ApiError> {
    if bytes.len() > MAX_BODY_BYTES {
        return Err(ApiError::new(
            ErrorCode::PayloadTooLarge,
            format!("the body is larger than {MAX_BODY_BYTES} bytes"),
        ));
    }
    serde_json::from_slice(bytes).map_err(|e| {
        invalid(format!(
            "the body must be a JSON object like {example}: {e}"
        ))
    })
}

fn not_found(what: &str, id: &str, list: &str) -> ApiError {
    ApiError::new(
        ErrorCode::NotFound,
        format!("no {what} `{id}` in this project; list them with GET {list}"),
    )
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BudgetBody {
    id: Option<String>,
    scope: String,
    window: String,
    limit_usd: String,
    #[serde(default)]
    include_otlp: bool,
}

/// `GET /api/v1/budgets`: the project's budgets with their current window.
pub async fn list_budgets(
    State(gw): State<GatewayState>,
    caller: Caller,
) -> Result<axum::Json<Page<shapes::Budget>>, ApiError> {
    let status = gw.0.budgets.status(caller.project()).await?;
    let data = status
        .into_iter()
        .map(|s| shapes::Budget {
            id: s.budget.id.clone(),
            scope: s.budget.scope.to_string(),
            window: s.budget.window.to_string(),
            limit_usd: usd(s.budget.limit_nano_usd),
            include_otlp: s.budget.include_otlp,
            window_start: format_rfc3339(s.window_start_ns),
            resets_at: format_rfc3339(s.window_end_ns),
            spent_usd: usd(s.spent),
            reserved_usd: usd(s.reserved),
            remaining_usd: usd((s.budget.limit_nano_usd - s.spent - s.reserved).max(0)),
            updated_ns: s.budget.updated_ns,
        })
        .collect();
    Ok(axum::Json(Page::new(data, None)))
}

/// `PUT /api/v1/budgets`: sets a budget (the one with the same `id`, or the same scope and
/// window, is replaced).
pub async fn put_budget(
    State(gw): State<GatewayState>,
    caller: Caller,
    bytes: Bytes,
) -> Result<axum::Json<shapes::Budget>, ApiError> {
    caller.require(Role::Member)?;
    let project = caller.project();
    let b: BudgetBody = body(
        &bytes,
        r#"{"scope": "tenant:acme", "window": "daily", "limit_usd": "25"}"#,
    )?;
    let scope = Scope::parse(&b.scope).map_err(|e| invalid(format!("`scope`: {e}")))?;
    let window = Window::parse(&b.window).map_err(|e| invalid(format!("`window`: {e}")))?;
    let limit = Rate::parse_usd(&b.limit_usd)
        .map_err(|e| {
            invalid(format!(
                "`limit_usd`: {}",
                e.replace(" per million tokens", "")
            ))
        })?
        .nano_per_million();
    let existing = gw.0.budgets.definitions(project).await?;
    let id =
        b.id.filter(|i| !i.trim().is_empty())
            .or_else(|| {
                existing
                    .iter()
                    .find(|e| e.scope == scope && e.window == window)
                    .map(|e| e.id.clone())
            })
            .unwrap_or_else(|| new_id("bg"));
    let budget = Budget {
        id,
        scope,
        window,
        limit_nano_usd: limit,
        include_otlp: b.include_otlp,
        updated_ns: gw.0.clock.now_ns(),
    };
    gw.0.budgets.store_budget(project, &budget).await?;
    let status = gw.0.budgets.status(project).await?;
    let s = status
        .into_iter()
        .find(|s| s.budget.id == budget.id)
        .ok_or_else(|| {
            ApiError::new(
                ErrorCode::Internal,
                "the budget was stored but not read back",
            )
        })?;
    Ok(axum::Json(shapes::Budget {
        id: budget.id.clone(),
        scope: budget.scope.to_string(),
        window: budget.window.to_string(),
        limit_usd: usd(budget.limit_nano_usd),
        include_otlp: budget.include_otlp,
        window_start: format_rfc3339(s.window_start_ns),
        resets_at: format_rfc3339(s.window_end_ns),
        spent_usd: usd(s.spent),
        reserved_usd: usd(s.reserved),
        remaining_usd: usd((budget.limit_nano_usd - s.spent - s.reserved).max(0)),
        updated_ns: budget.updated_ns,
    }))
}

/// `DELETE /api/v1/budgets/{id}`: 204, or 404.
pub async fn delete_budget(
    State(gw): State<GatewayState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    caller.require(Role::Member)?;
    if gw.0.budgets.delete_budget(caller.project(), &id).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(not_found("budget", &id, "/api/v1/budgets"))
    }
}

/// `GET /api/v1/budgets/events`: the 50/80/95% notifications, oldest first, `since` a time.
pub async fn list_budget_events(
    State(gw): State<GatewayState>,
    caller: Caller,
    RawQuery(query): RawQuery,
) -> Result<axum::Json<Page<shapes::BudgetEvent>>, ApiError> {
    let p = Params::parse(query.as_deref(), EVENT_PARAMS)?;
    let since = match p.get("since")? {
        Some(v) => parse_time("since", v)?,
        None => 0,
    };
    let events = gw.0.budgets.events(caller.project(), since).await?;
    let data = events
        .into_iter()
        .map(|e| shapes::BudgetEvent {
            budget_id: e.budget_id,
            scope: e.scope,
            threshold_pct: e.threshold_pct,
            window_start: format_rfc3339(e.window_start_ns),
            spent_usd: usd(e.spent_nano_usd),
            limit_usd: usd(e.limit_nano_usd),
            at: format_rfc3339(e.at_ns),
            at_ns: e.at_ns,
        })
        .collect();
    Ok(axum::Json(Page::new(data, None)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RateLimitBody {
    id: Option<String>,
    policy: String,
    for_key: Option<String>,
}

fn rate_limit_shape(r: &RateLimitRule) -> shapes::RateLimit {
    shapes::RateLimit {
        id: r.id.clone(),
        policy: r.policy.clone(),
        for_key: r.for_key.clone(),
        updated_ns: r.updated_ns,
    }
}

/// `GET /api/v1/gateway/rate-limits`.
pub async fn list_rate_limits(
    State(gw): State<GatewayState>,
    caller: Caller,
) -> Result<axum::Json<Page<shapes::RateLimit>>, ApiError> {
    let rules = gw.0.limits.rules(caller.project()).await?;
    Ok(axum::Json(Page::new(
        rules.iter().map(rate_limit_shape).collect(),
        None,
    )))
}

/// `PUT /api/v1/gateway/rate-limits`: sets a rule (same `id`, or same policy and key, replaced).
pub async fn put_rate_limit(
    State(gw): State<GatewayState>,
    caller: Caller,
    bytes: Bytes,
) -> Result<axum::Json<shapes::RateLimit>, ApiError> {
    caller.require(Role::Member)?;
    let project = caller.project();
    let b: RateLimitBody = body(&bytes, r#"{"policy": "100;w=60;s=user"}"#)?;
    let policy = Policy::parse(&b.policy).map_err(|e| invalid(format!("`policy`: {e}")))?;
    let text = policy.to_text();
    let existing = gw.0.limits.rules(project).await?;
    let id =
        b.id.filter(|i| !i.trim().is_empty())
            .or_else(|| {
                existing
                    .iter()
                    .find(|r| r.policy == text && r.for_key == b.for_key)
                    .map(|r| r.id.clone())
            })
            .unwrap_or_else(|| new_id("rl"));
    let rule = RateLimitRule {
        id,
        policy: text,
        for_key: b.for_key.filter(|k| !k.trim().is_empty()),
        updated_ns: gw.0.clock.now_ns(),
    };
    gw.0.store_rate_limit(project, &rule).await?;
    Ok(axum::Json(rate_limit_shape(&rule)))
}

/// `DELETE /api/v1/gateway/rate-limits/{id}`.
pub async fn delete_rate_limit(
    State(gw): State<GatewayState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    caller.require(Role::Member)?;
    if gw.0.delete_rate_limit(caller.project(), &id).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(not_found("rate limit", &id, "/api/v1/gateway/rate-limits"))
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct KeyBody {
    id: Option<String>,
    upstream: String,
    provider_key: String,
    for_key: Option<String>,
    cache_ttl_secs: Option<u64>,
}

fn key_shape(k: &ProviderKey) -> shapes::ProviderKey {
    shapes::ProviderKey {
        id: k.id.clone(),
        upstream: k.upstream.clone(),
        for_key: k.for_key.clone(),
        hint: k.hint.clone(),
        cache_ttl_secs: k.cache_ttl_secs,
        updated_ns: k.updated_ns,
    }
}

/// `GET /api/v1/gateway/keys`: the stored provider keys, never their secret.
pub async fn list_keys(
    State(gw): State<GatewayState>,
    caller: Caller,
) -> Result<axum::Json<Page<shapes::ProviderKey>>, ApiError> {
    caller.require(Role::Admin)?;
    let keys = gw.0.keys.list(caller.project()).await?;
    Ok(axum::Json(Page::new(
        keys.iter().map(key_shape).collect(),
        None,
    )))
}

/// `PUT /api/v1/gateway/keys`: stores a provider key, sealed (same `id`, or same upstream and
/// Sightline key, replaced).
pub async fn put_key(
    State(gw): State<GatewayState>,
    caller: Caller,
    bytes: Bytes,
) -> Result<axum::Json<shapes::ProviderKey>, ApiError> {
    caller.require(Role::Admin)?;
    let project = caller.project();
    let b: KeyBody = body(
        &bytes,
        r#"{"upstream": "openai", "provider_key": "sk-..."}"#,
    )?;
    if gw.0.upstream(&b.upstream).is_none() {
        return Err(invalid(format!(
            "`upstream`: {:?} is not a configured upstream; see GET /api/v1/gateway",
            b.upstream
        )));
    }
    let secret = b.provider_key.trim();
    if secret.is_empty() || secret.starts_with(SECRET_PREFIX) {
        return Err(invalid(
            "`provider_key`: give the provider's API key (a Sightline key cannot be stored as one)",
        ));
    }
    let for_key = b.for_key.filter(|k| !k.trim().is_empty());
    let existing = gw.0.keys.list(project).await?;
    let id =
        b.id.filter(|i| !i.trim().is_empty())
            .or_else(|| {
                existing
                    .iter()
                    .find(|k| k.upstream == b.upstream && k.for_key == for_key)
                    .map(|k| k.id.clone())
            })
            .unwrap_or_else(|| new_id("vk"));
    let key = ProviderKey {
        id,
        upstream: b.upstream,
        for_key,
        ciphertext: Vec::new(),
        hint: String::new(),
        cache_ttl_secs: b.cache_ttl_secs,
        updated_ns: gw.0.clock.now_ns(),
    };
    let stored =
        gw.0.keys
            .put(project, key, secret)
            .await
            .map_err(|e| ApiError::new(ErrorCode::Unavailable, e))?;
    Ok(axum::Json(key_shape(&stored)))
}

/// `DELETE /api/v1/gateway/keys/{id}`.
pub async fn delete_key(
    State(gw): State<GatewayState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    caller.require(Role::Admin)?;
    let now = gw.0.clock.now_ns();
    if gw.0.keys.delete(caller.project(), &id, now).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(not_found("provider key", &id, "/api/v1/gateway/keys"))
    }
}

/// `GET /api/v1/gateway`: the upstreams and the gateway's counters.
pub async fn upstreams(
    State(gw): State<GatewayState>,
    _caller: Caller,
) -> axum::Json<shapes::GatewayStatus> {
    let g = &gw.0;
    let stats = &g.recorder.stats;
    axum::Json(shapes::GatewayStatus {
        upstreams: g
            .config
            .upstreams
            .iter()
            .map(|u| shapes::Upstream {
                name: u.name.clone(),
                kind: u.kind.as_str().to_owned(),
                base_url: u.base_url.clone(),
                path: format!("/gateway/{}/v1", u.name),
            })
            .collect(),
        recorded_spans: stats.recorded.load(Ordering::Relaxed),
        dropped_calls: stats.dropped.load(Ordering::Relaxed),
        failed_spans: stats.failed.load(Ordering::Relaxed),
        budget_writes_dropped: g.budgets.dropped.load(Ordering::Relaxed),
    })
}

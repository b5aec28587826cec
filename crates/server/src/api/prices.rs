//! `/api/v1/prices`: the price table a project's calls are priced with (bundled entries plus the
//! project's overrides), which entry prices a model, and setting and deleting overrides.

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;

use serde_json::{Map, Value as Json};
use sightline_store::PriceOverride;

use super::params::{invalid, parse_time, Params};
use super::shapes::{self, Price, PriceEntry, PriceList, PriceLookup};
use super::ApiState;
use crate::auth::{Caller, Role};
use crate::error::{ApiError, ErrorCode};
use crate::pricing::{check, entry_of_stored, OverrideFields};

pub const LIST_PARAMS: &[&[&str]] = &[&["provider", "model", "source"]];
pub const LOOKUP_PARAMS: &[&[&str]] = &[&["model", "provider", "at"]];

/// Largest override body accepted.
const MAX_BODY_BYTES: usize = 16 * 1024;

const FIELDS: &[&str] = &[
    "provider",
    "model",
    "input",
    "output",
    "cache_read",
    "cache_write",
    "reasoning",
    "effective_from",
];

/// `GET /api/v1/prices`: this project's overrides (API, then config file) and the bundled table.
pub async fn list_prices(
    State(state): State<ApiState>,
    caller: Caller,
    RawQuery(query): RawQuery,
) -> Result<axum::Json<PriceList>, ApiError> {
    let project = caller.project();
    let p = Params::parse(query.as_deref(), LIST_PARAMS)?;
    let provider = p.get("provider")?.map(|s| s.trim().to_lowercase());
    let model = p.get("model")?.map(|s| s.trim().to_lowercase());
    let source = p.get("source")?;
    let (want_bundled, want_override) = match source {
        None => (true, true),
        Some("bundled") => (true, false),
        Some("override") => (false, true),
        Some(other) => {
            return Err(invalid(format!(
                "`source` = {other:?} is not valid; use bundled or override"
            )))
        }
    };
    let keep = |prov: &str, m: &str| {
        provider
            .as_deref()
            .is_none_or(|p| prov.eq_ignore_ascii_case(p))
            && model
                .as_deref()
                .is_none_or(|q| m.to_lowercase().contains(q))
    };
    let book = &state.prices;
    let mut data = Vec::new();
    if want_override {
        for o in book.stored(project).await? {
            if keep(o.provider.as_deref().unwrap_or(""), &o.model) {
                data.push(Price::Override((&o).into()));
            }
        }
        for e in book.config_overrides(project) {
            if keep(&e.provider, &e.model) {
                data.push(Price::Entry(PriceEntry::new(e, "config", None)));
            }
        }
    }
    if want_bundled {
        for e in book.bundled().list() {
            if keep(&e.provider, &e.model) {
                data.push(Price::Entry(PriceEntry::new(e, "bundled", None)));
            }
        }
    }
    Ok(axum::Json(PriceList {
        data,
        bundled_source: book.bundled().source().to_owned(),
        bundled_retrieved: book.bundled().retrieved().to_string(),
    }))
}

/// `GET /api/v1/prices/lookup`: the entry that prices `model` (at `provider`, at time `at`).
pub async fn lookup_price(
    State(state): State<ApiState>,
    caller: Caller,
    RawQuery(query): RawQuery,
) -> Result<axum::Json<PriceLookup>, ApiError> {
    let project = caller.project();
    let p = Params::parse(query.as_deref(), LOOKUP_PARAMS)?;
    let model = p
        .get("model")?
        .map(str::trim)
        .filter(|m| !m.is_empty())
        .ok_or_else(|| invalid("`model` is required: the model name to look up"))?;
    let provider = p.get("provider")?;
    let at = match p.get("at")? {
        Some(v) => parse_time("at", v)?,
        None => state.clock.now_ns(),
    };
    let registry = state.prices.registry(project).await;
    let Some(m) = registry.resolve(provider, model, at) else {
        return Err(ApiError::new(
            ErrorCode::NotFound,
            format!(
                "no price known for model `{model}`; add one with \
                 PUT /api/v1/prices/overrides"
            ),
        ));
    };
    let (source, id) = if m.is_override {
        let stored = state.prices.stored(project).await?;
        let id = stored
            .iter()
            .find(|o| entry_of_stored(o).as_ref() == Some(m.entry))
            .map(|o| o.id.clone());
        (if id.is_some() { "override" } else { "config" }, id)
    } else {
        ("bundled", None)
    };
    Ok(axum::Json(PriceLookup::new(
        model, provider, at, &m, source, id,
    )))
}

/// The body's fields as text; a float or an unknown field is an error naming it.
fn parse_body(body: &[u8]) -> Result<OverrideFields, ApiError> {
    if body.len() > MAX_BODY_BYTES {
        return Err(ApiError::new(
            ErrorCode::PayloadTooLarge,
            format!("the override body is larger than {MAX_BODY_BYTES} bytes"),
        ));
    }
    let map: Map<String, Json> = serde_json::from_slice(body).map_err(|e| {
        invalid(format!(
            "the body must be a JSON object like {{\"model\": \"gpt-4o\", \"input\": \"2.5\", \
             \"output\": \"10\"}}: {e}"
        ))
    })?;
    if let Some(k) = map.keys().find(|k| !FIELDS.contains(&k.as_str())) {
        return Err(invalid(format!(
            "`{k}`: unknown field; known fields: {}",
            FIELDS.join(", ")
        )));
    }
    let text = |name: &str| -> Result<Option<String>, ApiError> {
        match map.get(name) {
            None | Some(Json::Null) => Ok(None),
            Some(Json::String(s)) => Ok(Some(s.clone())),
            Some(Json::Number(n)) if n.is_u64() => Ok(Some(n.to_string())),
            Some(Json::Number(n)) => Err(invalid(format!(
                "`{name}`: {n} is a JSON float or negative; write prices as decimal strings, \
                 e.g. \"{n}\""
            ))),
            Some(other) => Err(invalid(format!("`{name}`: expected a string, got {other}"))),
        }
    };
    Ok(OverrideFields {
        provider: text("provider")?,
        model: text("model")?,
        input: text("input")?,
        output: text("output")?,
        cache_read: text("cache_read")?,
        cache_write: text("cache_write")?,
        reasoning: text("reasoning")?,
        effective_from: text("effective_from")?,
    })
}

/// `PUT /api/v1/prices/overrides`: sets an override; one with the same provider, model and
/// `effective_from` is replaced (keeping its id).
pub async fn put_override(
    State(state): State<ApiState>,
    caller: Caller,
    body: Bytes,
) -> Result<axum::Json<shapes::PriceOverride>, ApiError> {
    caller.require(Role::Member)?;
    let project = caller.project();
    let fields = parse_body(&body)?;
    let checked = check(&fields).map_err(|e| invalid(e.to_string()))?;
    let f = checked.fields;
    let now = state.clock.now_ns();
    let existing = state.prices.stored(project).await?;
    let id = existing
        .iter()
        .find(|o| {
            o.provider == f.provider
                && o.model == f.model.clone().unwrap_or_default()
                && o.effective_from == f.effective_from
        })
        .map(|o| o.id.clone())
        .unwrap_or_else(new_id);
    let entry = PriceOverride {
        id,
        provider: f.provider,
        model: f.model.unwrap_or_default(),
        input: f.input.unwrap_or_default(),
        output: f.output.unwrap_or_default(),
        cache_read: f.cache_read,
        cache_write: f.cache_write,
        reasoning: f.reasoning,
        effective_from: f.effective_from,
        updated_ns: now,
    };
    state.prices.put(project, &entry).await?;
    Ok(axum::Json(shapes::PriceOverride::from(&entry)))
}

fn new_id() -> String {
    format!("po_{}", hex::encode(rand::random::<[u8; 8]>()))
}

/// `DELETE /api/v1/prices/overrides/{id}`: 204, or 404 when the project has no such override.
pub async fn delete_override(
    State(state): State<ApiState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    caller.require(Role::Member)?;
    let project = caller.project();
    let now = state.clock.now_ns();
    if state.prices.delete(project, &id, now).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::new(
            ErrorCode::NotFound,
            format!("no price override `{id}` in this project; list them with GET /api/v1/prices?source=override"),
        ))
    }
}

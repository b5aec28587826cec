//! The explore read contracts on the embedded engine: trace and observation lists, sessions,
//! logs, metrics and the change feed. One file per contract; shared SQL filter building in
//! `filter.rs`. This file holds what they share: the SQL functions registered on read
//! connections and the resource set a page points into.
//!
//! Filters on attributes, tags and text need values kept in the zstd JSON blobs. They run as
//! SQL functions (`sl_detail`, `sl_text`) placed after every column predicate, so a blob is
//! decompressed only for rows that passed the cheap tests; each such row costs one zstd frame
//! decode and a JSON parse (a few microseconds).

mod feed;
mod filter;
mod logs;
mod metrics;
mod observations;
mod sessions;
mod traces;

use std::collections::HashMap;
use std::sync::Arc;

use rusqlite::functions::{Context, FunctionFlags};
use rusqlite::types::ValueRef;
use rusqlite::{params, Connection, OptionalExtension};
use sightline_core::Resource;

use crate::codec::{contains_ci, decode_resource, detail_matches, payload_contains};
use crate::StoreError;

pub(crate) use traces::{read_summary, TRACE_SELECT};

/// What `sl_detail` tests: attributes (key, value-as-text) and tags, all required.
#[derive(serde::Serialize, serde::Deserialize, Default)]
struct DetailSpec {
    #[serde(rename = "a")]
    attributes: Vec<(String, String)>,
    #[serde(rename = "t")]
    tags: Vec<String>,
}

fn user_error(e: impl std::fmt::Display) -> rusqlite::Error {
    rusqlite::Error::UserFunctionError(e.to_string().into())
}

/// A text argument that stays the same for the whole statement, parsed once per statement.
fn constant_arg<T, F>(ctx: &Context<'_>, arg: usize, parse: F) -> rusqlite::Result<Arc<T>>
where
    T: Send + Sync + 'static,
    F: FnOnce(&str) -> Result<T, String>,
{
    ctx.get_or_create_aux(arg as i32, |v: ValueRef<'_>| -> Result<T, String> {
        let text = v.as_str().map_err(|e| e.to_string())?;
        parse(text)
    })
}

/// Registers the filter functions on a read connection:
/// - `sl_detail(detail, spec)`: the `detail` blob holds the attributes and tags of `spec`
///   (JSON of [`DetailSpec`]);
/// - `sl_text(name, payload, needle)`: the name, input or output contains `needle`
///   (case-insensitive);
/// - `sl_icontains(text, needle)`: `text` contains `needle` (case-insensitive).
pub(crate) fn register_functions(conn: &Connection) -> Result<(), StoreError> {
    let flags = FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC;
    conn.create_scalar_function("sl_detail", 2, flags, |ctx| {
        let spec = constant_arg(ctx, 1, |t| {
            serde_json::from_str::<DetailSpec>(t).map_err(|e| e.to_string())
        })?;
        let detail = match ctx.get_raw(0) {
            ValueRef::Blob(b) => b,
            _ => return Ok(false),
        };
        detail_matches(detail, &spec.attributes, &spec.tags).map_err(user_error)
    })?;
    conn.create_scalar_function("sl_text", 3, flags, |ctx| {
        let needle = constant_arg(ctx, 2, |t| Ok(t.to_lowercase()))?;
        if let ValueRef::Text(name) = ctx.get_raw(0) {
            if contains_ci(&String::from_utf8_lossy(name), &needle) {
                return Ok(true);
            }
        }
        match ctx.get_raw(1) {
            ValueRef::Blob(b) => payload_contains(b, &needle).map_err(user_error),
            _ => Ok(false),
        }
    })?;
    conn.create_scalar_function("sl_icontains", 2, flags, |ctx| {
        let needle = constant_arg(ctx, 1, |t| Ok(t.to_lowercase()))?;
        Ok(match ctx.get_raw(0) {
            ValueRef::Text(t) => contains_ci(&String::from_utf8_lossy(t), &needle),
            _ => false,
        })
    })?;
    Ok(())
}

/// The spec argument of `sl_detail`, or `None` when nothing is asked of the blob.
fn detail_spec(attributes: &[(String, String)], tags: &[String]) -> Option<String> {
    if attributes.is_empty() && tags.is_empty() {
        return None;
    }
    serde_json::to_string(&DetailSpec {
        attributes: attributes.to_vec(),
        tags: tags.to_vec(),
    })
    .ok()
}

/// The distinct resources of a page, in first-seen order, by stored hash.
#[derive(Default)]
pub(crate) struct ResourceSet {
    index: HashMap<i64, usize>,
    pub resources: Vec<Resource>,
}

impl ResourceSet {
    /// The index of the resource with `hash`, loading it on first sight.
    pub fn index_of(
        &mut self,
        conn: &Connection,
        project: i64,
        hash: i64,
    ) -> Result<usize, StoreError> {
        if let Some(i) = self.index.get(&hash) {
            return Ok(*i);
        }
        let blob: Option<Vec<u8>> = conn
            .prepare_cached("SELECT attributes FROM resources WHERE project_id = ?1 AND hash = ?2")?
            .query_row(params![project, hash], |r| r.get(0))
            .optional()?;
        let attributes = match blob {
            Some(b) => decode_resource(&b)?,
            None => Vec::new(),
        };
        self.resources.push(Resource { attributes });
        self.index.insert(hash, self.resources.len() - 1);
        Ok(self.resources.len() - 1)
    }
}

/// Runs `f` inside one read transaction: every statement in it sees the same snapshot.
fn snapshot<T>(
    conn: &mut Connection,
    f: impl FnOnce(&Connection) -> Result<T, StoreError>,
) -> Result<T, StoreError> {
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Deferred)?;
    let out = f(&tx)?;
    tx.finish()?;
    Ok(out)
}

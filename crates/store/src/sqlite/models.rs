//! Schema 9's backfill of the model columns: `request_model` (the requested model when it
//! differs from `model`) and `model_family` (the family of `model` when it differs from it),
//! for spans stored before the columns existed. The writer fills both for new spans
//! (`codec::encode_span`).

use rusqlite::{params, Transaction};
use serde::Deserialize;
use sightline_core::model_name::family;

use crate::codec::unpack;
use crate::StoreError;

/// Spans [`backfill_models`] reads per step: memory stays bounded by this many `detail` blobs.
const STEP: i64 = 5_000;

/// What the backfill reads of a `detail` blob (serde skips the rest).
#[derive(Deserialize)]
struct RequestModel {
    #[serde(rename = "rq", default)]
    request_model: Option<String>,
}

/// Fills `request_model` from the `detail` blob and `model_family` from `model`, for every span
/// with a model; returns how many spans changed. Runs inside the migration's transaction.
pub(crate) fn backfill_models(tx: &Transaction<'_>) -> Result<i64, StoreError> {
    let mut read = tx.prepare(
        "SELECT rowid, model, detail FROM spans WHERE rowid > ?1 AND model IS NOT NULL \
         ORDER BY rowid LIMIT ?2",
    )?;
    let mut update =
        tx.prepare("UPDATE spans SET request_model = ?2, model_family = ?3 WHERE rowid = ?1")?;
    let mut after = i64::MIN;
    let mut changed = 0;
    loop {
        let rows: Vec<(i64, String, Vec<u8>)> = read
            .query_map(params![after, STEP], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })?
            .collect::<Result<_, _>>()?;
        for (rowid, model, detail) in &rows {
            let request = unpack::<RequestModel>(detail)?.request_model;
            let fam = Some(family(model)).filter(|f| f != model);
            if request.is_some() || fam.is_some() {
                update.execute(params![rowid, request, fam])?;
                changed += 1;
            }
        }
        match rows.last() {
            Some(last) if rows.len() as i64 == STEP => after = last.0,
            _ => return Ok(changed),
        }
    }
}

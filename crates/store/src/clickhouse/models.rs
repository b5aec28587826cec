//! Schema 10's step: models as people name them and the trace's name. The `spans` columns
//! `request_model`, `model_family` and `trace_name` exist by then (the writer fills them for new
//! spans); this makes the trace summaries name roots by the trace's name, makes the cost rollup
//! again with the request model, and fills the family of the spans stored before (from their
//! `model`: one mutation per table, over the few distinct model names). Their request model,
//! when it differs from `model`, stays in `detail` only, which ClickHouse cannot read: the model
//! filter matches those spans by their answered model and its family.

use sightline_core::model_name::family;

use super::client::Client;
use super::cluster::Layout;
use super::retention::wait_for_mutations;
use super::rowbinary::{quote, RowReader};
use super::{cost_rollup, summaries};
use crate::StoreError;

pub(crate) async fn install(entry: &Client, layout: &Layout) -> Result<(), StoreError> {
    summaries::replace_view(entry, layout).await?;
    cost_rollup::replace(entry, layout).await?;
    for (client, table) in layout.data_tables(entry, "spans") {
        backfill_family(client, &table).await?;
    }
    Ok(())
}

/// Sets `model_family` on the spans of `table` whose model has a family other than itself.
async fn backfill_family(client: &Client, table: &str) -> Result<(), StoreError> {
    let rows = client
        .query(&format!(
            "SELECT DISTINCT assumeNotNull(model) FROM {table} \
             WHERE isNotNull(model) AND isNull(model_family)"
        ))
        .await?;
    let mut r = RowReader::new(&rows);
    let (mut names, mut families) = (Vec::new(), Vec::new());
    while !r.is_empty() {
        let model = r.string()?;
        let fam = family(&model);
        if fam != model {
            families.push(quote(fam));
            names.push(quote(&model));
        }
    }
    if names.is_empty() {
        return Ok(());
    }
    let names = names.join(", ");
    client
        .execute(&format!(
            "ALTER TABLE {table} UPDATE model_family = transform(assumeNotNull(model), \
             [{names}], [{}], '') WHERE model IN ({names}) AND isNull(model_family)",
            families.join(", ")
        ))
        .await?;
    wait_for_mutations(client, table).await
}

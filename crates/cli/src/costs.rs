//! `sightline costs`: cost attribution through the API (`/api/v1/costs`): cost, tokens,
//! requests, errors and latency of model calls grouped (and filtered) by tenant, model, user,
//! ..., as a text table for people or `--json` for the API's JSON as received.

use serde_json::Value as Json;

use crate::explore::args::{self, Conn, Params, TimeArgs};
use crate::explore::client::Client;
use crate::explore::table::{Align, Table};

#[derive(clap::Args)]
#[command(
    after_help = "Examples:\n  sightline costs --by tenant,model --since 7d --bucket day --top 10\n  \
                  sightline costs --by user --tenant acme --since 1d --top 10"
)]
pub struct CostsArgs {
    #[command(flatten)]
    conn: Conn,
    #[command(flatten)]
    time: TimeArgs,
    /// Group by a comma list of: tenant, workspace, agent, user, session, model, provider,
    /// service, attribute (with --attribute-key). Without it: one total.
    #[arg(long, value_name = "DIMS")]
    by: Option<String>,
    /// The attribute key to group by (with --by attribute).
    #[arg(long, value_name = "KEY")]
    attribute_key: Option<String>,
    /// Calendar buckets in UTC: hour, day or month. Without it: totals over the window.
    #[arg(long)]
    bucket: Option<String>,
    /// Keep only the top N groups (1 to 1000).
    #[arg(long, value_name = "N")]
    top: Option<String>,
    /// Rank groups by cost (default), tokens or requests.
    #[arg(long, value_name = "WHAT")]
    order_by: Option<String>,
    #[command(flatten)]
    filters: CostFilters,
}

/// Only calls with these exact values (all given must hold).
#[derive(clap::Args)]
struct CostFilters {
    /// Only calls of this tenant id.
    #[arg(long)]
    tenant: Option<String>,
    /// Only calls of this workspace.
    #[arg(long)]
    workspace: Option<String>,
    /// Only calls of this agent name.
    #[arg(long)]
    agent: Option<String>,
    /// Only calls of this user id.
    #[arg(long)]
    user: Option<String>,
    /// Only calls of this session id.
    #[arg(long)]
    session: Option<String>,
    /// Only calls of this model (the response model, else the request model).
    #[arg(long)]
    model: Option<String>,
    /// Only calls of this provider.
    #[arg(long)]
    provider: Option<String>,
    /// Only calls of this service.name.
    #[arg(long)]
    service: Option<String>,
}

impl CostFilters {
    fn add_to(&self, params: &mut Params) {
        for (name, value) in [
            ("tenant", &self.tenant),
            ("workspace", &self.workspace),
            ("agent", &self.agent),
            ("user", &self.user),
            ("session", &self.session),
            ("model", &self.model),
            ("provider", &self.provider),
            ("service", &self.service),
        ] {
            args::add(params, name, value);
        }
    }
}

pub async fn run(a: CostsArgs) -> anyhow::Result<()> {
    if let Err(e) = costs(a).await {
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
    Ok(())
}

async fn costs(a: CostsArgs) -> anyhow::Result<()> {
    let mut params = Params::new();
    a.time.add_to(&mut params);
    args::add(&mut params, "group_by", &a.by);
    args::add(&mut params, "attribute_key", &a.attribute_key);
    args::add(&mut params, "bucket", &a.bucket);
    args::add(&mut params, "top", &a.top);
    args::add(&mut params, "order_by", &a.order_by);
    a.filters.add_to(&mut params);
    let (body, value) = Client::new(&a.conn)?
        .get(&["api", "v1", "costs"], &params)
        .await?;
    if a.conn.json {
        println!("{}", body.trim_end());
    } else {
        print!("{}", render(&value));
    }
    Ok(())
}

/// The column header of a dimension.
fn header(dimension: &str) -> &'static str {
    match dimension {
        "tenant" => "TENANT",
        "workspace" => "WORKSPACE",
        "agent" => "AGENT",
        "user" => "USER",
        "session" => "SESSION",
        "model" => "MODEL",
        "provider" => "PROVIDER",
        "service" => "SERVICE",
        _ => "ATTRIBUTE",
    }
}

/// A number field as text (`-` when absent).
fn number(v: &Json, field: &str) -> String {
    match v.get(field) {
        Some(Json::Number(n)) => n.to_string(),
        Some(Json::String(s)) => s.clone(),
        _ => "-".into(),
    }
}

/// Milliseconds with one decimal.
fn millis(v: &Json, field: &str) -> String {
    v.get(field)
        .and_then(Json::as_f64)
        .map(|ms| format!("{ms:.1}"))
        .unwrap_or_else(|| "-".into())
}

/// The bucket start as much of the RFC 3339 text as the bucket needs.
fn bucket_label(bucket: &str, start: &str) -> String {
    let keep = match bucket {
        "month" => 7,
        "day" => 10,
        _ => 13,
    };
    let mut label: String = start.chars().take(keep).collect();
    if bucket == "hour" {
        label.push_str(":00Z");
    }
    label
}

fn render(v: &Json) -> String {
    let rows = v
        .get("rows")
        .and_then(Json::as_array)
        .cloned()
        .unwrap_or_default();
    if rows.is_empty() {
        return "no model calls in the window\n".into();
    }
    let dims: Vec<String> = v
        .get("group_by")
        .and_then(Json::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|d| d.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    let bucket = v.get("bucket").and_then(Json::as_str);
    let mut columns: Vec<(&'static str, Align)> = Vec::new();
    if bucket.is_some() {
        columns.push(("BUCKET", Align::Left));
    }
    columns.extend(dims.iter().map(|d| (header(d), Align::Left)));
    columns.extend(
        [
            "REQUESTS",
            "ERRORS",
            "INPUT",
            "OUTPUT",
            "CACHE_READ",
            "CACHE_WRITE",
            "REASONING",
            "TOTAL",
            "COST_USD",
            "P50_MS",
            "P95_MS",
            "P99_MS",
        ]
        .map(|h| (h, Align::Right)),
    );
    let mut t = Table::new(&columns);
    for r in &rows {
        let mut cells = Vec::new();
        if let Some(b) = bucket {
            let start = r.get("bucket_start").and_then(Json::as_str).unwrap_or("-");
            cells.push(bucket_label(b, start));
        }
        for d in &dims {
            let value = r.get("group").and_then(|g| g.get(d)).and_then(Json::as_str);
            cells.push(value.unwrap_or("-").to_owned());
        }
        for f in [
            "requests",
            "errors",
            "input_tokens",
            "output_tokens",
            "cache_read_tokens",
            "cache_write_tokens",
            "reasoning_tokens",
            "total_tokens",
            "cost_usd",
        ] {
            cells.push(number(r, f));
        }
        for f in ["latency_p50_ms", "latency_p95_ms", "latency_p99_ms"] {
            cells.push(millis(r, f));
        }
        t.row(cells);
    }
    let mut out = t.render();
    if let Some(key) = v.get("attribute_key").and_then(Json::as_str) {
        out.push_str(&format!("ATTRIBUTE is {key}\n"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn rows_become_a_table_with_group_and_bucket_columns() {
        let v = json!({"group_by": ["tenant", "attribute"], "attribute_key": "team",
            "bucket": "day", "rows": [
            {"group": {"tenant": "acme", "attribute": "search"},
             "bucket_start": "2026-11-20T00:00:00.000000000Z", "requests": 3, "errors": 1,
             "input_tokens": 100, "output_tokens": 20, "cache_read_tokens": 0,
             "cache_write_tokens": 0, "reasoning_tokens": 0, "total_tokens": 120,
             "cost_usd": "0.0125", "latency_p50_ms": 12.25, "latency_p95_ms": 30.0,
             "latency_p99_ms": 31.0},
            {"group": {}, "bucket_start": "2026-11-21T00:00:00.000000000Z", "requests": 1,
             "errors": 0, "total_tokens": 5, "cost_usd": "0"}]});
        let out = render(&v);
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines.len(), 4, "{out}");
        assert!(
            lines[0].starts_with("BUCKET      TENANT  ATTRIBUTE  REQUESTS"),
            "{out}"
        );
        assert!(lines[1].starts_with("2026-11-20  acme    search"), "{out}");
        assert!(
            lines[1].contains(" 0.0125 ") && lines[1].ends_with("31.0"),
            "{out}"
        );
        assert!(lines[2].starts_with("2026-11-21  -       -"), "{out}");
        assert_eq!(lines[3], "ATTRIBUTE is team");
        assert_eq!(
            render(&json!({"rows": []})),
            "no model calls in the window\n"
        );
        assert_eq!(
            bucket_label("hour", "2026-11-21T10:00:00Z"),
            "2026-11-21T10:00Z"
        );
        assert_eq!(bucket_label("month", "2026-11-01T00:00:00Z"), "2026-11");
    }
}

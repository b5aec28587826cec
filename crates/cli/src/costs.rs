//! `sightline costs`: cost attribution through the API (`/api/v1/costs`): cost, tokens,
//! requests, errors and latency of model calls grouped (and filtered) by tenant, model, user,
//! ..., as a text table for people or `--json` for the API's JSON as received.

use sightline_server::api::shapes::Costs;

use crate::explore::args::{self, Conn, Params, TimeArgs};
use crate::explore::client::Client;
use crate::explore::parse;
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
    /// Group by a comma list of: tenant, workspace, agent, user, session, model (answered),
    /// request_model, model_family (gpt-4o-2024-08-06 is gpt-4o), provider, service, attribute
    /// (with --attribute-key). Without it: one total.
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
    /// Only calls of this model as people name it: the requested model, the answered model or
    /// the family (gpt-4o matches gpt-4o-2024-08-06, not gpt-4o-mini).
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
    let segments = ["api", "v1", "costs"];
    let (body, value) = Client::new(&a.conn)?.get(&segments, &params).await?;
    if a.conn.json {
        println!("{}", body.trim_end());
    } else {
        print!("{}", render(&parse(&segments, value)?));
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
        "request_model" => "REQUEST MODEL",
        "model_family" => "MODEL FAMILY",
        "provider" => "PROVIDER",
        "service" => "SERVICE",
        _ => "ATTRIBUTE",
    }
}

/// Milliseconds with one decimal.
fn millis(ms: f64) -> String {
    format!("{ms:.1}")
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

fn render(v: &Costs) -> String {
    if v.rows.is_empty() {
        return "no model calls in the window\n".into();
    }
    let dims = &v.group_by;
    let bucket = v.bucket.as_deref();
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
    for r in &v.rows {
        let mut cells = Vec::new();
        if let Some(b) = bucket {
            cells.push(bucket_label(b, r.bucket_start.as_deref().unwrap_or("-")));
        }
        for d in dims {
            cells.push(r.group.get(d).map_or("-", String::as_str).to_owned());
        }
        cells.extend(
            [
                r.requests,
                r.errors,
                r.input_tokens,
                r.output_tokens,
                r.cache_read_tokens,
                r.cache_write_tokens,
                r.reasoning_tokens,
                r.total_tokens,
            ]
            .map(|n| n.to_string()),
        );
        cells.push(r.cost_usd.clone());
        cells.extend([r.latency_p50_ms, r.latency_p95_ms, r.latency_p99_ms].map(millis));
        t.row(cells);
    }
    let mut out = t.render();
    if let Some(key) = &v.attribute_key {
        out.push_str(&format!("ATTRIBUTE is {key}\n"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn render(v: serde_json::Value) -> String {
        super::render(&serde_json::from_value(v).unwrap())
    }

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
        let out = render(v);
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
            render(json!({"rows": []})),
            "no model calls in the window\n"
        );
        assert_eq!(
            bucket_label("hour", "2026-11-21T10:00:00Z"),
            "2026-11-21T10:00Z"
        );
        assert_eq!(bucket_label("month", "2026-11-01T00:00:00Z"), "2026-11");
    }
}

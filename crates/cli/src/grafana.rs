//! `sightline grafana-dashboard`: the per-tenant Grafana dashboard shipped in
//! `grafana/sightline-tenant.json` (embedded here, so the two cannot diverge) with one tenant and
//! optionally the Prometheus data source filled in.

use anyhow::{bail, Context};
use serde_json::Value;

/// The shipped template: its queries filter on `tenant_id="$tenant_id"`.
const TENANT_TEMPLATE: &str = include_str!("../../../grafana/sightline-tenant.json");

/// The placeholder Grafana's import asks to resolve to a Prometheus data source.
const DATASOURCE_INPUT: &str = "${DS_PROMETHEUS}";

#[derive(clap::Args)]
pub struct GrafanaArgs {
    /// The tenant to show: the `tenant_id` label, i.e. the spans' `tenant.id` attribute.
    #[arg(long)]
    tenant: String,
    /// UID of the Grafana Prometheus data source that scrapes Sightline. Without it the output
    /// is an import file and Grafana asks for the data source when it is imported.
    #[arg(long)]
    datasource: Option<String>,
}

pub fn run(args: GrafanaArgs) -> anyhow::Result<()> {
    let dashboard = tenant_dashboard(&args.tenant, args.datasource.as_deref())?;
    println!("{}", serde_json::to_string_pretty(&dashboard)?);
    Ok(())
}

/// The per-tenant dashboard for `tenant`: every query filters on it literally, and the tenant
/// variable becomes a hidden constant.
pub fn tenant_dashboard(tenant: &str, datasource: Option<&str>) -> anyhow::Result<Value> {
    if tenant.trim().is_empty() {
        bail!("--tenant must not be empty: pass the tenant id the spans carry in tenant.id");
    }
    if let Some(uid) = datasource {
        let valid = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_';
        if uid.is_empty() || uid.len() > 40 || !uid.chars().all(valid) {
            bail!(
                "--datasource {uid:?} is not a Grafana data source UID: pass 1-40 letters, digits, \
                 '-' or '_' (Connections > Data sources > the Prometheus one, UID in its URL)"
            );
        }
    }
    let mut dashboard: Value =
        serde_json::from_str(TENANT_TEMPLATE).context("the embedded dashboard template")?;
    let literal = promql_string(tenant);
    replace_strings(&mut dashboard, &|s: &str| {
        let s = s.replace("$tenant_id", &literal);
        match datasource {
            Some(uid) => s.replace(DATASOURCE_INPUT, uid),
            None => s,
        }
    });
    let Some(obj) = dashboard.as_object_mut() else {
        bail!("the embedded dashboard template is not a JSON object");
    };
    if datasource.is_some() {
        obj.remove("__inputs");
    }
    obj.insert(
        "uid".into(),
        Value::from(format!("sightline-tenant-{:016x}", fnv1a(tenant))),
    );
    obj.insert(
        "title".into(),
        Value::from(format!("{tenant} - LLM Observability")),
    );
    if let Some(tags) = obj.get_mut("tags").and_then(Value::as_array_mut) {
        tags.push(Value::from(tenant));
    }
    let variables = obj
        .get_mut("templating")
        .and_then(|t| t.get_mut("list"))
        .and_then(Value::as_array_mut);
    for v in variables.into_iter().flatten() {
        if v.get("name").and_then(Value::as_str) == Some("tenant_id") {
            *v = serde_json::json!({
                "name": "tenant_id",
                "type": "constant",
                "query": tenant,
                "hide": 2,
            });
        }
    }
    Ok(dashboard)
}

/// `s` as the inside of a double-quoted PromQL string (`\` and `"` escaped).
fn promql_string(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}

fn replace_strings(v: &mut Value, f: &dyn Fn(&str) -> String) {
    match v {
        Value::String(s) => *s = f(s),
        Value::Array(a) => a.iter_mut().for_each(|x| replace_strings(x, f)),
        Value::Object(o) => o.values_mut().for_each(|x| replace_strings(x, f)),
        _ => {}
    }
}

/// A stable 64-bit hash (FNV-1a), so a tenant always gets the same dashboard uid.
fn fnv1a(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exprs(d: &Value) -> Vec<String> {
        d["panels"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|p| p["targets"].as_array().unwrap().clone())
            .map(|t| t["expr"].as_str().unwrap().to_owned())
            .collect()
    }

    #[test]
    fn every_panel_query_filters_on_the_tenant() {
        let d = tenant_dashboard("acme-eu", Some("prom-1")).unwrap();
        let text = serde_json::to_string_pretty(&d).unwrap();
        let reparsed: Value = serde_json::from_str(&text).unwrap();
        let queries = exprs(&reparsed);
        assert!(queries.len() >= 5);
        for q in &queries {
            assert!(q.contains(r#"tenant_id="acme-eu""#), "{q}");
            // Every selector in the query carries the filter, not just the first one.
            assert_eq!(
                q.matches('{').count(),
                q.matches(r#"tenant_id="acme-eu""#).count(),
                "{q}"
            );
        }
        let titles: Vec<&str> = reparsed["panels"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["title"].as_str().unwrap())
            .collect();
        for seed in [
            "Request Rate",
            "Cost (USD)",
            "P95 Latency",
            "Error Rate",
            "Token Usage by Model",
        ] {
            assert!(titles.contains(&seed), "{seed} in {titles:?}");
        }
        assert!(!text.contains("$tenant_id"));
        assert!(!text.contains(DATASOURCE_INPUT));
        assert!(reparsed.get("__inputs").is_none());
        assert_eq!(reparsed["panels"][0]["datasource"]["uid"], "prom-1");
        assert_eq!(reparsed["title"], "acme-eu - LLM Observability");
        let tenant_var = &reparsed["templating"]["list"][0];
        assert_eq!(tenant_var["type"], "constant");
        assert_eq!(tenant_var["query"], "acme-eu");
        assert_eq!(
            reparsed["uid"],
            tenant_dashboard("acme-eu", None).unwrap()["uid"],
            "the uid is stable per tenant"
        );
    }

    #[test]
    fn without_a_datasource_grafana_import_asks_for_one() {
        let d = tenant_dashboard("t1", None).unwrap();
        assert_eq!(d["__inputs"][0]["name"], "DS_PROMETHEUS");
        assert_eq!(d["panels"][0]["datasource"]["uid"], DATASOURCE_INPUT);
    }

    #[test]
    fn quotes_in_a_tenant_stay_inside_the_promql_string() {
        let d = tenant_dashboard(r#"a"b\c"#, None).unwrap();
        for q in exprs(&d) {
            assert!(q.contains(r#"tenant_id="a\"b\\c""#), "{q}");
        }
    }

    #[test]
    fn bad_arguments_name_the_flag() {
        let e = tenant_dashboard(" ", None).unwrap_err().to_string();
        assert!(e.contains("--tenant"), "{e}");
        let e = tenant_dashboard("t", Some("bad uid!"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("--datasource"), "{e}");
    }

    #[test]
    fn the_shipped_platform_dashboard_parses_and_groups_by_tenant() {
        let d: Value =
            serde_json::from_str(include_str!("../../../grafana/sightline-platform.json")).unwrap();
        let queries = exprs(&d);
        assert!(queries
            .iter()
            .any(|q| q.starts_with("sum by (tenant_id) (rate(llm_requests_total{")));
        for q in queries.iter().filter(|q| q.contains("llm_")) {
            assert!(q.contains(r#"tenant_id=~"$tenant""#), "{q}");
        }
    }
}

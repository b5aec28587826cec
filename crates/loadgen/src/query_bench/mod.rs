//! Query benchmark: loads spans into a running server, then measures the read API.
//!
//! Optionally loads `--load-spans` benchmark spans (and their agents' logs) over OTLP/HTTP with
//! trace starts spread over the last `--days`, then times `--iterations` sequential requests of
//! each query a user of the dashboard or CLI makes (trace by id, filtered trace lists, session
//! view and list, metrics by model, the cost rollup, log search) and prints p50/p99 per query,
//! bytes per stored span when `--data-dir` (SQLite) or `--clickhouse-url` (ClickHouse) is given,
//! and the command that reproduces the run.

mod load;
mod report;

use std::io::Write;
use std::path::PathBuf;
use std::time::Instant;

use sightline_core::time::{Clock, SystemClock};

use anyhow::{bail, Context as _};
use serde_json::Value as Json;

use crate::measure::store_size::StoreSource;
use crate::send::OtlpHttp;

const NS_PER_DAY: u64 = 86_400_000_000_000;
/// Requests per query that warm caches before timing starts.
const WARMUP: usize = 5;

/// One run of `sightline bench query`: each field is the flag of the same name (errors and
/// the reproducing command name the flags).
pub struct QueryOptions {
    pub url: String,
    pub api_key: Option<String>,
    pub load_spans: u64,
    pub days: u64,
    pub batch_spans: usize,
    pub concurrency: usize,
    pub no_logs: bool,
    pub iterations: usize,
    pub seed: u64,
    pub data_dir: Option<PathBuf>,
    pub clickhouse_url: Option<String>,
}

impl QueryOptions {
    fn store_source(&self) -> StoreSource<'_> {
        StoreSource {
            data_dir: self.data_dir.as_deref(),
            clickhouse_url: self.clickhouse_url.as_deref(),
        }
    }
}

/// One timed query: its name, and the path of its `i`-th request.
struct Case {
    name: &'static str,
    paths: Vec<String>,
}

/// The timings of one query.
struct Timing {
    name: &'static str,
    latencies_us: Vec<u32>,
    errors: u64,
    error_sample: Option<String>,
    bytes: u64,
}

/// Runs the benchmark; progress goes to stderr, the report to `out`.
pub async fn run(args: QueryOptions, out: &mut (dyn Write + Send)) -> anyhow::Result<()> {
    if args.iterations == 0 || args.days == 0 || args.batch_spans == 0 || args.concurrency == 0 {
        bail!("--iterations, --days, --batch-spans and --concurrency must be at least 1");
    }
    let client = OtlpHttp::new(&args.url, args.api_key.clone())?;
    let now = u64::try_from(SystemClock.now_ns())?;
    let loaded = if args.load_spans > 0 {
        eprintln!(
            "loading {} spans over the last {} days into {}",
            args.load_spans,
            args.days,
            client.base()
        );
        let plan = load::LoadPlan {
            spans: args.load_spans,
            from_ns: now.saturating_sub(args.days * NS_PER_DAY),
            // The newest traces end before now, so every query window holds them whole.
            to_ns: now.saturating_sub(60_000_000_000),
            batch_spans: args.batch_spans,
            concurrency: args.concurrency,
            seed: args.seed,
            with_logs: !args.no_logs,
        };
        let loaded = load::load(&client, plan).await?;
        eprintln!(
            "loaded {} spans and {} logs in {:.1}s ({:.0} spans/s)",
            loaded.spans,
            loaded.logs,
            loaded.seconds,
            loaded.spans as f64 / loaded.seconds
        );
        Some(loaded)
    } else {
        None
    };

    let cases = plan_cases(&client, args.days, args.iterations).await?;
    let mut timings = Vec::with_capacity(cases.len());
    for case in &cases {
        let timing = time_case(&client, case).await;
        eprintln!("  {:<26} done", case.name);
        timings.push(timing);
    }
    let stored_spans = match &loaded {
        Some(l) if l.spans > 0 => Some(l.spans),
        _ => count_spans(&client).await,
    };
    let stored = args.store_source().measure().await?;
    report::report(
        out,
        &args,
        loaded.as_ref(),
        &mut timings,
        stored_spans,
        stored.as_ref(),
    )
}

/// GETs `path` and parses the JSON answer; errors name the route and the status.
async fn get_json(client: &OtlpHttp, path: &str) -> anyhow::Result<Json> {
    let response = client
        .get(path)
        .send()
        .await
        .with_context(|| format!("GET {}{path}: is the server running?", client.base()))?;
    let status = response.status();
    let body = response.bytes().await?;
    if !status.is_success() {
        let text = String::from_utf8_lossy(&body[..body.len().min(300)]).into_owned();
        bail!("GET {}{path} answered {status}: {text}", client.base());
    }
    serde_json::from_slice(&body).with_context(|| format!("GET {path}: the answer is not JSON"))
}

/// Strings at `data[*].<field>`, without repeats, in order.
fn field_values(page: &Json, field: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for row in page["data"].as_array().into_iter().flatten() {
        if let Some(v) = row[field].as_str() {
            if !out.iter().any(|o| o == v) {
                out.push(v.to_string());
            }
        }
    }
    out
}

/// The most requested model in the window, from the metrics route.
fn busiest_group(metrics: &Json) -> Option<String> {
    let series = metrics["series"].as_array()?;
    series
        .iter()
        .filter_map(|s| {
            let requests: u64 = s["points"]
                .as_array()?
                .iter()
                .filter_map(|p| p["requests"].as_u64())
                .sum();
            Some((requests, s["group"].as_str()?.to_string()))
        })
        .max()
        .map(|(_, group)| group)
}

/// Percent-encodes a query parameter value.
fn enc(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Finds ids and values that exist (trace ids, sessions, a model, a service), then lays out
/// every query's requests.
async fn plan_cases(client: &OtlpHttp, days: u64, iterations: usize) -> anyhow::Result<Vec<Case>> {
    let since = format!("since={days}d");
    let mut trace_ids = Vec::new();
    let mut services = Vec::new();
    let mut cursor: Option<String> = None;
    // A few pages of the newest traces, then the oldest: ids from across the window.
    for order in ["desc", "asc"] {
        for _ in 0..2 {
            let mut path = format!("/api/v1/traces?{since}&limit=1000&order={order}");
            if let Some(c) = &cursor {
                path.push_str(&format!("&cursor={}", enc(c)));
            }
            let page = get_json(client, &path)
                .await
                .context("listing trace ids to query")?;
            trace_ids.extend(field_values(&page, "trace_id"));
            services.extend(field_values(&page, "service_name"));
            cursor = page["next_cursor"].as_str().map(str::to_string);
            if cursor.is_none() {
                break;
            }
        }
        cursor = None;
    }
    if trace_ids.is_empty() {
        bail!("the server holds no traces in the last {days} days: load some with --load-spans");
    }
    let sessions = field_values(
        &get_json(client, &format!("/api/v1/sessions?{since}&limit=1000")).await?,
        "session_id",
    );
    let metrics = get_json(client, &format!("/api/v1/metrics?{since}&group_by=model")).await?;
    let model = busiest_group(&metrics).unwrap_or_else(|| "claude-sonnet-4-20250514".to_string());
    check_costs(client).await;
    services.sort();
    services.dedup();
    let service = services
        .first()
        .cloned()
        .unwrap_or_else(|| "support-bot".to_string());

    // Spread the sampled ids over the list with a fixed stride: deterministic, no repeats
    // until the list is exhausted.
    let pick = |list: &[String], i: usize| list[(i * 7919) % list.len()].clone();
    let repeat = |path: String| vec![path; iterations];
    let mut cases = vec![Case {
        name: "trace by id",
        paths: (0..iterations)
            .map(|i| format!("/api/v1/traces/{}", pick(&trace_ids, i)))
            .collect(),
    }];
    cases.extend([
        Case {
            name: "traces: newest",
            paths: repeat(format!("/api/v1/traces?{since}")),
        },
        Case {
            name: "traces: model",
            paths: repeat(format!("/api/v1/traces?{since}&model={}", enc(&model))),
        },
        Case {
            name: "traces: service+error",
            paths: repeat(format!(
                "/api/v1/traces?{since}&service={}&status=error",
                enc(&service)
            )),
        },
        Case {
            name: "traces: since=1h",
            paths: repeat("/api/v1/traces?since=1h".to_string()),
        },
        Case {
            name: "traces: min_duration=5s",
            paths: repeat(format!("/api/v1/traces?{since}&min_duration=5s")),
        },
        Case {
            name: "traces: by cost",
            paths: repeat(format!("/api/v1/traces?{since}&sort=cost")),
        },
    ]);
    if !sessions.is_empty() {
        cases.push(Case {
            name: "session view",
            paths: (0..iterations)
                .map(|i| format!("/api/v1/sessions/{}", enc(&pick(&sessions, i))))
                .collect(),
        });
    }
    cases.extend([
        Case {
            name: "sessions list",
            paths: repeat(format!("/api/v1/sessions?{since}")),
        },
        Case {
            name: "metrics by model 24h",
            paths: repeat("/api/v1/metrics?since=24h&group_by=model".to_string()),
        },
        Case {
            name: "metrics by model 7d",
            paths: repeat("/api/v1/metrics?since=7d&group_by=model".to_string()),
        },
        Case {
            name: "costs: model 30d",
            paths: repeat(COSTS_BY_MODEL.to_string()),
        },
        Case {
            name: "costs: tenant top10 daily",
            paths: repeat("/api/v1/costs?since=30d&group_by=tenant&top=10&bucket=day".to_string()),
        },
        Case {
            name: "logs: search text",
            paths: repeat(format!("/api/v1/logs?{since}&q=timeout")),
        },
        Case {
            name: "logs: errors",
            paths: repeat(format!("/api/v1/logs?{since}&level=error")),
        },
    ]);
    Ok(cases)
}

/// The cost rollup query of the target (30 days by model).
const COSTS_BY_MODEL: &str = "/api/v1/costs?since=30d&group_by=model";

/// Warns when the cost query finds no priced calls: its timing would then measure an empty
/// answer.
async fn check_costs(client: &OtlpHttp) {
    match get_json(client, COSTS_BY_MODEL).await {
        Ok(answer) => {
            let rows = answer["rows"].as_array().map_or(0, Vec::len);
            let costed: u64 = answer["rows"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|r| r["costed_requests"].as_u64())
                .sum();
            if rows == 0 || costed == 0 {
                eprintln!(
                    "warning: {COSTS_BY_MODEL} found {rows} models and {costed} priced calls; \
                     its timings measure an empty rollup"
                );
            } else {
                eprintln!("costs over 30 days: {rows} models, {costed} priced calls");
            }
        }
        Err(e) => eprintln!("warning: {e:#}"),
    }
}

/// Warms up, then times each request of `case` one after another.
async fn time_case(client: &OtlpHttp, case: &Case) -> Timing {
    let mut timing = Timing {
        name: case.name,
        latencies_us: Vec::with_capacity(case.paths.len()),
        errors: 0,
        error_sample: None,
        bytes: 0,
    };
    for path in case.paths.iter().take(WARMUP) {
        let _ = client.get(path).send().await.map(|r| r.bytes());
    }
    for path in &case.paths {
        let started = Instant::now();
        let outcome = match client.get(path).send().await {
            Ok(response) => {
                let status = response.status();
                match response.bytes().await {
                    Ok(body) if status.is_success() => Ok(body.len()),
                    Ok(body) => Err(format!(
                        "{status}: {}",
                        String::from_utf8_lossy(&body[..body.len().min(200)])
                    )),
                    Err(e) => Err(e.to_string()),
                }
            }
            Err(e) => Err(e.to_string()),
        };
        let elapsed = started.elapsed();
        match outcome {
            Ok(bytes) => {
                timing
                    .latencies_us
                    .push(u32::try_from(elapsed.as_micros()).unwrap_or(u32::MAX));
                timing.bytes += bytes as u64;
            }
            Err(e) => {
                timing.errors += 1;
                timing
                    .error_sample
                    .get_or_insert(format!("GET {path} -> {e}"));
            }
        }
    }
    timing
}

/// Observations stored in the project, from one ungrouped metrics bucket over all time.
async fn count_spans(client: &OtlpHttp) -> Option<u64> {
    let metrics = get_json(client, "/api/v1/metrics?from=0&bucket=36500d")
        .await
        .ok()?;
    let total = metrics["series"]
        .as_array()?
        .iter()
        .flat_map(|s| s["points"].as_array().into_iter().flatten())
        .filter_map(|p| p["requests"].as_u64())
        .sum();
    Some(total)
}

//! The one ingest path: every receiver decodes into a [`RawBatch`] and calls
//! [`IngestService::ingest`], which normalizes, prices, stamps and writes it durably, then
//! wakes the live bus and tells its commit listeners. Metric exports decode into
//! [`RawMetrics`] and take [`IngestService::ingest_metrics`]: normalized in core, written
//! through the store's `MetricWriter` under the per-project series limit, told to listeners.

use std::sync::Arc;

use sightline_core::calls::ModelCall;
use sightline_core::cost::{cost_with_estimate, PriceRegistry};
use sightline_core::metrics::normalize_metrics;
use sightline_core::normalize::cap::{cap_attributes, cap_log, cap_observation, Cut};
use sightline_core::normalize::{normalize_log, normalize_span};
use sightline_core::time::Clock;
use sightline_core::{ProjectId, RawBatch, RawMetrics, WriteBatch};
use sightline_store::{MetricWriter, SpanWriter};

use super::commit::{Commit, CommitListener, MetricsCommit};
use super::live::LiveBus;
use crate::error::{ApiError, ErrorCode};
use crate::pricing::{PriceBook, TiktokenCounter};

/// What one request achieved, for the receiver to answer with.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IngestOutcome {
    pub accepted_spans: u64,
    pub rejected_spans: u64,
    pub accepted_logs: u64,
    pub rejected_logs: u64,
    /// Spans already stored (client retries); they count as accepted.
    pub duplicate_spans: u64,
    /// Metric data points stored, or already stored (retries count as accepted).
    pub accepted_points: u64,
    /// Metric data points refused: invalid, or of a new series past the project's limit.
    pub rejected_points: u64,
    /// Rejections and warnings, one per line; empty when everything was clean.
    pub message: String,
}

/// Most lines of detail put in one answer.
const MAX_MESSAGE_LINES: usize = 20;

/// `ingest.max_attribute_value_bytes` when the service is not told otherwise.
pub const DEFAULT_MAX_ATTRIBUTE_VALUE_BYTES: usize = 64 << 10;

pub struct IngestService {
    writer: Arc<dyn SpanWriter>,
    clock: Arc<dyn Clock>,
    prices: Arc<PriceRegistry>,
    /// Per-project prices (overrides in front of `prices`); without it, `prices` for everyone.
    book: Option<Arc<PriceBook>>,
    listeners: Vec<Arc<dyn CommitListener>>,
    live: LiveBus,
    /// Longest attribute value kept (`ingest.max_attribute_value_bytes`).
    max_attribute_value: usize,
    /// Where metric exports go, and the most series a project may have.
    metrics: Option<(Arc<dyn MetricWriter>, usize)>,
}

impl IngestService {
    pub fn new(
        writer: Arc<dyn SpanWriter>,
        clock: Arc<dyn Clock>,
        prices: Arc<PriceRegistry>,
    ) -> Self {
        IngestService {
            writer,
            clock,
            prices,
            book: None,
            listeners: Vec::new(),
            live: LiveBus::default(),
            max_attribute_value: DEFAULT_MAX_ATTRIBUTE_VALUE_BYTES,
            metrics: None,
        }
    }

    /// Cuts attribute values longer than `bytes` (with a marker, and a warning in the answer).
    pub fn with_max_attribute_value(mut self, bytes: usize) -> Self {
        self.max_attribute_value = bytes;
        self
    }

    /// Stores metric exports through `writer`, at most `max_series` series per project.
    pub fn with_metric_writer(mut self, writer: Arc<dyn MetricWriter>, max_series: usize) -> Self {
        self.metrics = Some((writer, max_series));
        self
    }

    /// Tells `listener` about every commit from now on.
    pub fn with_listener(mut self, listener: Arc<dyn CommitListener>) -> Self {
        self.listeners.push(listener);
        self
    }

    /// Prices each project's calls with its own overrides.
    pub fn with_price_book(mut self, book: Arc<PriceBook>) -> Self {
        self.book = Some(book);
        self
    }

    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    /// Where committed writes are announced (the live stream listens here).
    pub fn live(&self) -> &LiveBus {
        &self.live
    }

    /// Normalizes and stores `raw` in `project`. Returns after the commit.
    pub async fn ingest(
        &self,
        project: ProjectId,
        raw: RawBatch,
    ) -> Result<IngestOutcome, ApiError> {
        let now = self.clock.now_ns();
        let mut lines = raw.errors;
        let mut batch = WriteBatch {
            resources: raw.resources,
            ..Default::default()
        };
        let max = self.max_attribute_value;
        for (i, resource) in batch.resources.iter_mut().enumerate() {
            let mut cut = Cut::default();
            cap_attributes(&mut resource.attributes, max, &mut cut);
            lines.extend(cut.warning(&format!("resource {i}"), max));
        }
        let empty = sightline_core::Resource::default();
        let prices = match &self.book {
            Some(book) if !raw.spans.is_empty() => book.registry(project).await,
            _ => self.prices.clone(),
        };
        for (idx, span) in raw.spans {
            let resource = batch.resources.get(idx).unwrap_or(&empty);
            let mut n = normalize_span(span, resource, idx);
            // Enrich: what the call cost (llm and embedding calls only).
            n.value.cost =
                cost_with_estimate(&n.value, &prices, &TiktokenCounter).map(|c| c.to_cost());
            lines.extend(n.warnings);
            let label = format!("span '{}' (span_id {})", n.value.name, n.value.span_id);
            lines.extend(cap_observation(&mut n.value, max).warning(&label, max));
            batch.observations.push(n.value);
        }
        for (idx, log) in raw.logs {
            let resource = batch.resources.get(idx).unwrap_or(&empty);
            let mut n = normalize_log(log, resource, idx);
            if n.value.observed_ns == 0 {
                n.value.observed_ns = now;
            }
            if n.value.time_ns == 0 {
                n.value.time_ns = n.value.observed_ns;
            }
            lines.extend(n.warnings);
            lines.extend(cap_log(&mut n.value, max).warning("log record", max));
            batch.logs.push(n.value);
        }
        let calls = if self.listeners.is_empty() {
            Vec::new()
        } else {
            ModelCall::all_of(&batch)
        };
        let written = self.writer.write(project, batch).await?;
        if written.observations > 0 || written.logs > 0 {
            self.live.publish(project);
        }
        let commit = Commit {
            project,
            written: &written,
            calls: &calls,
            rejected_spans: raw.rejected_spans,
            rejected_logs: raw.rejected_logs,
        };
        for listener in &self.listeners {
            listener.committed(&commit);
        }
        Ok(IngestOutcome {
            accepted_spans: (written.observations + written.duplicates) as u64,
            rejected_spans: raw.rejected_spans,
            accepted_logs: written.logs as u64,
            rejected_logs: raw.rejected_logs,
            duplicate_spans: written.duplicates as u64,
            message: message(lines),
            ..Default::default()
        })
    }

    /// Normalizes and stores the metric points of `raw` in `project`; a new series past the
    /// project's limit is refused with its points, and the answer says which metric and why.
    /// Returns after the commit.
    pub async fn ingest_metrics(
        &self,
        project: ProjectId,
        mut raw: RawMetrics,
    ) -> Result<IngestOutcome, ApiError> {
        let Some((writer, max_series)) = &self.metrics else {
            return Err(ApiError::new(
                ErrorCode::Internal,
                "this server was started without a metrics store",
            ));
        };
        let rejected = raw.rejected_points;
        let mut lines = std::mem::take(&mut raw.errors);
        let written = writer
            .write_metrics(project, normalize_metrics(raw), *max_series)
            .await?;
        for (name, n) in &written.refused_series {
            lines.push(format!(
                "metric {name:?}: {n} new series refused: the project has reached its limit of \
                 {max_series} series (ingest.max_metric_series); drop attributes with many values \
                 (ids, timestamps) from the metric, or raise the limit"
            ));
        }
        let commit = MetricsCommit {
            project,
            written: &written,
            rejected_points: rejected,
        };
        for listener in &self.listeners {
            listener.metrics_committed(&commit);
        }
        Ok(IngestOutcome {
            accepted_points: (written.points + written.duplicates) as u64,
            rejected_points: rejected + written.refused_points as u64,
            message: message(lines),
            ..Default::default()
        })
    }
}

/// The answer's message: the first [`MAX_MESSAGE_LINES`] lines, the rest counted.
fn message(lines: Vec<String>) -> String {
    let total = lines.len();
    let mut message: Vec<String> = lines.into_iter().take(MAX_MESSAGE_LINES).collect();
    if total > MAX_MESSAGE_LINES {
        message.push(format!("... and {} more", total - MAX_MESSAGE_LINES));
    }
    message.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use sightline_core::time::ManualClock;
    use sightline_core::{
        AttrValue, CostSource, RawSpan, Resource, SpanId, SpanKind, StatusCode, TraceId,
    };
    use sightline_store::sqlite::{SqliteConfig, SqliteStore};
    use sightline_store::TraceReader;

    fn sqlite_store(dir: &std::path::Path) -> Arc<SqliteStore> {
        Arc::new(
            SqliteStore::open(&SqliteConfig {
                data_dir: dir.into(),
                max_queued: 1000,
                limits: Default::default(),
            })
            .unwrap(),
        )
    }

    fn fixed_clock() -> Arc<ManualClock> {
        Arc::new(ManualClock::new(1_768_386_600_000_000_000))
    }

    fn llm(span: u8, model: &str, attrs: Vec<(&str, AttrValue)>) -> (usize, RawSpan) {
        let mut attributes: Vec<(String, AttrValue)> = vec![
            (
                "gen_ai.operation.name".into(),
                AttrValue::Str("chat".into()),
            ),
            (
                "gen_ai.provider.name".into(),
                AttrValue::Str("openai".into()),
            ),
            ("gen_ai.request.model".into(), AttrValue::Str(model.into())),
        ];
        attributes.extend(attrs.into_iter().map(|(k, v)| (k.to_string(), v)));
        let raw = RawSpan {
            trace_id: TraceId([7; 16]),
            span_id: SpanId([span; 8]),
            parent_span_id: None,
            name: format!("chat {model}"),
            span_kind: SpanKind::Client,
            start_ns: 1_768_386_600_000_000_000,
            end_ns: 1_768_386_601_000_000_000,
            status_code: StatusCode::Unset,
            status_message: String::new(),
            attributes,
            events: Vec::new(),
            links: Vec::new(),
            scope_name: String::new(),
            scope_version: String::new(),
        };
        (0, raw)
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn llm_calls_are_priced_at_ingest_and_unknown_models_say_why() {
        let dir = tempfile::tempdir().unwrap();
        let store = sqlite_store(dir.path());
        let prices = Arc::new(PriceRegistry::bundled().unwrap());
        let service = IngestService::new(store.clone(), fixed_clock(), prices.clone());
        let tokens = |i: i64, o: i64| {
            vec![
                ("gen_ai.usage.input_tokens", AttrValue::Int(i)),
                ("gen_ai.usage.output_tokens", AttrValue::Int(o)),
            ]
        };
        let mut provided = tokens(1000, 10);
        provided.push(("gen_ai.usage.cost", AttrValue::Double(0.5)));
        let batch = RawBatch {
            resources: vec![Resource::default()],
            spans: vec![
                llm(1, "gpt-4o", tokens(1_000_000, 0)),
                llm(2, "no-such-model-xyz", tokens(10, 10)),
                llm(3, "gpt-4o", provided),
            ],
            ..Default::default()
        };
        service
            .ingest(sightline_core::ProjectId(1), batch)
            .await
            .unwrap();
        let t = store
            .trace(sightline_core::ProjectId(1), TraceId([7; 16]), true)
            .await
            .unwrap()
            .unwrap();
        let cost = |n: u8| {
            t.observations
                .iter()
                .find(|o| o.span_id == SpanId([n; 8]))
                .unwrap()
                .cost
                .clone()
                .unwrap()
        };

        let computed = cost(1);
        assert_eq!(computed.source, CostSource::Computed);
        let entry = prices
            .lookup(Some("openai"), "gpt-4o", 1_768_386_600_000_000_000)
            .unwrap();
        let expected = sightline_core::cost::compute_cost(
            entry,
            &sightline_core::Usage {
                input: Some(1_000_000),
                output: Some(0),
                ..Default::default()
            },
            sightline_core::cost::UsageSemantics::OPENTELEMETRY,
        );
        assert_eq!(computed.nano_usd, Some(expected.total));
        assert!(
            expected.total > 0,
            "a million input tokens of gpt-4o cost something"
        );

        let unknown = cost(2);
        assert_eq!(
            (unknown.source, unknown.nano_usd),
            (CostSource::Unknown, None)
        );
        assert!(unknown.reason.unwrap().contains("no-such-model-xyz"));

        let provided = cost(3);
        assert_eq!(
            (provided.source, provided.nano_usd),
            (CostSource::Provided, Some(500_000_000))
        );

        assert_eq!(
            t.summary.cost_nano_usd,
            Some(expected.total + 500_000_000),
            "unknown costs add nothing"
        );
    }

    /// Issue 15: ~150 spans with 1-19 MiB attributes made a filtered trace list decode every one
    /// of them (7.6 s, and minutes for a few concurrent ones). The values are cut at ingest now:
    /// what a filter decodes per span is bounded by the cap, and the sender is told.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_trace_list_filter_over_spans_with_huge_attribute_values_decodes_capped_values_only()
    {
        use sightline_store::{ObservationFilter, TraceQuery, TraceSort};
        const MIB: usize = 1 << 20;
        let dir = tempfile::tempdir().unwrap();
        let store = sqlite_store(dir.path());
        let cap = 64 << 10;
        let prices = Arc::new(PriceRegistry::bundled().unwrap());
        let service =
            IngestService::new(store.clone(), fixed_clock(), prices).with_max_attribute_value(cap);
        let project = sightline_core::ProjectId(1);
        for n in 1..=4u8 {
            let huge = AttrValue::Str("v".repeat(usize::from(n) * 2 * MIB));
            let team = AttrValue::Str(format!("t{n}"));
            let batch = RawBatch {
                resources: vec![Resource::default()],
                spans: vec![llm(n, "gpt-4o", vec![("blob", huge), ("team", team)])],
                ..Default::default()
            };
            let outcome = service.ingest(project, batch).await.unwrap();
            assert_eq!(
                outcome.rejected_spans, 0,
                "a cut is a warning, not a rejection"
            );
            assert!(
                outcome.message.contains("ingest.max_attribute_value_bytes")
                    && outcome.message.contains("blob"),
                "{}",
                outcome.message
            );
        }
        let query = TraceQuery {
            filter: ObservationFilter {
                attributes: vec![("team".into(), "t3".into())],
                ..Default::default()
            },
            sort: TraceSort::Start,
            descending: true,
            limit: 50,
            after: None,
        };
        assert_eq!(
            store
                .list_traces(project, &query)
                .await
                .unwrap()
                .traces
                .len(),
            1
        );
        let (_, stored) = store
            .observation(project, TraceId([7; 16]), SpanId([3; 8]))
            .await
            .unwrap()
            .unwrap();
        let value = stored
            .attributes
            .iter()
            .find(|(k, _)| k == "blob")
            .and_then(|(_, v)| v.as_str())
            .unwrap();
        assert!(value.len() < cap + 100, "{} bytes kept", value.len());
        let marker = sightline_core::normalize::cap::marker(6 * MIB - cap);
        assert!(value.ends_with(&marker), "{}", &value[value.len() - 80..]);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn metric_series_past_the_limit_are_refused_by_name() {
        use sightline_core::metrics::{MetricKind, Temporality};
        use sightline_core::{RawMetric, RawMetrics, RawPoint, RawValue};
        let dir = tempfile::tempdir().unwrap();
        let store = sqlite_store(dir.path());
        let prices = Arc::new(PriceRegistry::bundled().unwrap());
        let service = IngestService::new(store.clone(), fixed_clock(), prices)
            .with_metric_writer(store.clone(), 2);
        let point = |user: &str| RawPoint {
            attributes: vec![("user.id".into(), AttrValue::Str(user.into()))],
            start_ns: 0,
            time_ns: 1_768_386_600_000_000_000,
            value: RawValue::Int(1),
        };
        let raw = RawMetrics {
            resources: vec![Resource::default()],
            metrics: vec![RawMetric {
                resource_index: 0,
                name: "logins".into(),
                description: String::new(),
                unit: String::new(),
                kind: MetricKind::Sum,
                temporality: Temporality::Delta,
                monotonic: true,
                points: vec![point("a"), point("b"), point("c")],
            }],
            rejected_points: 1,
            errors: vec!["an invalid point".into()],
        };
        let o = service
            .ingest_metrics(sightline_core::ProjectId(1), raw)
            .await
            .unwrap();
        assert_eq!((o.accepted_points, o.rejected_points), (2, 2));
        assert_eq!(
            o.message,
            "an invalid point\nmetric \"logins\": 1 new series refused: the project has \
             reached its limit of 2 series (ingest.max_metric_series); drop attributes with \
             many values (ids, timestamps) from the metric, or raise the limit"
        );
    }
}

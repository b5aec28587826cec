//! Traces: the summary `/traces` lists, and one trace as a tree (`/traces/{trace_id}`).

use serde::{Deserialize, Serialize};
use sightline_core::time::format_rfc3339;
use sightline_core::LogRecord;
use sightline_store::TraceDetail;

use super::{Log, Observation};
use crate::api::tree::{arrange, place_logs, Node};

/// A trace's stored aggregates with RFC 3339 times and the duration.
#[derive(Serialize, Deserialize, Debug, Clone, Default)]
#[serde(default)]
pub struct TraceSummary {
    pub trace_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub root_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub root_span_id: Option<String>,
    pub start_ns: i64,
    pub start_time: String,
    pub end_ns: i64,
    pub end_time: String,
    pub duration_ns: i64,
    pub span_count: i64,
    pub error_count: i64,
    pub input_tokens: i64,
    pub output_tokens: i64,
    pub total_tokens: i64,
    pub cache_read_tokens: i64,
    pub cache_write_tokens: i64,
    pub reasoning_tokens: i64,
    /// Sum of the known costs of the trace's llm and embedding calls.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cost_nano_usd: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub agent_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tenant_id: Option<String>,
}

impl From<&sightline_store::TraceSummary> for TraceSummary {
    fn from(t: &sightline_store::TraceSummary) -> Self {
        TraceSummary {
            trace_id: t.trace_id.clone(),
            root_name: t.root_name.clone(),
            root_span_id: t.root_span_id.clone(),
            start_ns: t.start_ns,
            start_time: format_rfc3339(t.start_ns),
            end_ns: t.end_ns,
            end_time: format_rfc3339(t.end_ns),
            duration_ns: t.end_ns - t.start_ns,
            span_count: t.span_count,
            error_count: t.error_count,
            input_tokens: t.input_tokens,
            output_tokens: t.output_tokens,
            total_tokens: t.total_tokens,
            cache_read_tokens: t.cache_read_tokens,
            cache_write_tokens: t.cache_write_tokens,
            reasoning_tokens: t.reasoning_tokens,
            cost_nano_usd: t.cost_nano_usd,
            service_name: t.service_name.clone(),
            agent_name: t.agent_name.clone(),
            user_id: t.user_id.clone(),
            session_id: t.session_id.clone(),
            tenant_id: t.tenant_id.clone(),
        }
    }
}

/// One trace as a tree: observations in tree order (depth first, children by start time), the
/// logs carrying an observation's span id under it, the trace's other logs at the top level.
#[derive(Serialize, Deserialize, Debug, Clone, Default)]
#[serde(default)]
pub struct TraceTree {
    pub trace_id: String,
    pub summary: TraceSummary,
    pub observation_count: usize,
    /// Roots whose parent never arrived (or sat in a parent cycle).
    pub orphan_count: usize,
    pub observations: Vec<TreeObservation>,
    pub logs: Vec<Log>,
}

/// An observation in the tree: its place (depth 0 for roots), child count and its logs.
#[derive(Serialize, Deserialize, Debug, Clone)]
pub struct TreeObservation {
    #[serde(flatten)]
    pub observation: Observation,
    #[serde(default)]
    pub depth: usize,
    #[serde(default)]
    pub orphan: bool,
    #[serde(default)]
    pub child_count: usize,
    #[serde(default)]
    pub logs: Vec<Log>,
}

impl From<&TraceDetail> for TraceTree {
    fn from(t: &TraceDetail) -> Self {
        let nodes: Vec<Node> = t
            .observations
            .iter()
            .map(|o| Node {
                span_id: o.span_id,
                parent: o.parent_span_id,
                start_ns: o.start_ns,
            })
            .collect();
        let mut logs: Vec<&LogRecord> = t.logs.iter().collect();
        logs.sort_by_key(|l| l.time_ns);
        let log_spans: Vec<_> = logs.iter().map(|l| l.span_id).collect();
        let (inside, loose) = place_logs(&nodes, &log_spans);
        let placed = arrange(&nodes);
        let log = |j: &usize| Log::new(logs[*j], &t.resources);
        TraceTree {
            trace_id: t.summary.trace_id.clone(),
            summary: TraceSummary::from(&t.summary),
            observation_count: t.observations.len(),
            orphan_count: placed.iter().filter(|p| p.orphan).count(),
            observations: placed
                .iter()
                .map(|p| TreeObservation {
                    observation: Observation::new(&t.observations[p.index], &t.resources),
                    depth: p.depth,
                    orphan: p.orphan,
                    child_count: p.child_count,
                    logs: inside[p.index].iter().map(log).collect(),
                })
                .collect(),
            logs: loose.iter().map(log).collect(),
        }
    }
}

//! The parts of the query API's JSON (docs/api.md) that the terminal views show. Every field is
//! optional or defaulted: absent values are left out by the server, and new fields are ignored.

use serde::Deserialize;
use serde_json::Value as Json;

#[derive(Debug, Deserialize)]
#[serde(default)]
pub struct Page<T> {
    pub data: Vec<T>,
    pub next_cursor: Option<String>,
}

impl<T> Default for Page<T> {
    fn default() -> Self {
        Self {
            data: Vec::new(),
            next_cursor: None,
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct TraceSummary {
    pub trace_id: String,
    pub root_name: Option<String>,
    pub start_ns: i64,
    pub end_ns: i64,
    pub duration_ns: Option<i64>,
    pub span_count: i64,
    pub error_count: i64,
    pub input_tokens: i64,
    pub output_tokens: i64,
    pub total_tokens: i64,
    pub cost_nano_usd: Option<i64>,
    pub service_name: Option<String>,
    pub agent_name: Option<String>,
    pub user_id: Option<String>,
    pub session_id: Option<String>,
}

impl TraceSummary {
    pub fn duration(&self) -> i64 {
        self.duration_ns.unwrap_or(self.end_ns - self.start_ns)
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ErrorInfo {
    #[serde(rename = "type")]
    pub error_type: Option<String>,
    pub message: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Usage {
    pub input: Option<i64>,
    pub output: Option<i64>,
    pub total: Option<i64>,
}

impl Usage {
    /// The total, else input plus output when either is known.
    pub fn total(&self) -> Option<i64> {
        self.total.or(match (self.input, self.output) {
            (None, None) => None,
            (i, o) => Some(i.unwrap_or(0) + o.unwrap_or(0)),
        })
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Cost {
    pub nano_usd: Option<i64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Observation {
    pub trace_id: String,
    pub span_id: String,
    pub parent_span_id: Option<String>,
    pub name: String,
    pub kind: Option<String>,
    pub start_ns: i64,
    pub end_ns: i64,
    pub duration_ns: Option<i64>,
    pub status_message: Option<String>,
    pub is_error: bool,
    pub error: Option<ErrorInfo>,
    pub service_name: Option<String>,
    pub model: Option<String>,
    pub usage: Option<Usage>,
    pub cost: Option<Cost>,
    pub agent_name: Option<String>,
    pub tool_name: Option<String>,
    pub tool_arguments: Option<Json>,
    pub tool_result: Option<Json>,
    pub input: Option<Json>,
    pub output: Option<Json>,
    pub depth: usize,
    pub orphan: bool,
    pub logs: Vec<Log>,
}

impl Observation {
    pub fn duration(&self) -> i64 {
        self.duration_ns.unwrap_or(self.end_ns - self.start_ns)
    }

    /// `Type: message` of the failure, or `None` when the step did not fail.
    pub fn error_text(&self) -> Option<String> {
        let err = self.error.as_ref();
        if !self.is_error && err.is_none() {
            return None;
        }
        let ty = err.and_then(|e| e.error_type.as_deref());
        let msg = err
            .and_then(|e| e.message.as_deref())
            .or(self.status_message.as_deref());
        Some(match (ty, msg) {
            (Some(t), Some(m)) => format!("{t}: {m}"),
            (Some(t), None) => t.to_string(),
            (None, Some(m)) => m.to_string(),
            (None, None) => "failed".to_string(),
        })
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Log {
    pub time_ns: i64,
    pub trace_id: Option<String>,
    pub span_id: Option<String>,
    pub severity_number: i32,
    pub severity_text: Option<String>,
    pub body: Option<Json>,
    pub service_name: Option<String>,
    pub agent_name: Option<String>,
    pub event_name: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct TraceDetail {
    pub trace_id: String,
    pub summary: Option<TraceSummary>,
    pub orphan_count: i64,
    pub observations: Vec<Observation>,
    pub logs: Vec<Log>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct SessionSummary {
    pub session_id: String,
    pub first_seen_ns: i64,
    pub last_seen_ns: i64,
    pub trace_count: i64,
    pub span_count: i64,
    pub error_count: i64,
    pub total_tokens: i64,
    pub cost_nano_usd: Option<i64>,
    pub user_ids: Vec<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Turn {
    #[serde(flatten)]
    pub trace: TraceSummary,
    pub input: Option<Json>,
    pub output: Option<Json>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct SessionDetail {
    pub session: SessionSummary,
    pub traces: Vec<Turn>,
}

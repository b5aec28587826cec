//! Sessions: the summary `/sessions` lists, and one session as a conversation
//! (`/sessions/{session_id}`).

use serde::{Deserialize, Serialize};
use sightline_core::time::format_rfc3339;
use sightline_core::Payload;

use super::TraceSummary;

#[derive(Serialize, Deserialize, Debug, Clone, Default)]
#[serde(default)]
pub struct SessionSummary {
    pub session_id: String,
    /// Earliest trace start.
    pub first_seen_ns: i64,
    pub first_seen: String,
    /// Latest trace end.
    pub last_seen_ns: i64,
    pub last_seen: String,
    pub trace_count: i64,
    pub span_count: i64,
    pub error_count: i64,
    pub input_tokens: i64,
    pub output_tokens: i64,
    pub total_tokens: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cost_nano_usd: Option<i64>,
    /// Distinct user ids seen in the session, sorted.
    pub user_ids: Vec<String>,
}

impl From<&sightline_store::SessionSummary> for SessionSummary {
    fn from(s: &sightline_store::SessionSummary) -> Self {
        SessionSummary {
            session_id: s.session_id.clone(),
            first_seen_ns: s.first_seen_ns,
            first_seen: format_rfc3339(s.first_seen_ns),
            last_seen_ns: s.last_seen_ns,
            last_seen: format_rfc3339(s.last_seen_ns),
            trace_count: s.trace_count,
            span_count: s.span_count,
            error_count: s.error_count,
            input_tokens: s.input_tokens,
            output_tokens: s.output_tokens,
            total_tokens: s.total_tokens,
            cost_nano_usd: s.cost_nano_usd,
            user_ids: s.user_ids.clone(),
        }
    }
}

/// A session and its traces as turns, oldest first.
#[derive(Serialize, Deserialize, Debug, Clone, Default)]
#[serde(default)]
pub struct SessionDetail {
    pub session: SessionSummary,
    pub traces: Vec<Turn>,
}

/// One trace of a session: its summary plus its root's input and output.
#[derive(Serialize, Deserialize, Debug, Clone, Default)]
#[serde(default)]
pub struct Turn {
    #[serde(flatten)]
    pub trace: TraceSummary,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub input: Option<Payload>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output: Option<Payload>,
}

impl From<&sightline_store::SessionDetail> for SessionDetail {
    fn from(s: &sightline_store::SessionDetail) -> Self {
        SessionDetail {
            session: SessionSummary::from(&s.summary),
            traces: s
                .turns
                .iter()
                .map(|t| Turn {
                    trace: TraceSummary::from(&t.trace),
                    input: t.input.clone(),
                    output: t.output.clone(),
                })
                .collect(),
        }
    }
}

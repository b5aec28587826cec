//! The gateway's management answers: budgets with their current window, budget
//! notifications, rate-limit rules, stored provider keys (never the key itself) and the
//! gateway's upstreams and counters. Money is exact decimal USD text.

use serde::{Deserialize, Serialize};

/// A budget and its current window.
#[derive(Serialize, Deserialize, Debug, Clone, Default)]
#[serde(default)]
pub struct Budget {
    pub id: String,
    /// `project`, `tenant:<id>`, `user:<id>`, `key:<public key>` or `property:<name>=<value>`.
    pub scope: String,
    /// `daily`, `monthly` or `<seconds>s`.
    pub window: String,
    pub limit_usd: String,
    /// Calls that arrived as telemetry count too.
    pub include_otlp: bool,
    /// The current window (RFC 3339, UTC).
    pub window_start: String,
    pub resets_at: String,
    pub spent_usd: String,
    /// Held by calls in flight.
    pub reserved_usd: String,
    pub remaining_usd: String,
    pub updated_ns: i64,
}

/// A budget's spend reached 50, 80 or 95% of its limit in a window (once each).
#[derive(Serialize, Deserialize, Debug, Clone, Default)]
#[serde(default)]
pub struct BudgetEvent {
    pub budget_id: String,
    pub scope: String,
    pub threshold_pct: u8,
    pub window_start: String,
    pub spent_usd: String,
    pub limit_usd: String,
    pub at: String,
    pub at_ns: i64,
}

/// A rate-limit rule of the project.
#[derive(Serialize, Deserialize, Debug, Clone, Default)]
#[serde(default)]
pub struct RateLimit {
    pub id: String,
    /// `<quota>;w=<seconds>;u=<unit>[;s=<segment>]`.
    pub policy: String,
    /// Applies only to calls made with this Sightline key (public half).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub for_key: Option<String>,
    pub updated_ns: i64,
}

/// A stored provider key: where it goes and its last characters, never the key.
#[derive(Serialize, Deserialize, Debug, Clone, Default)]
#[serde(default)]
pub struct ProviderKey {
    pub id: String,
    pub upstream: String,
    /// Used only for calls made with this Sightline key (public half).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub for_key: Option<String>,
    pub hint: String,
    /// Calls made through this key are cached this long.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cache_ttl_secs: Option<u64>,
    pub updated_ns: i64,
}

/// One configured upstream.
#[derive(Serialize, Deserialize, Debug, Clone, Default)]
#[serde(default)]
pub struct Upstream {
    pub name: String,
    /// `openai` or `anthropic`: the API it speaks.
    pub kind: String,
    pub base_url: String,
    /// Where agents point their SDK's `base_url`, relative to this server.
    pub path: String,
}

/// `GET /api/v1/gateway`: the upstreams and what the gateway did since start.
#[derive(Serialize, Deserialize, Debug, Clone, Default)]
#[serde(default)]
pub struct GatewayStatus {
    pub upstreams: Vec<Upstream>,
    /// Spans recorded for gateway calls.
    pub recorded_spans: u64,
    /// Calls answered but not recorded because the recording queue was full.
    pub dropped_calls: u64,
    /// Spans the ingest service refused (storage full or failing).
    pub failed_spans: u64,
    /// Budget settlements or notifications not stored because their queue was full.
    pub budget_writes_dropped: u64,
}

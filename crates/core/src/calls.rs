//! One model call's numbers: what an llm or embedding observation adds to Prometheus counters,
//! spend, budgets and alert rules. Read once from the normalized, priced observation, so every
//! consumer of committed data counts the same thing without seeing the whole batch.

use crate::{Observation, ObservationKind, Usage, WriteBatch};

/// The instrumentation scope of the observations the gateway records: how commit listeners
/// tell a call made through the gateway from one that arrived as telemetry.
pub const GATEWAY_SCOPE: &str = "sightline.gateway";

/// An llm or embedding call as counted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelCall {
    pub kind: ObservationKind,
    pub tenant_id: Option<String>,
    pub workspace_id: Option<String>,
    /// The agent id, else the agent name.
    pub agent: Option<String>,
    pub user_id: Option<String>,
    pub session_id: Option<String>,
    /// The response model, else the request model.
    pub model: Option<String>,
    pub provider: Option<String>,
    pub usage: Usage,
    /// The known cost (provided or computed).
    pub cost_nano_usd: Option<i64>,
    /// End minus start, when both are known and in order.
    pub duration_ns: Option<i64>,
    pub is_error: bool,
    pub start_ns: i64,
    /// Recorded by the gateway (scope [`GATEWAY_SCOPE`]) rather than received as telemetry.
    pub via_gateway: bool,
}

impl ModelCall {
    /// The call `o` made; `None` unless it is an llm or embedding observation.
    pub fn of(o: &Observation) -> Option<ModelCall> {
        if !matches!(o.kind, ObservationKind::Llm | ObservationKind::Embedding) {
            return None;
        }
        Some(ModelCall {
            kind: o.kind,
            tenant_id: o.tenant_id.clone(),
            workspace_id: o.workspace_id.clone(),
            agent: o.agent_id.clone().or_else(|| o.agent_name.clone()),
            user_id: o.user_id.clone(),
            session_id: o.session_id.clone(),
            model: o.model().map(str::to_owned),
            provider: o.provider.clone(),
            usage: o.usage,
            cost_nano_usd: o.cost.as_ref().and_then(|c| c.nano_usd),
            duration_ns: (o.start_ns > 0 && o.end_ns >= o.start_ns).then(|| o.end_ns - o.start_ns),
            is_error: o.is_error(),
            start_ns: o.start_ns,
            via_gateway: o.scope_name.as_deref() == Some(GATEWAY_SCOPE),
        })
    }

    /// Every model call of `batch`, in batch order.
    pub fn all_of(batch: &WriteBatch) -> Vec<ModelCall> {
        batch
            .observations
            .iter()
            .filter_map(ModelCall::of)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Cost, CostSource, SpanId, StatusCode, TraceId};

    #[test]
    fn llm_and_embedding_calls_count_and_nothing_else_does() {
        let mut llm = Observation::new(TraceId([1; 16]), SpanId([1; 8]), "chat".into());
        llm.kind = ObservationKind::Llm;
        llm.start_ns = 10;
        llm.end_ns = 35;
        llm.agent_name = Some("planner".into());
        llm.request_model = Some("gpt-4o".into());
        llm.response_model = Some("gpt-4o-2024-08-06".into());
        llm.status = StatusCode::Error;
        llm.usage.input = Some(3);
        llm.workspace_id = Some("w1".into());
        llm.cost = Some(Cost {
            nano_usd: Some(42),
            source: CostSource::Computed,
            reason: None,
        });
        let llm_copy = llm.clone();
        let mut tool = llm.clone();
        tool.kind = ObservationKind::Tool;
        let mut embed = llm.clone();
        embed.kind = ObservationKind::Embedding;
        embed.agent_id = Some("a-7".into());
        embed.start_ns = 0;
        let batch = WriteBatch {
            resources: Vec::new(),
            observations: vec![llm, tool, embed],
            logs: Vec::new(),
        };
        let calls = ModelCall::all_of(&batch);
        assert_eq!(calls.len(), 2);
        let c = &calls[0];
        assert_eq!(c.agent.as_deref(), Some("planner"));
        assert_eq!(c.model.as_deref(), Some("gpt-4o-2024-08-06"));
        assert_eq!(c.workspace_id.as_deref(), Some("w1"));
        assert_eq!(
            (c.cost_nano_usd, c.duration_ns, c.is_error),
            (Some(42), Some(25), true)
        );
        assert_eq!(c.usage.input, Some(3));
        assert_eq!(calls[1].agent.as_deref(), Some("a-7"));
        assert_eq!(calls[1].duration_ns, None, "no start time, no latency");
        assert!(!c.via_gateway);
        let mut through = llm_copy;
        through.scope_name = Some(GATEWAY_SCOPE.into());
        assert!(ModelCall::of(&through).unwrap().via_gateway);
    }
}

//! What pages read, through the query API's own handlers: the same parameters and checks, the
//! same store contracts and the same answer shapes as `/api/v1`, for the caller of the page. A
//! page never queries the store itself; a bad parameter in a page's URL is the API's error.

use axum::extract::{Path, RawQuery, State};

use crate::api::shapes::{
    Costs, Log, Metrics, Observation, Page, PriceLookup, SessionDetail, SessionSummary,
    TraceSummary, TraceTree,
};
use crate::api::{self, ApiState};
use crate::auth::Caller;
use crate::error::ApiError;

/// Reads for one page, as its caller.
#[derive(Clone)]
pub struct Reader {
    state: ApiState,
    caller: Caller,
}

fn raw(query: impl Into<String>) -> RawQuery {
    let query = query.into();
    RawQuery((!query.is_empty()).then_some(query))
}

impl Reader {
    pub fn new(state: ApiState, caller: Caller) -> Self {
        Reader { state, caller }
    }

    /// The public half of the key the page is read with (`None`: an open server).
    pub fn key_id(&self) -> Option<&str> {
        self.caller.key_id()
    }

    pub fn now_ns(&self) -> i64 {
        self.state.clock.now_ns()
    }

    fn s(&self) -> (State<ApiState>, Caller) {
        (State(self.state.clone()), self.caller.clone())
    }

    /// `GET /api/v1/traces?{query}`.
    pub async fn traces(&self, query: impl Into<String>) -> Result<Page<TraceSummary>, ApiError> {
        let (s, c) = self.s();
        Ok(api::list_traces(s, c, raw(query)).await?.0)
    }

    /// `GET /api/v1/traces/{trace_id}`, with or without payloads.
    pub async fn trace(&self, trace_id: &str, payloads: bool) -> Result<TraceTree, ApiError> {
        let (s, c) = self.s();
        let q = if payloads { "payloads=true" } else { "" };
        Ok(api::get_trace(s, c, Path(trace_id.to_owned()), raw(q))
            .await?
            .0)
    }

    /// `GET /api/v1/traces/{trace_id}/observations/{span_id}`: one observation, full payload.
    pub async fn observation(
        &self,
        trace_id: &str,
        span_id: &str,
    ) -> Result<Observation, ApiError> {
        let (s, c) = self.s();
        let path = Path((trace_id.to_owned(), span_id.to_owned()));
        Ok(api::get_observation(s, c, path, raw("")).await?.0)
    }

    /// `GET /api/v1/observations?{query}`.
    pub async fn observations(
        &self,
        query: impl Into<String>,
    ) -> Result<Page<Observation>, ApiError> {
        let (s, c) = self.s();
        Ok(api::list_observations(s, c, raw(query)).await?.0)
    }

    /// `GET /api/v1/sessions?{query}`.
    pub async fn sessions(
        &self,
        query: impl Into<String>,
    ) -> Result<Page<SessionSummary>, ApiError> {
        let (s, c) = self.s();
        Ok(api::list_sessions(s, c, raw(query)).await?.0)
    }

    /// `GET /api/v1/sessions/{session_id}`.
    pub async fn session(&self, session_id: &str) -> Result<SessionDetail, ApiError> {
        let (s, c) = self.s();
        Ok(api::get_session(s, c, Path(session_id.to_owned()), raw(""))
            .await?
            .0)
    }

    /// `GET /api/v1/logs?{query}`.
    pub async fn logs(&self, query: impl Into<String>) -> Result<Page<Log>, ApiError> {
        let (s, c) = self.s();
        Ok(api::list_logs(s, c, raw(query)).await?.0)
    }

    /// `GET /api/v1/metrics?{query}`.
    pub async fn metrics(&self, query: impl Into<String>) -> Result<Metrics, ApiError> {
        let (s, c) = self.s();
        Ok(api::metrics(s, c, raw(query)).await?.0)
    }

    /// `GET /api/v1/costs?{query}`.
    pub async fn costs(&self, query: impl Into<String>) -> Result<Costs, ApiError> {
        let (s, c) = self.s();
        Ok(api::costs(s, c, raw(query)).await?.0)
    }

    /// `GET /api/v1/prices/lookup?{query}`.
    pub async fn price(&self, query: impl Into<String>) -> Result<PriceLookup, ApiError> {
        let (s, c) = self.s();
        Ok(api::lookup_price(s, c, raw(query)).await?.0)
    }
}

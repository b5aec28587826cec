//! The explore read contracts on the embedded engine: trace and observation lists, sessions,
//! logs, metrics and the change feed. One file per contract; shared SQL filter building in
//! `filter.rs`.

use async_trait::async_trait;
use sightline_core::{Observation, ProjectId, Resource, SpanId, TraceId};

use super::SqliteStore;
use crate::{
    ChangeFeed, FeedBatch, FeedPosition, FeedQuery, LogPage, LogQuery, LogReader, MetricsQuery,
    MetricsReader, MetricsResult, ObservationPage, ObservationQuery, SessionDetail, SessionPage,
    SessionQuery, SessionReader, StoreError,
};

fn todo_err() -> StoreError {
    StoreError::Engine("not implemented yet".into())
}

impl SqliteStore {
    pub(crate) async fn list_traces_impl(
        &self,
        _project: ProjectId,
        _query: &crate::TraceQuery,
    ) -> Result<crate::TracePage, StoreError> {
        Err(todo_err())
    }

    pub(crate) async fn list_observations_impl(
        &self,
        _project: ProjectId,
        _query: &ObservationQuery,
    ) -> Result<ObservationPage, StoreError> {
        Err(todo_err())
    }

    pub(crate) async fn observation_impl(
        &self,
        _project: ProjectId,
        _trace_id: TraceId,
        _span_id: SpanId,
    ) -> Result<Option<(Resource, Observation)>, StoreError> {
        Err(todo_err())
    }
}

#[async_trait]
impl SessionReader for SqliteStore {
    async fn list_sessions(
        &self,
        _project: ProjectId,
        _query: &SessionQuery,
    ) -> Result<SessionPage, StoreError> {
        Err(todo_err())
    }

    async fn session(
        &self,
        _project: ProjectId,
        _session_id: &str,
        _max_turns: usize,
    ) -> Result<Option<SessionDetail>, StoreError> {
        Err(todo_err())
    }
}

#[async_trait]
impl LogReader for SqliteStore {
    async fn list_logs(
        &self,
        _project: ProjectId,
        _query: &LogQuery,
    ) -> Result<LogPage, StoreError> {
        Err(todo_err())
    }
}

#[async_trait]
impl MetricsReader for SqliteStore {
    async fn metrics(
        &self,
        _project: ProjectId,
        _query: &MetricsQuery,
    ) -> Result<MetricsResult, StoreError> {
        Err(todo_err())
    }
}

#[async_trait]
impl ChangeFeed for SqliteStore {
    async fn feed_head(&self, _project: ProjectId) -> Result<FeedPosition, StoreError> {
        Err(todo_err())
    }

    async fn feed(&self, _project: ProjectId, _query: &FeedQuery) -> Result<FeedBatch, StoreError> {
        Err(todo_err())
    }
}

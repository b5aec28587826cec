//! What both engines' filter predicates share: the column each exact-match filter tests (the
//! promoted columns have the same names in both) and which fields the trace list tests on
//! single observations. The SQL around them differs by dialect (bound parameters in SQLite,
//! quoted literals and ClickHouse functions there), so each engine writes its own predicates
//! from these lists.

use crate::{LogFilter, ObservationFilter};

/// Which fields of an [`ObservationFilter`] a predicate covers.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fields {
    /// Every field.
    All,
    /// Everything but the time window, trace id, status and minimum duration: what the trace
    /// list asks of "one observation of the trace".
    PerObservation,
}

/// The observation filter's exact-match fields, each with the `spans` column it tests (the
/// model filter tests [`MODEL_COLUMNS`]).
pub(crate) fn span_equalities(f: &ObservationFilter) -> [(&'static str, Option<&String>); 7] {
    [
        ("name", f.name.as_ref()),
        ("service", f.service.as_ref()),
        ("agent", f.agent.as_ref()),
        ("provider", f.provider.as_ref()),
        ("user_id", f.user_id.as_ref()),
        ("session_id", f.session_id.as_ref()),
        ("tenant_id", f.tenant_id.as_ref()),
    ]
}

/// The `spans` columns the model filter tests, any of which may equal it: the answered (else
/// requested) model, the requested model when it differs, and the family of the first when it
/// differs (`sightline_core::model_name::model_matches` is the same test on a model).
pub(crate) const MODEL_COLUMNS: [&str; 3] = ["model", "request_model", "model_family"];

/// The log filter's exact-match fields, each with the `logs` column it tests.
pub(crate) fn log_equalities(f: &LogFilter) -> [(&'static str, Option<&String>); 3] {
    [
        ("service", f.service.as_ref()),
        ("agent", f.agent.as_ref()),
        ("session_id", f.session_id.as_ref()),
    ]
}

/// Whether `f` sets any field that the trace list tests on single observations
/// ([`Fields::PerObservation`]).
pub(crate) fn has_per_observation_fields(f: &ObservationFilter) -> bool {
    f.kind.is_some()
        || f.model.is_some()
        || span_equalities(f).iter().any(|(_, v)| v.is_some())
        || !f.attributes.is_empty()
        || !f.tags.is_empty()
        || f.text.is_some()
}

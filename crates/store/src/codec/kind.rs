//! The `kind` column: stable small integers for observation kinds, the same in every engine.

use sightline_core::ObservationKind;

/// Stable small integers for kinds in the `kind` column (never renumber).
pub fn kind_code(kind: ObservationKind) -> i64 {
    match kind {
        ObservationKind::Span => 0,
        ObservationKind::Agent => 1,
        ObservationKind::Llm => 2,
        ObservationKind::Tool => 3,
        ObservationKind::Chain => 4,
        ObservationKind::Retriever => 5,
        ObservationKind::Embedding => 6,
        ObservationKind::Reranker => 7,
        ObservationKind::Guardrail => 8,
        ObservationKind::Evaluator => 9,
        ObservationKind::Event => 10,
    }
}

pub fn kind_from_code(code: i64) -> ObservationKind {
    ObservationKind::ALL
        .into_iter()
        .find(|k| kind_code(*k) == code)
        .unwrap_or(ObservationKind::Span)
}

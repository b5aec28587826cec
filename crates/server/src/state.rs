//! The shared state handlers receive.

use std::sync::Arc;

use sightline_store::TraceReader;

use crate::admission::Admission;
use crate::auth::Authenticator;
use crate::ingest::IngestService;

#[derive(Clone)]
pub struct AppState {
    pub ingest: Arc<IngestService>,
    pub auth: Arc<Authenticator>,
    pub traces: Arc<dyn TraceReader>,
    pub admission: Admission,
    pub max_http_body_bytes: usize,
}

//! The web dashboard, served at `/` beside the API: overview, traces, one trace (waterfall,
//! tree, inspector, agent graph), sessions, costs and logs, plus the key prompt. Pages are
//! rendered on the server with `maud` (escaped by default) from the API's own answers
//! ([`read`] calls the `/api/v1` handlers), so a page is a view and never a second query
//! layer. Live updates, the virtualized waterfall and the log tail are two small scripts of our
//! own in `assets/`; everything is embedded in the binary and nothing is fetched from elsewhere.

mod assets;
mod charts;
mod chat;
mod format;
mod graph;
mod layout;
mod pages;
mod query;
mod read;
mod routes;
mod viewer;

pub use routes::router;

//! Authentication and authorization: credentials become a [`Caller`] (project, key, role) in
//! one place, and handlers get it by their signature. Keys are a public/secret pair; only the
//! SHA-256 of the secret is stored; each key has a role and may be revoked. Dashboard logins
//! keep a session cookie (`session.rs`). No other module reads credentials or the cookies that
//! carry them (a test checks).

mod authenticator;
mod caller;
mod credential;
mod extract;
mod gateway;
mod keys;
mod scrape;
pub mod session;

pub use authenticator::{Authenticator, KEY_CACHE_TTL};
pub use caller::{Caller, Role};
pub use extract::grpc_caller;
pub use gateway::{bearer_header, is_credential_header, GatewayCaller, SECRET_PREFIX};
pub use keys::{create_key, hash_secret, key_prefix, revoke_key, NewKey};
pub use scrape::{ScrapeAccess, ScrapePolicy};
pub use session::Sessions;

//! Authentication and authorization: credentials become a [`Caller`] (project, key, role) in
//! one place, and handlers get it by their signature. Keys are a public/secret pair; only the
//! SHA-256 of the secret is stored. No other module reads credentials (a test checks).

mod authenticator;
mod caller;
mod credential;
mod extract;
mod gateway;
mod keys;

pub use authenticator::Authenticator;
pub use caller::{Caller, Role};
pub use extract::grpc_caller;
pub use gateway::{bearer_header, is_credential_header, GatewayCaller, SECRET_PREFIX};
pub use keys::{create_key, hash_secret, NewKey};

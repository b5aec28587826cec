//! Who may read `GET /metrics`: its labels name every project's tenants, so it is an operator
//! endpoint. Open without credentials only while every listener is on loopback and no key
//! exists; otherwise it needs an admin key or the configured scrape token (`server.metrics_token`,
//! what Prometheus sends in its `authorization` block).

use std::sync::Arc;

use axum::extract::{FromRef, FromRequestParts};
use axum::http::header;
use axum::http::request::Parts;

use super::authenticator::Authenticator;
use super::caller::Role;
use super::keys::{constant_time_eq, hash_secret};
use crate::error::{ApiError, ErrorCode};

/// The scrape rules, set at start-up.
#[derive(Debug, Clone, Default)]
pub struct ScrapePolicy {
    /// SHA-256 of the scrape token, when one is configured.
    token_hash: Option<String>,
    /// Every listener is on loopback: without keys, `/metrics` is open like the API.
    loopback_only: bool,
}

impl ScrapePolicy {
    pub fn new(token: Option<&str>, loopback_only: bool) -> Self {
        ScrapePolicy {
            token_hash: token.map(hash_secret),
            loopback_only,
        }
    }
}

/// Proof that the request may read the Prometheus exposition.
#[derive(Debug)]
pub struct ScrapeAccess;

impl<S> FromRequestParts<S> for ScrapeAccess
where
    Arc<Authenticator>: FromRef<S>,
    Arc<ScrapePolicy>: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let policy = Arc::<ScrapePolicy>::from_ref(state);
        let value = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok());
        if let (Some(want), Some(token)) = (
            &policy.token_hash,
            value.and_then(|v| v.strip_prefix("Bearer ")),
        ) {
            if constant_time_eq(hash_secret(token.trim()).as_bytes(), want.as_bytes()) {
                return Ok(ScrapeAccess);
            }
        }
        if value.is_none() && !policy.loopback_only {
            return Err(ApiError::new(
                ErrorCode::Unauthenticated,
                "GET /metrics needs credentials when the server listens beyond loopback: set \
                 server.metrics_token and give Prometheus `authorization: {credentials: <token>}`, \
                 or send an admin key",
            ));
        }
        let caller = Arc::<Authenticator>::from_ref(state).caller(value).await?;
        caller.require(Role::Admin)?;
        Ok(ScrapeAccess)
    }
}

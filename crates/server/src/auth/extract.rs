//! The only ways a request becomes a [`Caller`]: the axum extractor for every HTTP route (the
//! OTLP, Langfuse and native receivers, the API, the stream) and the hook the gRPC receivers
//! call. Both read the `Authorization` header (gRPC: metadata); without one, HTTP also takes
//! the dashboard's session cookie (`session.rs`).

use std::sync::Arc;

use axum::extract::{FromRef, FromRequestParts};
use axum::http::header;
use axum::http::request::Parts;

use super::authenticator::Authenticator;
use super::caller::Caller;
use super::session::cookie_token;
use crate::error::ApiError;

impl<S> FromRequestParts<S> for Caller
where
    Arc<Authenticator>: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let auth = Arc::<Authenticator>::from_ref(state);
        let value = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok());
        if value.is_none() {
            if let Some(token) = cookie_token(&parts.headers) {
                return auth.session_caller(token).await;
            }
        }
        auth.caller(value).await
    }
}

/// The caller of a gRPC request, from its `authorization` metadata.
pub async fn grpc_caller<T>(
    auth: &Authenticator,
    request: &tonic::Request<T>,
) -> Result<Caller, ApiError> {
    let value = request
        .metadata()
        .get("authorization")
        .and_then(|v| v.to_str().ok());
    auth.caller(value).await
}

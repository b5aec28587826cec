//! Who is looking at a page: the [`Caller`] the request's credential makes (the API key, or
//! the session cookie of a dashboard login), with a [`Reader`] for that caller. Without a valid
//! credential while keys exist, a page answers with a redirect to the key prompt that comes
//! back to it; other failures are an error page.

use std::sync::Arc;

use axum::extract::{FromRef, FromRequestParts};
use axum::http::request::Parts;
use axum::response::Response;

use super::layout;
use super::query::Query;
use super::read::Reader;
use crate::api::ApiState;
use crate::auth::{Authenticator, Caller};
use crate::error::ErrorCode;

/// The page's reader and its query string.
pub struct Viewer {
    pub read: Reader,
    pub query: Query,
}

impl<S> FromRequestParts<S> for Viewer
where
    ApiState: FromRef<S>,
    Arc<Authenticator>: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let here = parts
            .uri
            .path_and_query()
            .map(|p| p.as_str().to_owned())
            .unwrap_or_else(|| "/".into());
        let caller = match Caller::from_request_parts(parts, state).await {
            Ok(caller) => caller,
            Err(e) if e.code == ErrorCode::Unauthenticated => {
                let to = Query::default().and("next", &here).href("/login");
                return Err(layout::redirect(&to));
            }
            Err(e) => return Err(layout::error_page(&e)),
        };
        Ok(Viewer {
            read: Reader::new(ApiState::from_ref(state), caller),
            query: Query::parse(parts.uri.query()),
        })
    }
}

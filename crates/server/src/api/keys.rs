//! `/api/v1/keys`: an admin key lists, makes and revokes the keys of its own project. The
//! authenticator does the work, so a revocation leaves its cache at once.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use serde_json::{Map, Value as Json};

use super::params::{invalid, Params};
use super::shapes::{ApiKey, CreatedKey, Page};
use super::ApiState;
use crate::auth::{Authenticator, Caller, Role};
use crate::error::{ApiError, ErrorCode};

/// Largest body `POST /api/v1/keys` accepts.
const MAX_BODY_BYTES: usize = 4 * 1024;

/// `GET /api/v1/keys`: the project's keys, revoked ones included, oldest first.
pub async fn list_keys(
    State(auth): State<Arc<Authenticator>>,
    caller: Caller,
    RawQuery(query): RawQuery,
) -> Result<axum::Json<Page<ApiKey>>, ApiError> {
    caller.require(Role::Admin)?;
    Params::parse(query.as_deref(), &[])?;
    let keys = auth.list_keys(&caller).await?;
    Ok(axum::Json(Page::new(
        keys.iter().map(ApiKey::from).collect(),
        None,
    )))
}

/// The role a create body asks for: `{}`, an empty body, or `{"role": "member"}`.
fn requested_role(body: &[u8]) -> Result<Role, ApiError> {
    if body.len() > MAX_BODY_BYTES {
        return Err(ApiError::new(
            ErrorCode::PayloadTooLarge,
            format!(
                "the body is larger than {MAX_BODY_BYTES} bytes; send {{\"role\": \"member\"}}"
            ),
        ));
    }
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Role::Admin);
    }
    let map: Map<String, Json> = serde_json::from_slice(body).map_err(|e| {
        invalid(format!(
            "the body must be a JSON object like {{\"role\": \"member\"}}: {e}"
        ))
    })?;
    if let Some(k) = map.keys().find(|k| k.as_str() != "role") {
        return Err(invalid(format!(
            "`{k}`: unknown field; the only field is `role`"
        )));
    }
    match map.get("role") {
        None | Some(Json::Null) => Ok(Role::Admin),
        Some(Json::String(r)) => Role::parse(r).ok_or_else(|| {
            invalid(format!(
                "`role`: {r:?} is not a role; use admin, member or viewer"
            ))
        }),
        Some(other) => Err(invalid(format!("`role`: expected a string, got {other}"))),
    }
}

/// `POST /api/v1/keys`: a new key in the caller's project (role `admin` unless the body names
/// another); 201 with the secret, shown this once.
pub async fn create_key(
    State(state): State<ApiState>,
    State(auth): State<Arc<Authenticator>>,
    caller: Caller,
    body: Bytes,
) -> Result<(StatusCode, axum::Json<CreatedKey>), ApiError> {
    caller.require(Role::Admin)?;
    let role = requested_role(&body)?;
    let key = auth.create_key(&caller, role, state.clock.now_ns()).await?;
    Ok((StatusCode::CREATED, axum::Json(CreatedKey::from(&key))))
}

/// `DELETE /api/v1/keys/{key}`: revokes the project's key that is or starts with `key`.
pub async fn revoke_key(
    State(state): State<ApiState>,
    State(auth): State<Arc<Authenticator>>,
    caller: Caller,
    Path(key): Path<String>,
) -> Result<axum::Json<ApiKey>, ApiError> {
    caller.require(Role::Admin)?;
    let revoked = auth.revoke_key(&caller, &key, state.clock.now_ns()).await?;
    Ok(axum::Json(ApiKey::from(&revoked)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_create_body_names_at_most_a_role() {
        assert_eq!(requested_role(b"").unwrap(), Role::Admin);
        assert_eq!(requested_role(b"{}").unwrap(), Role::Admin);
        assert_eq!(
            requested_role(br#"{"role":"viewer"}"#).unwrap(),
            Role::Viewer
        );
        let bad = [
            (&br#"{"role":"owner"}"#[..], "`role`"),
            (br#"{"role":1}"#, "`role`"),
            (br#"{"project":"other"}"#, "`project`"),
            (b"[", "the body"),
        ];
        for (body, starts) in bad {
            let e = requested_role(body).unwrap_err();
            assert_eq!(e.code, ErrorCode::InvalidArgument);
            assert!(e.message.starts_with(starts), "{}", e.message);
        }
        let big = vec![b' '; MAX_BODY_BYTES + 1];
        assert_eq!(
            requested_role(&big).unwrap_err().code,
            ErrorCode::PayloadTooLarge
        );
    }
}

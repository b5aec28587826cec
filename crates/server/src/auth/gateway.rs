//! The gateway's credentials. An agent that points its SDK's `base_url` at the gateway sends
//! one key where its SDK puts it (`Authorization: Bearer`, or Anthropic's `x-api-key`): a
//! Sightline secret (`sk-sl-...`) makes it a caller of that key's project (the provider key
//! then comes from the project's stored keys), anything else is the provider's own key, passed
//! on. `Sightline-Auth` (or Helicone's `Helicone-Auth`) names the Sightline key beside a
//! provider key. Credential headers are never forwarded upstream.

use axum::http::{header, HeaderMap, HeaderName};

use super::authenticator::Authenticator;
use super::caller::Caller;
use super::credential::{parse_authorization, Credential};
use crate::error::ApiError;

/// The prefix of every Sightline secret key.
pub const SECRET_PREFIX: &str = "sk-sl-";

/// Headers that name the Sightline key explicitly.
const SIGHTLINE_AUTH: [&str; 2] = ["sightline-auth", "helicone-auth"];

/// Who calls the gateway, and the provider key they sent, if any.
#[derive(Debug, Clone)]
pub struct GatewayCaller {
    pub caller: Caller,
    /// The provider's key as the client sent it (never a Sightline key).
    pub provider_key: Option<String>,
}

/// Whether a request header carries a credential (Sightline's or the provider's) and must not
/// be forwarded upstream.
pub fn is_credential_header(name: &HeaderName) -> bool {
    name == header::AUTHORIZATION
        || name == "x-api-key"
        || name == "api-key"
        || SIGHTLINE_AUTH.iter().any(|h| name == h)
}

/// The header that gives `key` to an upstream as a bearer token (the provider's own key; the
/// gateway never forwards the caller's credential headers).
pub fn bearer_header(key: &str) -> (HeaderName, String) {
    (header::AUTHORIZATION, format!("Bearer {key}"))
}

fn value(headers: &HeaderMap, name: impl header::AsHeaderName) -> Option<&str> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty())
}

impl Authenticator {
    /// The caller of a gateway request and the provider key it carries.
    pub async fn gateway_caller(&self, headers: &HeaderMap) -> Result<GatewayCaller, ApiError> {
        let explicit = SIGHTLINE_AUTH.iter().find_map(|h| value(headers, *h));
        let bearer = value(headers, header::AUTHORIZATION);
        let api_key = value(headers, "x-api-key").or_else(|| value(headers, "api-key"));
        // The client's keys, as sent: a bearer token or Anthropic's bare key.
        let mut sightline: Option<Credential> = None;
        let mut provider_key = None;
        if let Some(h) = bearer {
            match parse_authorization(Some(h))? {
                Credential::Bearer(token) if !token.starts_with(SECRET_PREFIX) => {
                    provider_key = Some(token)
                }
                other => sightline = Some(other),
            }
        }
        if let Some(k) = api_key {
            if k.starts_with(SECRET_PREFIX) {
                sightline = sightline.or(Some(Credential::Bearer(k.to_owned())));
            } else {
                provider_key = provider_key.or(Some(k.to_owned()));
            }
        }
        let credential = match explicit {
            Some(h) => parse_authorization(Some(h))?,
            None => sightline.unwrap_or(Credential::None),
        };
        let caller = self.authenticate(&credential).await?;
        // A gateway call is recorded as telemetry: a viewer key may not make one.
        caller.write_project()?;
        Ok(GatewayCaller {
            caller,
            provider_key,
        })
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use axum::http::HeaderValue;
    use sightline_store::sqlite::{SqliteConfig, SqliteStore};

    use super::*;
    use crate::auth::create_key;
    use crate::error::ErrorCode;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(
                HeaderName::from_bytes(k.as_bytes()).unwrap(),
                HeaderValue::from_str(v).unwrap(),
            );
        }
        h
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sightline_keys_and_provider_keys_are_told_apart() {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(
            SqliteStore::open(&SqliteConfig {
                data_dir: dir.path().into(),
                max_queued: 10,
                limits: Default::default(),
            })
            .unwrap(),
        );
        // Before any key exists, loopback callers are anonymous in `default`.
        let auth = Authenticator::new(store.clone(), true);
        let anon = auth
            .gateway_caller(&headers(&[("authorization", "Bearer sk-proj-abc")]))
            .await
            .unwrap();
        assert_eq!(anon.provider_key.as_deref(), Some("sk-proj-abc"));
        assert_eq!(anon.caller.key_id(), None);

        let key = create_key(store.as_ref(), "alpha", crate::auth::Role::Admin, 1)
            .await
            .unwrap();
        assert!(key.secret_key.starts_with(SECRET_PREFIX));
        let sk = key.secret_key.as_str();
        type Case<'a> = (Vec<(&'a str, String)>, Option<&'a str>);
        let cases: Vec<Case> = vec![
            // The Sightline key as the SDK's api key: virtual-key mode, no provider key.
            (vec![("authorization", format!("Bearer {sk}"))], None),
            (vec![("x-api-key", sk.to_owned())], None),
            // Beside the provider's own key.
            (
                vec![
                    ("authorization", "Bearer sk-proj-1".into()),
                    ("sightline-auth", format!("Bearer {sk}")),
                ],
                Some("sk-proj-1"),
            ),
            (
                vec![
                    ("x-api-key", "sk-ant-1".into()),
                    ("helicone-auth", format!("Bearer {sk}")),
                ],
                Some("sk-ant-1"),
            ),
        ];
        for (pairs, provider) in cases {
            let h: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let got = auth.gateway_caller(&headers(&h)).await.unwrap();
            assert_eq!(
                got.caller.key_id(),
                Some(key.public_key.as_str()),
                "{pairs:?}"
            );
            assert_eq!(got.provider_key.as_deref(), provider, "{pairs:?}");
        }
        // Once keys exist, a provider key alone does not say whose project it is.
        let e = auth
            .gateway_caller(&headers(&[("authorization", "Bearer sk-proj-abc")]))
            .await
            .unwrap_err();
        assert_eq!(e.code, ErrorCode::Unauthenticated);
        let e = auth
            .gateway_caller(&headers(&[("x-api-key", "sk-sl-wrong")]))
            .await
            .unwrap_err();
        assert_eq!(e.code, ErrorCode::Unauthenticated);
        for name in [
            "authorization",
            "x-api-key",
            "sightline-auth",
            "helicone-auth",
        ] {
            assert!(
                is_credential_header(&HeaderName::from_static(name)),
                "{name}"
            );
        }
        assert!(!is_credential_header(&HeaderName::from_static(
            "anthropic-version"
        )));
    }
}

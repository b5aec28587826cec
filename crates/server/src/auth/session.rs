//! Dashboard sessions: a key typed once into the login form becomes a random token in an
//! `HttpOnly`, `SameSite=Strict`, expiring cookie. The store keeps only the token's SHA-256 with
//! the key's public half and the expiry ([`LoginStore`]), so every node sharing the store
//! accepts the cookie and a logout ends it everywhere; the project comes from that key at each
//! use. The [`Caller`] extractor takes the cookie when no `Authorization` header is sent, so the
//! browser's own calls to `/api/v1/...` authenticate like its pages.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Form;
use rand::Rng;
use serde::Deserialize;
use sightline_core::time::Clock;
use sightline_store::{LoginStore, StoredKey, StoredLogin};

use super::authenticator::{key_caller, Authenticator};
use super::caller::Caller;
use super::credential::Credential;
use super::keys::hash_secret;
use crate::error::{ApiError, ErrorCode};

/// The cookie's name.
pub const COOKIE: &str = "sightline_session";
/// How long a node trusts what it read about a login before asking the store again: a logout
/// on another node takes effect here within this time (on this node, at once).
const RECHECK_NS: i64 = 10_000_000_000;
const NS_PER_SEC: i64 = 1_000_000_000;

/// The logins of this node: the store behind them, the clock, their lifetime and a short cache.
pub struct Sessions {
    store: Arc<dyn LoginStore>,
    clock: Arc<dyn Clock>,
    lifetime_ns: i64,
    /// Token hash -> (the key, the login's expiry, when it was read from the store).
    cache: Mutex<HashMap<String, (StoredKey, i64, i64)>>,
}

impl Sessions {
    pub fn new(store: Arc<dyn LoginStore>, clock: Arc<dyn Clock>, lifetime_secs: u64) -> Self {
        let lifetime_ns = i64::try_from(lifetime_secs)
            .unwrap_or(i64::MAX)
            .saturating_mul(NS_PER_SEC);
        Sessions {
            store,
            clock,
            lifetime_ns,
            cache: Mutex::new(HashMap::new()),
        }
    }

    fn forget(&self, hash: &str) {
        if let Ok(mut cache) = self.cache.lock() {
            cache.remove(hash);
        }
    }
}

impl Authenticator {
    /// The caller holding the session cookie `token`. A login that is unknown, ended or expired
    /// counts as no credential at all (so a stale cookie still opens an unprotected server).
    pub(super) async fn session_caller(&self, token: &str) -> Result<Caller, ApiError> {
        match self.session_key(token).await? {
            Some(key) => key_caller(key),
            None => self.authenticate(&Credential::None).await.map_err(|_| {
                ApiError::new(
                    ErrorCode::Unauthenticated,
                    "the dashboard session has expired or was ended: log in again at /login",
                )
            }),
        }
    }

    async fn session_key(&self, token: &str) -> Result<Option<StoredKey>, ApiError> {
        let Some(sessions) = self.sessions() else {
            return Ok(None);
        };
        let hash = hash_secret(token);
        let now = sessions.clock.now_ns();
        let cached = sessions
            .cache
            .lock()
            .ok()
            .and_then(|c| c.get(&hash).cloned());
        if let Some((key, expires, read_at)) = cached {
            if now < expires && now - read_at < RECHECK_NS {
                return Ok(Some(key));
            }
        }
        let found = match sessions.store.login(&hash, now).await? {
            Some(login) => self
                .key_by_public(&login.public_key)
                .await?
                .map(|k| (k, login.expires_ns)),
            None => None,
        };
        let Ok(mut cache) = sessions.cache.lock() else {
            return Ok(found.map(|(k, _)| k));
        };
        match found {
            Some((key, expires)) => {
                if cache.len() > 10_000 {
                    cache.clear();
                }
                cache.insert(hash, (key.clone(), expires, now));
                Ok(Some(key))
            }
            None => {
                cache.remove(&hash);
                Ok(None)
            }
        }
    }
}

/// The session token in the request's cookies, if any.
pub(super) fn cookie_token(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, value)| *name == COOKIE && !value.is_empty())
        .map(|(_, value)| value)
}

/// The login form: the key (a secret key, or `public:secret`) and the page to go back to.
#[derive(Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    key: String,
    #[serde(default)]
    next: Option<String>,
}

/// `POST /login`: checks the key, stores a login and sets the cookie, then goes back to `next`.
/// A key that is not accepted goes back to the form with `failed=1`.
pub async fn login(
    State(auth): State<Arc<Authenticator>>,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Response {
    let next = local_path(form.next.as_deref());
    let key = form.key.trim();
    let credential = match key.split_once(':') {
        Some((public, secret)) => Credential::Basic {
            public: public.trim().to_owned(),
            secret: secret.trim().to_owned(),
        },
        None if key.is_empty() => Credential::None,
        None => Credential::Bearer(key.to_owned()),
    };
    let failed = || {
        let query = serde_urlencoded::to_string([("failed", "1"), ("next", next)]);
        redirect(&format!("/login?{}", query.unwrap_or_default()), None)
    };
    let caller = match auth.authenticate(&credential).await {
        Ok(caller) => caller,
        Err(e) if e.code == ErrorCode::Unauthenticated => return failed(),
        Err(e) => return e.into_response(),
    };
    // Without keys (open loopback server) there is nothing to remember.
    let (Some(public_key), Some(sessions)) = (caller.key_id(), auth.sessions()) else {
        return redirect(next, None);
    };
    let token = new_token();
    let now = sessions.clock.now_ns();
    let login = StoredLogin {
        public_key: public_key.to_owned(),
        created_ns: now,
        expires_ns: now.saturating_add(sessions.lifetime_ns),
    };
    if let Err(e) = sessions
        .store
        .create_login(&hash_secret(&token), &login)
        .await
    {
        return ApiError::from(e).into_response();
    }
    let cookie = format!(
        "{COOKIE}={token}; Path=/; Max-Age={}; HttpOnly; SameSite=Strict{}",
        sessions.lifetime_ns / NS_PER_SEC,
        secure(&headers)
    );
    redirect(next, Some(cookie))
}

/// `POST /logout`: ends the login in the store (for every node), clears the cookie and goes to
/// the login form.
pub async fn logout(State(auth): State<Arc<Authenticator>>, headers: HeaderMap) -> Response {
    if let (Some(token), Some(sessions)) = (cookie_token(&headers), auth.sessions()) {
        let hash = hash_secret(token);
        sessions.forget(&hash);
        let now = sessions.clock.now_ns();
        if let Err(e) = sessions.store.delete_login(&hash, now).await {
            return ApiError::from(e).into_response();
        }
    }
    let cookie = format!(
        "{COOKIE}=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict{}",
        secure(&headers)
    );
    redirect("/login?logged_out=1", Some(cookie))
}

/// `; Secure` behind a TLS-terminating proxy that says so.
fn secure(headers: &HeaderMap) -> &'static str {
    let https = headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("https"));
    if https {
        "; Secure"
    } else {
        ""
    }
}

/// A 303 to `location`, setting `cookie` when given.
fn redirect(location: &str, cookie: Option<String>) -> Response {
    let mut response = StatusCode::SEE_OTHER.into_response();
    let headers = response.headers_mut();
    if let Ok(v) = HeaderValue::from_str(location) {
        headers.insert(header::LOCATION, v);
    }
    if let Some(v) = cookie.and_then(|c| HeaderValue::from_str(&c).ok()) {
        headers.insert(header::SET_COOKIE, v);
    }
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// `next` when it is a path on this server (never another origin), else `/`.
pub fn local_path(next: Option<&str>) -> &str {
    match next {
        Some(p)
            if p.starts_with('/')
                && !p.starts_with("//")
                && !p.contains('\\')
                && !p.chars().any(char::is_control) =>
        {
            p
        }
        _ => "/",
    }
}

/// 32 random bytes as hex: the cookie's value, shown to nobody and stored only as its hash.
fn new_token() -> String {
    let bytes: [u8; 32] = rand::rng().random();
    hex::encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_token_is_read_from_any_cookie_header() {
        let mut h = HeaderMap::new();
        assert_eq!(cookie_token(&h), None);
        h.append(header::COOKIE, HeaderValue::from_static("a=1; b=2"));
        h.append(
            header::COOKIE,
            HeaderValue::from_static("theme=dark; sightline_session=abc"),
        );
        assert_eq!(cookie_token(&h), Some("abc"));
        let mut empty = HeaderMap::new();
        empty.append(
            header::COOKIE,
            HeaderValue::from_static("sightline_session="),
        );
        assert_eq!(cookie_token(&empty), None);
    }

    #[test]
    fn next_stays_on_this_server() {
        assert_eq!(
            local_path(Some("/traces?status=error")),
            "/traces?status=error"
        );
        for bad in [
            "//evil.example/",
            "https://evil.example/",
            "/\\evil",
            "x",
            "",
        ] {
            assert_eq!(local_path(Some(bad)), "/", "{bad}");
        }
        assert_eq!(local_path(None), "/");
        assert_eq!(new_token().len(), 64);
        assert_ne!(new_token(), new_token());
    }
}

//! Credentials as sent: the `Authorization` header's Bearer secret or Basic `public:secret`
//! (what the Langfuse SDK sends), parsed with errors that say what to send instead.

use base64::Engine;

use crate::error::{ApiError, ErrorCode};

/// What the caller presented.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credential {
    None,
    /// `Authorization: Bearer <secret>`.
    Bearer(String),
    /// `Authorization: Basic base64(public:secret)`, what the Langfuse SDK sends.
    Basic {
        public: String,
        secret: String,
    },
}

/// Parses an `Authorization` header value.
pub fn parse_authorization(header: Option<&str>) -> Result<Credential, ApiError> {
    let Some(h) = header.map(str::trim).filter(|h| !h.is_empty()) else {
        return Ok(Credential::None);
    };
    let bad = |why: &str| {
        ApiError::new(
            ErrorCode::Unauthenticated,
            format!("Authorization header: {why}; send `Bearer <secret key>` or `Basic base64(<public key>:<secret key>)`"),
        )
    };
    let (scheme, rest) = h.split_once(' ').ok_or_else(|| bad("missing scheme"))?;
    let rest = rest.trim();
    if scheme.eq_ignore_ascii_case("bearer") {
        if rest.is_empty() {
            return Err(bad("empty bearer token"));
        }
        return Ok(Credential::Bearer(rest.to_owned()));
    }
    if scheme.eq_ignore_ascii_case("basic") {
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(rest)
            .map_err(|_| bad("Basic credentials are not valid base64"))?;
        let text =
            String::from_utf8(decoded).map_err(|_| bad("Basic credentials are not UTF-8"))?;
        let (public, secret) = text
            .split_once(':')
            .ok_or_else(|| bad("Basic credentials need public:secret"))?;
        return Ok(Credential::Basic {
            public: public.to_owned(),
            secret: secret.to_owned(),
        });
    }
    Err(bad(&format!("unsupported scheme {scheme:?}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_bearer_and_basic() {
        assert_eq!(parse_authorization(None).unwrap(), Credential::None);
        assert_eq!(
            parse_authorization(Some("Bearer sk-1")).unwrap(),
            Credential::Bearer("sk-1".into())
        );
        let basic = base64::engine::general_purpose::STANDARD.encode("pk-1:sk-1");
        assert_eq!(
            parse_authorization(Some(&format!("Basic {basic}"))).unwrap(),
            Credential::Basic {
                public: "pk-1".into(),
                secret: "sk-1".into()
            }
        );
        let err = parse_authorization(Some("Token abc")).unwrap_err();
        assert_eq!(err.code, ErrorCode::Unauthenticated);
        assert!(err.message.contains("Bearer"));
        assert!(parse_authorization(Some("Basic !!!")).is_err());
    }
}

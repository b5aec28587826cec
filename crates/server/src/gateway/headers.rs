//! What a gateway request says in its headers: who the call is for (user, session with path
//! and name, tenant, agent, free properties), W3C `traceparent`, and the per-request features
//! (cache, rate-limit policy, retries, fallbacks, omitting bodies). Each `Sightline-<Name>`
//! header is also read as Helicone's `Helicone-<Name>`, so agents already sending those switch
//! with no change.

use axum::http::HeaderMap;
use sightline_core::{SpanId, TraceId};

/// Most properties one request may set, and the longest value kept.
const MAX_PROPERTIES: usize = 50;
const MAX_VALUE_LEN: usize = 1000;
/// The most responses one cache key keeps, and the most retries a request may ask for.
pub const MAX_BUCKET: u32 = 20;
pub const MAX_RETRIES: u32 = 10;

/// The headers of one gateway request, parsed.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CallHeaders {
    pub user: Option<String>,
    pub session: Option<String>,
    /// `/parent/child` within the session.
    pub session_path: Option<String>,
    pub session_name: Option<String>,
    pub tenant: Option<String>,
    pub agent: Option<String>,
    /// `service.name` of the recorded span's resource.
    pub service: Option<String>,
    /// (name lowercased, value), in header order.
    pub properties: Vec<(String, String)>,
    /// The client's id for this call.
    pub request_id: Option<String>,
    /// The caller's span: the call is recorded as its child.
    pub parent: Option<(TraceId, SpanId)>,
    /// `Some(true)`/`Some(false)` when the request turns the cache on or off.
    pub cache: Option<bool>,
    pub cache_seed: Option<String>,
    pub cache_bucket: u32,
    /// `Cache-Control: max-age`.
    pub cache_max_age: Option<u64>,
    pub rate_limit_policy: Option<String>,
    pub retries: Option<u32>,
    /// `upstream/model` or `model` targets to try after the request's own.
    pub fallbacks: Vec<String>,
    pub omit_request: bool,
    pub omit_response: bool,
}

/// Our headers of a request by name without the prefix, one pass over the headers: each
/// `Sightline-<name>` (which wins) or `Helicone-<name>`, and the properties in header order.
struct Ours<'a> {
    named: Vec<(&'a str, &'a str, bool)>,
    properties: Vec<(&'a str, &'a str)>,
}

impl<'a> Ours<'a> {
    fn read(h: &'a HeaderMap) -> Ours<'a> {
        let mut ours = Ours {
            named: Vec::new(),
            properties: Vec::new(),
        };
        for (name, value) in h {
            let n = name.as_str();
            let (rest, sightline) = match n.strip_prefix("sightline-") {
                Some(rest) => (rest, true),
                None => match n.strip_prefix("helicone-") {
                    Some(rest) => (rest, false),
                    None => continue,
                },
            };
            let Ok(v) = value.to_str() else { continue };
            match rest.strip_prefix("property-") {
                Some(prop) => ours.properties.push((prop, v.trim())),
                None => ours.named.push((rest, v.trim(), sightline)),
            }
        }
        ours
    }

    /// The value of `name`: Sightline's header first, else Helicone's.
    fn get(&self, name: &str) -> Option<&'a str> {
        let mut found = None;
        for (n, v, sightline) in &self.named {
            if *n == name && !v.is_empty() {
                if *sightline {
                    return Some(v);
                }
                found = found.or(Some(*v));
            }
        }
        found
    }
}

fn owned(v: Option<&str>) -> Option<String> {
    v.map(|s| s.chars().take(MAX_VALUE_LEN).collect())
}

fn flag(h: &Ours<'_>, name: &str) -> Result<Option<bool>, String> {
    match h.get(name).map(str::to_ascii_lowercase).as_deref() {
        None => Ok(None),
        Some("true" | "1" | "yes") => Ok(Some(true)),
        Some("false" | "0" | "no") => Ok(Some(false)),
        Some(other) => Err(format!(
            "header Sightline-{name}: {other:?} is not true or false"
        )),
    }
}

fn number(h: &Ours<'_>, name: &str, max: u32) -> Result<Option<u32>, String> {
    match h.get(name) {
        None => Ok(None),
        Some(v) => v
            .parse::<u32>()
            .ok()
            .filter(|n| *n <= max)
            .map(Some)
            .ok_or_else(|| {
                format!("header Sightline-{name}: {v:?} is not a whole number from 0 to {max}")
            }),
    }
}

/// A W3C `traceparent` (`00-<trace id>-<span id>-<flags>`), when valid.
pub fn traceparent(value: &str) -> Option<(TraceId, SpanId)> {
    let mut parts = value.trim().split('-');
    let version = parts.next()?;
    let (trace, span) = (parts.next()?, parts.next()?);
    let flags = parts.next()?;
    if version.len() != 2 || version == "ff" || flags.len() != 2 {
        return None;
    }
    Some((TraceId::from_hex(trace).ok()?, SpanId::from_hex(span).ok()?))
}

/// `max-age=N` of a `Cache-Control` value.
fn max_age(value: &str) -> Option<u64> {
    value.split(',').find_map(|d| {
        let (k, v) = d.trim().split_once('=')?;
        k.trim()
            .eq_ignore_ascii_case("max-age")
            .then(|| v.trim().trim_matches('"').parse().ok())
            .flatten()
    })
}

impl CallHeaders {
    /// Reads the headers; an unreadable feature header is an error naming it.
    pub fn parse(headers: &HeaderMap) -> Result<CallHeaders, String> {
        let h = Ours::read(headers);
        let mut properties: Vec<(String, String)> = Vec::new();
        for (prop, v) in &h.properties {
            if prop.is_empty() || properties.iter().any(|(p, _)| p == prop) {
                continue;
            }
            if properties.len() == MAX_PROPERTIES {
                return Err(format!(
                    "at most {MAX_PROPERTIES} Sightline-Property-* headers are recorded per call"
                ));
            }
            properties.push(((*prop).to_owned(), v.chars().take(MAX_VALUE_LEN).collect()));
        }
        let fallbacks = h
            .get("fallbacks")
            .map(|v| {
                v.split(',')
                    .map(str::trim)
                    .filter(|t| !t.is_empty())
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default();
        Ok(CallHeaders {
            user: owned(h.get("user-id")),
            session: owned(h.get("session-id")),
            session_path: owned(h.get("session-path")),
            session_name: owned(h.get("session-name")),
            tenant: owned(h.get("tenant-id")),
            agent: owned(h.get("agent-name")),
            service: owned(h.get("service-name")),
            properties,
            request_id: owned(h.get("request-id")),
            parent: headers
                .get("traceparent")
                .and_then(|v| v.to_str().ok())
                .and_then(traceparent),
            cache: flag(&h, "cache-enabled")?,
            cache_seed: owned(h.get("cache-seed")),
            cache_bucket: number(&h, "cache-bucket-max-size", MAX_BUCKET)?
                .unwrap_or(1)
                .max(1),
            cache_max_age: headers
                .get("cache-control")
                .and_then(|v| v.to_str().ok())
                .and_then(max_age),
            rate_limit_policy: owned(h.get("ratelimit-policy")),
            retries: number(&h, "retries", MAX_RETRIES)?,
            fallbacks,
            omit_request: flag(&h, "omit-request")?.unwrap_or(false),
            omit_response: flag(&h, "omit-response")?.unwrap_or(false),
        })
    }

    /// Whether a header is one of ours (or Helicone's) and stays out of the upstream request.
    pub fn is_ours(name: &str) -> bool {
        name.starts_with("sightline-") || name.starts_with("helicone-")
    }
}

#[cfg(test)]
mod tests {
    use axum::http::{HeaderName, HeaderValue};

    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(
                HeaderName::from_bytes(k.as_bytes()).unwrap(),
                HeaderValue::from_str(v).unwrap(),
            );
        }
        h
    }

    #[test]
    fn sightline_and_helicone_names_are_read_alike() {
        let h = headers(&[
            ("Sightline-User-Id", "u1"),
            ("Helicone-Session-Id", "s1"),
            ("Helicone-Session-Path", "/plan/step-1"),
            ("Sightline-Tenant-Id", "acme"),
            ("Sightline-Property-Team", "search"),
            ("Helicone-Property-Env", "prod"),
            ("Helicone-Cache-Enabled", "true"),
            ("Sightline-Cache-Bucket-Max-Size", "3"),
            ("Cache-Control", "no-store, max-age=120"),
            ("Helicone-RateLimit-Policy", "10;w=60;s=user"),
            ("Sightline-Fallbacks", "backup/gpt-4o-mini, gpt-4o-mini"),
            (
                "traceparent",
                "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            ),
        ]);
        let c = CallHeaders::parse(&h).unwrap();
        assert_eq!(c.user.as_deref(), Some("u1"));
        let both = headers(&[("Helicone-User-Id", "h"), ("Sightline-User-Id", "s")]);
        assert_eq!(
            CallHeaders::parse(&both).unwrap().user.as_deref(),
            Some("s"),
            "ours wins"
        );
        assert_eq!(c.session.as_deref(), Some("s1"));
        assert_eq!(c.session_path.as_deref(), Some("/plan/step-1"));
        assert_eq!(c.tenant.as_deref(), Some("acme"));
        assert_eq!(
            c.properties,
            vec![
                ("team".into(), "search".into()),
                ("env".into(), "prod".into())
            ]
        );
        assert_eq!(
            (c.cache, c.cache_bucket, c.cache_max_age),
            (Some(true), 3, Some(120))
        );
        assert_eq!(c.rate_limit_policy.as_deref(), Some("10;w=60;s=user"));
        assert_eq!(c.fallbacks, vec!["backup/gpt-4o-mini", "gpt-4o-mini"]);
        let (trace, span) = c.parent.unwrap();
        assert_eq!(trace.to_hex(), "4bf92f3577b34da6a3ce929d0e0e4736");
        assert_eq!(span.to_hex(), "00f067aa0ba902b7");
        assert!(CallHeaders::is_ours("helicone-auth") && !CallHeaders::is_ours("openai-beta"));
    }

    #[test]
    fn bad_feature_headers_are_named() {
        for (h, says) in [
            (("Sightline-Cache-Enabled", "maybe"), "cache-enabled"),
            (
                ("Sightline-Cache-Bucket-Max-Size", "99"),
                "cache-bucket-max-size",
            ),
            (("Sightline-Retries", "-1"), "retries"),
        ] {
            let e = CallHeaders::parse(&headers(&[h])).unwrap_err();
            assert!(e.contains(says), "{e}");
        }
        for bad in [
            "00-zz-00f067aa0ba902b7-01",
            "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "junk",
        ] {
            assert_eq!(traceparent(bad), None, "{bad}");
        }
        assert_eq!(
            CallHeaders::parse(&HeaderMap::new()).unwrap().cache_bucket,
            1
        );
    }
}

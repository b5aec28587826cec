//! Query-string parsing for the read API: each route names the parameters it accepts (anything
//! else is refused, so a typo never widens a query), and the typed getters turn text into the
//! store's query types. Every error starts with the parameter's name and says how to fix it.

use sightline_core::{ObservationKind, TraceId};
use sightline_store::{LogFilter, ObservationFilter, StatusFilter};

use crate::error::{ApiError, ErrorCode};

/// The time window: `from`, `to`, `since`.
pub const TIME: &[&str] = &["from", "to", "since"];
/// The observation filters shared by the trace list, observation list, metrics and stream.
pub const OBSERVATION_FILTERS: &[&str] = &[
    "trace_id",
    "kind",
    "name",
    "service",
    "agent",
    "model",
    "provider",
    "user_id",
    "session_id",
    "tenant_id",
    "status",
    "min_duration",
    "attribute",
    "tag",
    "q",
];
/// The log filters (besides the time window).
pub const LOG_FILTERS: &[&str] = &["level", "service", "agent", "q", "trace_id", "session_id"];
/// Keyset pagination.
pub const PAGE: &[&str] = &["limit", "cursor"];

/// Parameters that may be given more than once.
const REPEATABLE: &[&str] = &["attribute", "tag"];

pub const DEFAULT_LIMIT: usize = 50;
pub const MAX_LIMIT: usize = 1000;

const NS_PER_MS: i64 = 1_000_000;
const NS_PER_SEC: i64 = 1_000_000_000;

pub fn invalid(message: impl Into<String>) -> ApiError {
    ApiError::new(ErrorCode::InvalidArgument, message)
}

/// A route's query string, checked against the names it accepts.
#[derive(Debug, Default)]
pub struct Params {
    pairs: Vec<(String, String)>,
}

impl Params {
    /// Decodes `query` (the raw query string) and refuses names outside `allowed` (a list of
    /// name groups, e.g. `&[TIME, PAGE]`) and repeats of parameters that are not repeatable.
    pub fn parse(query: Option<&str>, allowed: &[&[&str]]) -> Result<Params, ApiError> {
        let pairs = decode_query(query.unwrap_or(""))?;
        let accepts = |name: &str| allowed.iter().any(|group| group.contains(&name));
        for (i, (name, _)) in pairs.iter().enumerate() {
            if !accepts(name) {
                let mut names: Vec<&str> = allowed.iter().flat_map(|g| g.iter().copied()).collect();
                names.sort_unstable();
                names.dedup();
                let accepted = if names.is_empty() {
                    "this route takes no parameters".to_owned()
                } else {
                    format!("this route accepts: {}", names.join(", "))
                };
                let hint = if name.starts_with("project") {
                    " (the project comes from the API key)"
                } else {
                    ""
                };
                return Err(invalid(format!(
                    "{name}: unknown parameter{hint}; {accepted}"
                )));
            }
            let repeated = pairs[..i].iter().any(|(n, _)| n == name);
            if repeated && !REPEATABLE.contains(&name.as_str()) {
                return Err(invalid(format!(
                    "{name}: given more than once; give it once"
                )));
            }
        }
        Ok(Params { pairs })
    }

    /// The value of a once-only parameter; an empty value is refused.
    pub fn get(&self, name: &str) -> Result<Option<&str>, ApiError> {
        match self.pairs.iter().find(|(n, _)| n == name) {
            None => Ok(None),
            Some((_, v)) if v.is_empty() => Err(invalid(format!(
                "{name}: is empty; give a value or leave the parameter out"
            ))),
            Some((_, v)) => Ok(Some(v.as_str())),
        }
    }

    /// Every value of a repeatable parameter.
    pub fn all(&self, name: &str) -> Result<Vec<&str>, ApiError> {
        self.pairs
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, v)| {
                if v.is_empty() {
                    Err(invalid(format!(
                        "{name}: is empty; give a value or leave the parameter out"
                    )))
                } else {
                    Ok(v.as_str())
                }
            })
            .collect()
    }

    fn string(&self, name: &str) -> Result<Option<String>, ApiError> {
        Ok(self.get(name)?.map(str::to_owned))
    }

    /// `limit`: 1 to 1000, default 50.
    pub fn limit(&self) -> Result<usize, ApiError> {
        let Some(v) = self.get("limit")? else {
            return Ok(DEFAULT_LIMIT);
        };
        match v.parse::<usize>() {
            Ok(n) if (1..=MAX_LIMIT).contains(&n) => Ok(n),
            _ => Err(invalid(format!(
                "limit: must be an integer from 1 to {MAX_LIMIT}, got {v:?}"
            ))),
        }
    }

    /// `order`: `desc` (the default) or `asc`; true when descending.
    pub fn descending(&self) -> Result<bool, ApiError> {
        match self.get("order")? {
            None | Some("desc") => Ok(true),
            Some("asc") => Ok(false),
            Some(v) => Err(invalid(format!("order: must be desc or asc, got {v:?}"))),
        }
    }

    /// A `true`/`false` parameter.
    pub fn flag(&self, name: &str, default: bool) -> Result<bool, ApiError> {
        match self.get(name)? {
            None => Ok(default),
            Some("true") => Ok(true),
            Some("false") => Ok(false),
            Some(v) => Err(invalid(format!("{name}: must be true or false, got {v:?}"))),
        }
    }

    /// `from`, `to` and `since` as `[from, to)` in UTC ns; `now` resolves `since`.
    pub fn window(&self, now_ns: i64) -> Result<(Option<i64>, Option<i64>), ApiError> {
        let from = self
            .get("from")?
            .map(|v| parse_time("from", v))
            .transpose()?;
        let to = self.get("to")?.map(|v| parse_time("to", v)).transpose()?;
        let since = self.get("since")?;
        let from = match (from, since) {
            (Some(_), Some(_)) => {
                return Err(invalid(
                    "since: cannot be combined with from; give one of them",
                ))
            }
            (None, Some(v)) => {
                let d = parse_duration(v).filter(|d| *d > 0).ok_or_else(|| {
                    invalid(format!(
                        "since: must be a duration such as 30s, 15m, 2h or 7d, got {v:?}"
                    ))
                })?;
                Some(now_ns.saturating_sub(d))
            }
            (from, None) => from,
        };
        if let (Some(f), Some(t)) = (from, to) {
            if t <= f {
                return Err(invalid(format!(
                    "to: must be after from ({} is not after {}); widen the window",
                    sightline_core::time::format_rfc3339(t),
                    sightline_core::time::format_rfc3339(f)
                )));
            }
        }
        Ok((from, to))
    }

    /// A 32-hex-digit trace id parameter.
    pub fn trace_id(&self, name: &str) -> Result<Option<TraceId>, ApiError> {
        self.get(name)?.map(|v| trace_id(name, v)).transpose()
    }

    /// The observation filters and the time window.
    pub fn observation_filter(&self, now_ns: i64) -> Result<ObservationFilter, ApiError> {
        let (from_ns, to_ns) = self.window(now_ns)?;
        let kind = match self.get("kind")? {
            None => None,
            Some(v) => Some(ObservationKind::parse(v).ok_or_else(|| {
                let kinds: Vec<&str> = ObservationKind::ALL.iter().map(|k| k.as_str()).collect();
                invalid(format!(
                    "kind: must be one of {}, got {v:?}",
                    kinds.join(", ")
                ))
            })?),
        };
        let status = match self.get("status")? {
            None => StatusFilter::Any,
            Some("error") => StatusFilter::Error,
            Some("ok") => StatusFilter::Ok,
            Some(v) => return Err(invalid(format!("status: must be error or ok, got {v:?}"))),
        };
        let min_duration_ns = match self.get("min_duration")? {
            None => None,
            Some(v) => Some(duration_or_integer(v, NS_PER_MS).ok_or_else(|| {
                invalid(format!(
                    "min_duration: must be a duration such as 250ms, 2s or 1m, or integer milliseconds, got {v:?}"
                ))
            })?),
        };
        let attributes = self
            .all("attribute")?
            .into_iter()
            .map(|v| match v.split_once('=') {
                Some((k, val)) if !k.is_empty() => Ok((k.to_owned(), val.to_owned())),
                _ => Err(invalid(format!(
                    "attribute: must be key=value (e.g. attribute=http.status_code=500), got {v:?}"
                ))),
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(ObservationFilter {
            from_ns,
            to_ns,
            trace_id: self.trace_id("trace_id")?,
            kind,
            name: self.string("name")?,
            service: self.string("service")?,
            agent: self.string("agent")?,
            model: self.string("model")?,
            provider: self.string("provider")?,
            user_id: self.string("user_id")?,
            session_id: self.string("session_id")?,
            tenant_id: self.string("tenant_id")?,
            status,
            min_duration_ns,
            attributes,
            tags: self.all("tag")?.into_iter().map(str::to_owned).collect(),
            text: self.string("q")?,
        })
    }

    /// The log filters and the time window.
    pub fn log_filter(&self, now_ns: i64) -> Result<LogFilter, ApiError> {
        let (from_ns, to_ns) = self.window(now_ns)?;
        Ok(LogFilter {
            from_ns,
            to_ns,
            min_severity: self.get("level")?.map(parse_level).transpose()?,
            service: self.string("service")?,
            agent: self.string("agent")?,
            trace_id: self.trace_id("trace_id")?,
            session_id: self.string("session_id")?,
            text: self.string("q")?,
        })
    }
}

/// Decodes `a=1&b=x%20y` into pairs, in order (`+` is a space).
fn decode_query(query: &str) -> Result<Vec<(String, String)>, ApiError> {
    let mut pairs = Vec::new();
    for part in query.split('&').filter(|p| !p.is_empty()) {
        let (name, value) = part.split_once('=').unwrap_or((part, ""));
        let name = percent_decode(name).ok_or_else(|| {
            invalid(format!(
                "{name}: the parameter name is not valid percent-encoded UTF-8; encode the query string"
            ))
        })?;
        let value = percent_decode(value).ok_or_else(|| {
            invalid(format!(
                "{name}: the value is not valid percent-encoded UTF-8; encode the query string"
            ))
        })?;
        pairs.push((name, value));
    }
    Ok(pairs)
}

fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = bytes.get(i + 1..i + 3)?;
                if !hex.iter().all(u8::is_ascii_hexdigit) {
                    return None;
                }
                out.push(u8::from_str_radix(std::str::from_utf8(hex).ok()?, 16).ok()?);
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).ok()
}

/// An instant: RFC 3339 text or integer UTC nanoseconds.
pub fn parse_time(name: &str, v: &str) -> Result<i64, ApiError> {
    if v.bytes().all(|b| b.is_ascii_digit()) {
        return v.parse::<i64>().map_err(|_| {
            invalid(format!(
                "{name}: {v:?} is too large for UTC nanoseconds; give RFC 3339 (2026-11-21T10:00:00Z) or integer nanoseconds"
            ))
        });
    }
    // An unencoded `+01:00` offset arrives as a space: read it as the `+` it was.
    let unplussed = match v.rsplit_once(' ') {
        Some((head, tail)) if head.contains('T') => Some(format!("{head}+{tail}")),
        _ => None,
    };
    let parsed = sightline_core::time::parse_rfc3339(v).or_else(|e| match &unplussed {
        Some(fixed) => sightline_core::time::parse_rfc3339(fixed).map_err(|_| e),
        None => Err(e),
    });
    parsed.map_err(|e| {
        invalid(format!(
            "{name}: {v:?} is not a time ({e}); give RFC 3339 (2026-11-21T10:00:00Z) or integer UTC nanoseconds"
        ))
    })
}

/// `250ms`, `2s`, `15m`, `2h`, `7d` (also `ns`, `us`) in nanoseconds; `None` when not one.
pub fn parse_duration(v: &str) -> Option<i64> {
    let split = v.find(|c: char| !c.is_ascii_digit())?;
    let (digits, unit) = v.split_at(split);
    let n: i64 = digits.parse().ok()?;
    let scale = match unit {
        "ns" => 1,
        "us" => 1_000,
        "ms" => NS_PER_MS,
        "s" => NS_PER_SEC,
        "m" => 60 * NS_PER_SEC,
        "h" => 3_600 * NS_PER_SEC,
        "d" => 86_400 * NS_PER_SEC,
        _ => return None,
    };
    n.checked_mul(scale)
}

/// A duration with a unit, or a bare integer counted in `integer_unit_ns`.
pub fn duration_or_integer(v: &str, integer_unit_ns: i64) -> Option<i64> {
    if !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()) {
        return v.parse::<i64>().ok()?.checked_mul(integer_unit_ns);
    }
    parse_duration(v)
}

pub fn trace_id(name: &str, v: &str) -> Result<TraceId, ApiError> {
    TraceId::from_hex(v).map_err(|e| {
        invalid(format!(
            "{name}: {v:?} {e}; pass the 32-character hex trace id"
        ))
    })
}

/// `level`: a name (`trace` .. `fatal`) or a severity number 1-24, as the minimum severity.
pub fn parse_level(v: &str) -> Result<i32, ApiError> {
    let named = match v.to_ascii_lowercase().as_str() {
        "trace" => Some(1),
        "debug" => Some(5),
        "info" => Some(9),
        "warn" | "warning" => Some(13),
        "error" => Some(17),
        "fatal" => Some(21),
        _ => None,
    };
    if let Some(n) = named {
        return Ok(n);
    }
    match v.parse::<i32>() {
        Ok(n) if (1..=24).contains(&n) => Ok(n),
        _ => Err(invalid(format!(
            "level: must be trace, debug, info, warn, error, fatal or a severity number 1-24, got {v:?}"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_800_000_000_000_000_000;

    fn params(q: &str, allowed: &[&[&str]]) -> Result<Params, ApiError> {
        Params::parse(Some(q), allowed)
    }

    fn err(r: Result<impl std::fmt::Debug, ApiError>) -> String {
        let e = r.unwrap_err();
        assert_eq!(e.code, ErrorCode::InvalidArgument);
        e.message
    }

    #[test]
    fn unknown_and_repeated_parameters_are_refused_by_name() {
        let m = err(params("limit=5&project=beta", &[PAGE]));
        assert!(m.starts_with("project: unknown parameter"), "{m}");
        assert!(m.contains("API key") && m.contains("cursor, limit"), "{m}");
        assert!(err(params("x=1", &[])).contains("takes no parameters"));
        let m = err(params("limit=5&limit=6", &[PAGE]));
        assert!(m.starts_with("limit: given more than once"), "{m}");
        let p = params("tag=a&tag=b%20c&attribute=k%3Dv", &[OBSERVATION_FILTERS]).unwrap();
        assert_eq!(p.all("tag").unwrap(), ["a", "b c"]);
        assert_eq!(p.all("attribute").unwrap(), ["k=v"]);
        assert!(
            err(params("name=", &[OBSERVATION_FILTERS]).unwrap().get("name"))
                .starts_with("name: is empty")
        );
        assert!(err(params("name=%ZZ", &[OBSERVATION_FILTERS])).starts_with("name: "));
    }

    #[test]
    fn limit_order_and_flags() {
        let check = |q: &str| params(q, &[PAGE, &["order", "payloads"]]).unwrap();
        assert_eq!(check("").limit().unwrap(), 50);
        assert_eq!(check("limit=1000").limit().unwrap(), 1000);
        assert_eq!(
            err(check("limit=5000").limit()),
            "limit: must be an integer from 1 to 1000, got \"5000\""
        );
        assert!(err(check("limit=0").limit()).starts_with("limit:"));
        assert!(err(check("limit=-3").limit()).starts_with("limit:"));
        assert!(check("").descending().unwrap());
        assert!(!check("order=asc").descending().unwrap());
        assert!(err(check("order=up").descending()).starts_with("order: must be desc or asc"));
        assert!(!check("").flag("payloads", false).unwrap());
        assert!(check("payloads=true").flag("payloads", false).unwrap());
        assert!(err(check("payloads=yes").flag("payloads", false)).starts_with("payloads:"));
    }

    #[test]
    fn times_are_rfc3339_or_integer_nanoseconds_and_since_is_relative() {
        let w = |q: &str| params(q, &[TIME]).unwrap().window(NOW);
        assert_eq!(
            w("from=2026-01-14T10:30:00Z&to=1768386700000000000").unwrap(),
            (
                Some(1_768_386_600_000_000_000),
                Some(1_768_386_700_000_000_000)
            )
        );
        assert_eq!(
            w("from=2026-01-14T11:30:00%2B01:00").unwrap().0,
            Some(1_768_386_600_000_000_000)
        );
        assert_eq!(
            w("since=15m").unwrap(),
            (Some(NOW - 900 * NS_PER_SEC), None)
        );
        assert_eq!(
            w("since=7d").unwrap().0,
            Some(NOW - 7 * 86_400 * NS_PER_SEC)
        );
        assert_eq!(
            w("from=2026-01-14T11:30:00+01:00").unwrap().0,
            Some(1_768_386_600_000_000_000),
            "an unencoded + offset is read as +"
        );
        assert!(err(w("since=15m&from=1")).starts_with("since: cannot be combined with from"));
        assert!(err(w("since=15")).starts_with("since: must be a duration"));
        assert!(err(w("from=yesterday")).starts_with("from: \"yesterday\" is not a time"));
        assert!(err(w("to=99999999999999999999")).starts_with("to: "));
        assert!(err(w("from=10&to=10")).starts_with("to: must be after from"));
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("250ms"), Some(250 * NS_PER_MS));
        assert_eq!(parse_duration("2h"), Some(7_200 * NS_PER_SEC));
        assert_eq!(parse_duration("2"), None);
        assert_eq!(parse_duration("2y"), None);
        assert_eq!(parse_duration("ms"), None);
        assert_eq!(
            parse_duration("99999999999999d"),
            None,
            "overflow is refused"
        );
        assert_eq!(duration_or_integer("250", NS_PER_MS), Some(250 * NS_PER_MS));
        assert_eq!(duration_or_integer("1m", NS_PER_MS), Some(60 * NS_PER_SEC));
    }

    #[test]
    fn observation_filters_map_onto_the_store_filter() {
        let q = "kind=llm&model=gpt-4o&status=error&min_duration=2s&attribute=http.status=500\
                 &tag=prod&q=Refund&trace_id=4BF92F3577B34DA6A3CE929D0E0E4736&since=1h";
        let f = params(q, &[TIME, OBSERVATION_FILTERS])
            .unwrap()
            .observation_filter(NOW)
            .unwrap();
        assert_eq!(f.kind, Some(ObservationKind::Llm));
        assert_eq!(f.model.as_deref(), Some("gpt-4o"));
        assert_eq!(f.status, StatusFilter::Error);
        assert_eq!(f.min_duration_ns, Some(2 * NS_PER_SEC));
        assert_eq!(f.attributes, vec![("http.status".into(), "500".into())]);
        assert_eq!(f.tags, vec!["prod".to_string()]);
        assert_eq!(f.text.as_deref(), Some("Refund"));
        assert_eq!(
            f.trace_id.unwrap().to_hex(),
            "4bf92f3577b34da6a3ce929d0e0e4736"
        );
        assert_eq!(f.from_ns, Some(NOW - 3_600 * NS_PER_SEC));
        let bad = |q: &str| {
            err(params(q, &[TIME, OBSERVATION_FILTERS])
                .unwrap()
                .observation_filter(NOW))
        };
        assert!(bad("kind=robot").starts_with("kind: must be one of agent, llm"));
        assert!(bad("status=failed").starts_with("status: must be error or ok"));
        assert!(bad("min_duration=fast").starts_with("min_duration:"));
        assert!(bad("attribute=novalue").starts_with("attribute: must be key=value"));
        assert!(bad("attribute==v").starts_with("attribute:"));
        assert!(bad("trace_id=xyz").starts_with("trace_id: \"xyz\""));
    }

    #[test]
    fn log_levels() {
        assert_eq!(parse_level("WARN").unwrap(), 13);
        assert_eq!(parse_level("error").unwrap(), 17);
        assert_eq!(parse_level("24").unwrap(), 24);
        assert!(err(parse_level("25")).starts_with("level: must be trace, debug"));
        let f = params("level=info&service=api&since=30s", &[TIME, LOG_FILTERS])
            .unwrap()
            .log_filter(NOW)
            .unwrap();
        assert_eq!(f.min_severity, Some(9));
        assert_eq!(f.service.as_deref(), Some("api"));
        assert_eq!(f.from_ns, Some(NOW - 30 * NS_PER_SEC));
    }
}

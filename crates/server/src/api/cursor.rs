//! Opaque page cursors: a keyset position wrapped with a tag bound to the project and to the
//! route's ordering, so a cursor from another key's project or another `sort`/`order` is a 400
//! naming `cursor` instead of a silently wrong page.
//!
//! Layout (base64url, no padding): version byte, 8-byte tag, then the position's bytes.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use sha2::{Digest, Sha256};
use sightline_core::{ProjectId, SpanId, TraceId};
use sightline_store::{LogCursor, ObservationCursor, SessionCursor, TraceCursor, TraceSort};

use super::params::invalid;
use crate::error::ApiError;

const VERSION: u8 = 1;
const TAG_LEN: usize = 8;
/// Longest session id a cursor carries; longer cursors are refused before decoding.
const MAX_CURSOR_CHARS: usize = 2048;

/// Which list, in which ordering: part of what a cursor is bound to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ordering {
    Traces { sort: TraceSort, descending: bool },
    Observations { descending: bool },
    Sessions,
    Logs { descending: bool },
}

impl Ordering {
    fn scope(self) -> String {
        let dir = |d: bool| if d { "desc" } else { "asc" };
        match self {
            Ordering::Traces { sort, descending } => {
                let sort = match sort {
                    TraceSort::Start => "start",
                    TraceSort::Duration => "duration",
                    TraceSort::Tokens => "tokens",
                    TraceSort::Cost => "cost",
                };
                format!("traces/{sort}/{}", dir(descending))
            }
            Ordering::Observations { descending } => format!("observations/{}", dir(descending)),
            Ordering::Sessions => "sessions".to_owned(),
            Ordering::Logs { descending } => format!("logs/{}", dir(descending)),
        }
    }
}

fn tag(project: ProjectId, ordering: Ordering) -> [u8; TAG_LEN] {
    let mut h = Sha256::new();
    h.update(b"sightline cursor v1\0");
    h.update(project.0.to_le_bytes());
    h.update(ordering.scope().as_bytes());
    let digest = h.finalize();
    let mut out = [0u8; TAG_LEN];
    out.copy_from_slice(&digest[..TAG_LEN]);
    out
}

fn encode(project: ProjectId, ordering: Ordering, position: &[u8]) -> String {
    let mut bytes = Vec::with_capacity(1 + TAG_LEN + position.len());
    bytes.push(VERSION);
    bytes.extend_from_slice(&tag(project, ordering));
    bytes.extend_from_slice(position);
    URL_SAFE_NO_PAD.encode(bytes)
}

fn malformed() -> ApiError {
    invalid("cursor: is not a cursor of this API; pass the next_cursor of the previous page unchanged, or leave cursor out to start from the first page")
}

fn decode(project: ProjectId, ordering: Ordering, cursor: &str) -> Result<Vec<u8>, ApiError> {
    if cursor.len() > MAX_CURSOR_CHARS {
        return Err(malformed());
    }
    let bytes = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| malformed())?;
    if bytes.len() < 1 + TAG_LEN || bytes[0] != VERSION {
        return Err(malformed());
    }
    if bytes[1..1 + TAG_LEN] != tag(project, ordering) {
        return Err(invalid(
            "cursor: belongs to another project or to another list, sort or order; \
             repeat the first request's parameters exactly, or leave cursor out to start again",
        ));
    }
    Ok(bytes[1 + TAG_LEN..].to_vec())
}

/// Reads fixed-size fields off the front of a position.
struct Reader<'a>(&'a [u8]);

impl Reader<'_> {
    fn take<const N: usize>(&mut self) -> Result<[u8; N], ApiError> {
        if self.0.len() < N {
            return Err(malformed());
        }
        let (head, rest) = self.0.split_at(N);
        self.0 = rest;
        head.try_into().map_err(|_| malformed())
    }
    fn i64(&mut self) -> Result<i64, ApiError> {
        Ok(i64::from_be_bytes(self.take::<8>()?))
    }
    fn trace_id(&mut self) -> Result<TraceId, ApiError> {
        TraceId::from_bytes(&self.take::<16>()?).map_err(|_| malformed())
    }
    fn span_id(&mut self) -> Result<SpanId, ApiError> {
        SpanId::from_bytes(&self.take::<8>()?).map_err(|_| malformed())
    }
    fn end(self) -> Result<(), ApiError> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(malformed())
        }
    }
}

pub fn encode_trace(project: ProjectId, ordering: Ordering, c: &TraceCursor) -> String {
    let mut pos = c.sort_value.to_be_bytes().to_vec();
    pos.extend_from_slice(&c.trace_id.0);
    encode(project, ordering, &pos)
}

pub fn decode_trace(
    project: ProjectId,
    ordering: Ordering,
    cursor: &str,
) -> Result<TraceCursor, ApiError> {
    let bytes = decode(project, ordering, cursor)?;
    let mut r = Reader(&bytes);
    let c = TraceCursor {
        sort_value: r.i64()?,
        trace_id: r.trace_id()?,
    };
    r.end()?;
    Ok(c)
}

pub fn encode_observation(project: ProjectId, ordering: Ordering, c: &ObservationCursor) -> String {
    let mut pos = c.start_ns.to_be_bytes().to_vec();
    pos.extend_from_slice(&c.trace_id.0);
    pos.extend_from_slice(&c.span_id.0);
    encode(project, ordering, &pos)
}

pub fn decode_observation(
    project: ProjectId,
    ordering: Ordering,
    cursor: &str,
) -> Result<ObservationCursor, ApiError> {
    let bytes = decode(project, ordering, cursor)?;
    let mut r = Reader(&bytes);
    let c = ObservationCursor {
        start_ns: r.i64()?,
        trace_id: r.trace_id()?,
        span_id: r.span_id()?,
    };
    r.end()?;
    Ok(c)
}

pub fn encode_session(project: ProjectId, c: &SessionCursor) -> String {
    let mut pos = c.last_seen_ns.to_be_bytes().to_vec();
    pos.extend_from_slice(c.session_id.as_bytes());
    encode(project, Ordering::Sessions, &pos)
}

pub fn decode_session(project: ProjectId, cursor: &str) -> Result<SessionCursor, ApiError> {
    let bytes = decode(project, Ordering::Sessions, cursor)?;
    let mut r = Reader(&bytes);
    let last_seen_ns = r.i64()?;
    let session_id = String::from_utf8(r.0.to_vec()).map_err(|_| malformed())?;
    Ok(SessionCursor {
        last_seen_ns,
        session_id,
    })
}

pub fn encode_log(project: ProjectId, ordering: Ordering, c: &LogCursor) -> String {
    let mut pos = c.time_ns.to_be_bytes().to_vec();
    pos.extend_from_slice(&c.id.to_be_bytes());
    encode(project, ordering, &pos)
}

pub fn decode_log(
    project: ProjectId,
    ordering: Ordering,
    cursor: &str,
) -> Result<LogCursor, ApiError> {
    let bytes = decode(project, ordering, cursor)?;
    let mut r = Reader(&bytes);
    let c = LogCursor {
        time_ns: r.i64()?,
        id: r.i64()?,
    };
    r.end()?;
    Ok(c)
}

#[cfg(test)]
mod tests {
    use super::*;

    const P: ProjectId = ProjectId(7);
    const BY_START: Ordering = Ordering::Traces {
        sort: TraceSort::Start,
        descending: true,
    };

    fn trace_cursor() -> TraceCursor {
        TraceCursor {
            sort_value: -1,
            trace_id: TraceId([0xab; 16]),
        }
    }

    #[test]
    fn cursors_round_trip_and_are_url_safe() {
        let c = trace_cursor();
        let s = encode_trace(P, BY_START, &c);
        assert!(
            s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'),
            "{s}"
        );
        assert_eq!(decode_trace(P, BY_START, &s).unwrap(), c);

        let o = ObservationCursor {
            start_ns: 1_768_386_600_000_000_000,
            trace_id: TraceId([1; 16]),
            span_id: SpanId([2; 8]),
        };
        let ord = Ordering::Observations { descending: false };
        assert_eq!(
            decode_observation(P, ord, &encode_observation(P, ord, &o)).unwrap(),
            o
        );

        let sc = SessionCursor {
            last_seen_ns: 5,
            session_id: "sess é/1".into(),
        };
        assert_eq!(decode_session(P, &encode_session(P, &sc)).unwrap(), sc);

        let l = LogCursor { time_ns: 9, id: 42 };
        let ord = Ordering::Logs { descending: true };
        assert_eq!(decode_log(P, ord, &encode_log(P, ord, &l)).unwrap(), l);
    }

    #[test]
    fn a_cursor_from_another_project_or_ordering_is_refused_naming_cursor() {
        let s = encode_trace(P, BY_START, &trace_cursor());
        let other_orderings = [
            Ordering::Traces {
                sort: TraceSort::Start,
                descending: false,
            },
            Ordering::Traces {
                sort: TraceSort::Cost,
                descending: true,
            },
            Ordering::Observations { descending: true },
        ];
        for ord in other_orderings {
            let e = decode_trace(P, ord, &s).unwrap_err();
            assert!(
                e.message.starts_with("cursor: belongs to another"),
                "{}",
                e.message
            );
        }
        let e = decode_trace(ProjectId(8), BY_START, &s).unwrap_err();
        assert!(
            e.message.starts_with("cursor: belongs to another"),
            "{}",
            e.message
        );
        // A log cursor used on the session list (same project) is refused too.
        let l = encode_log(
            P,
            Ordering::Logs { descending: true },
            &LogCursor { time_ns: 1, id: 1 },
        );
        assert!(decode_session(P, &l).is_err());
    }

    #[test]
    fn garbage_is_refused_naming_cursor() {
        for bad in ["", "!!!", "AAAA", &"A".repeat(5000)] {
            let e = decode_trace(P, BY_START, bad).unwrap_err();
            assert!(
                e.message.starts_with("cursor: is not a cursor"),
                "{bad}: {}",
                e.message
            );
        }
        // A valid tag with a truncated position.
        let s = encode(P, BY_START, &[1, 2, 3]);
        assert!(decode_trace(P, BY_START, &s).is_err());
    }
}

//! Encoded requests whose trace and span ids can be re-stamped in place, without re-encoding.
//!
//! A load generator that replays a pool of requests must not resend the same ids (the server
//! would deduplicate them), yet re-encoding protobuf per send costs CPU that a benchmark on a
//! small machine takes from the server. So the encoded bytes are walked once to find every id
//! field, and each send copies the bytes and XORs a per-send mask into the first eight bytes of
//! each id. The same old id always maps to the same new id, so parent links stay intact.

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use prost::Message;

/// An encoded `ExportTraceServiceRequest` and where its ids sit.
pub struct EncodedRequest {
    pub bytes: Vec<u8>,
    pub spans: usize,
    /// Byte offsets of every trace id, span id and parent span id.
    id_offsets: Vec<u32>,
}

/// Why a buffer could not be walked (only possible for bytes this module did not encode).
#[derive(Debug)]
pub struct Malformed(usize);

impl std::fmt::Display for Malformed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "malformed protobuf at byte {}", self.0)
    }
}

impl std::error::Error for Malformed {}

impl EncodedRequest {
    /// Encodes `request` and indexes its ids.
    pub fn new(request: &ExportTraceServiceRequest, spans: usize) -> Result<Self, Malformed> {
        Self::from_bytes(request.encode_to_vec(), spans)
    }

    /// Indexes the ids of an already encoded request.
    pub fn from_bytes(bytes: Vec<u8>, spans: usize) -> Result<Self, Malformed> {
        let mut id_offsets = Vec::with_capacity(spans * 3);
        walk(&bytes, 0, bytes.len(), Level::Request, &mut id_offsets)?;
        Ok(Self {
            bytes,
            spans,
            id_offsets,
        })
    }

    /// Writes a copy of the request into `out` with every id XORed by `mask`; `mask` values
    /// that differ give disjoint id sets (up to the odds of a random 64-bit collision).
    pub fn render_into(&self, mask: u64, out: &mut Vec<u8>) {
        out.clear();
        out.extend_from_slice(&self.bytes);
        let mask = mask.to_le_bytes();
        for &offset in &self.id_offsets {
            let offset = offset as usize;
            for (b, m) in out[offset..offset + 8].iter_mut().zip(mask) {
                *b ^= m;
            }
        }
    }
}

/// A well-mixed mask for send number `n`: SplitMix64, a bijection, so distinct `n` give
/// distinct masks.
pub fn mask_for(n: u64) -> u64 {
    let mut z = n.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

#[derive(Clone, Copy)]
enum Level {
    Request,
    ResourceSpans,
    ScopeSpans,
    Span,
}

/// Records the offsets of id fields in the message at `buf[start..end]` at `level`.
fn walk(
    buf: &[u8],
    mut pos: usize,
    end: usize,
    level: Level,
    out: &mut Vec<u32>,
) -> Result<(), Malformed> {
    while pos < end {
        let key = varint(buf, &mut pos)?;
        let (field, wire_type) = (key >> 3, key & 7);
        match wire_type {
            0 => {
                varint(buf, &mut pos)?;
            }
            1 => pos += 8,
            5 => pos += 4,
            2 => {
                let len = usize::try_from(varint(buf, &mut pos)?).map_err(|_| Malformed(pos))?;
                let body_end = pos
                    .checked_add(len)
                    .filter(|e| *e <= end)
                    .ok_or(Malformed(pos))?;
                match (level, field) {
                    (Level::Request, 1) => walk(buf, pos, body_end, Level::ResourceSpans, out)?,
                    (Level::ResourceSpans, 2) => walk(buf, pos, body_end, Level::ScopeSpans, out)?,
                    (Level::ScopeSpans, 2) => walk(buf, pos, body_end, Level::Span, out)?,
                    // trace_id (16 bytes), span_id and parent_span_id (8 bytes)
                    (Level::Span, 1 | 2 | 4) if len >= 8 => {
                        out.push(u32::try_from(pos).map_err(|_| Malformed(pos))?);
                    }
                    _ => {}
                }
                pos = body_end;
            }
            _ => return Err(Malformed(pos)),
        }
    }
    if pos == end {
        Ok(())
    } else {
        Err(Malformed(pos))
    }
}

fn varint(buf: &[u8], pos: &mut usize) -> Result<u64, Malformed> {
    let mut value = 0u64;
    for shift in (0..64).step_by(7) {
        let byte = *buf.get(*pos).ok_or(Malformed(*pos))?;
        *pos += 1;
        value |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return Ok(value);
        }
    }
    Err(Malformed(*pos))
}

//! Request bodies: content-encoding and the size cap, measured after decompression.
//!
//! The cap is enforced while inflating, with the output buffer never grown past the limit, so a
//! gzip bomb costs at most `limit` bytes of memory and the time to inflate `limit` bytes.

use std::io::Read;
use std::time::Duration;

use flate2::read::MultiGzDecoder;

/// Why a body could not be read. The text names the fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BodyError {
    #[error("Content-Encoding '{0}' is not supported; send the body uncompressed or with Content-Encoding: gzip")]
    UnsupportedEncoding(String),
    #[error("the decompressed body exceeds the {} limit; send smaller batches", human_size(*limit))]
    TooLarge { limit: usize },
    #[error("the gzip body is corrupt: {0}; check the client's compression, or send the body uncompressed")]
    Corrupt(String),
}

/// How a request body must arrive off the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BodyRules {
    /// Most bytes after decompression (and so also on the wire).
    pub limit: usize,
    /// Longest a whole body may take to arrive.
    pub timeout: Duration,
    /// Least average rate, bytes per second, once [`RATE_GRACE`] has passed.
    pub min_bytes_per_sec: usize,
}

/// How long a body may arrive at any pace before its average rate counts.
pub const RATE_GRACE: Duration = Duration::from_secs(5);

impl BodyRules {
    /// How long after the body's first byte was awaited the next bytes may take to come, once
    /// `received` bytes are in: the grace plus the time `received` bytes buy at the least rate,
    /// never past the timeout. A client trickling below the rate runs out of it.
    pub fn wait_limit(&self, received: usize) -> Duration {
        let rate = self.min_bytes_per_sec.max(1) as f64;
        let bought = Duration::from_secs_f64(received as f64 / rate);
        (RATE_GRACE + bought).min(self.timeout)
    }
}

/// `20 MiB`, `512 KiB` or `1000 bytes`.
pub fn human_size(bytes: usize) -> String {
    const KIB: usize = 1024;
    const MIB: usize = 1024 * KIB;
    if bytes >= MIB && bytes.is_multiple_of(MIB) {
        format!("{} MiB", bytes / MIB)
    } else if bytes >= KIB && bytes.is_multiple_of(KIB) {
        format!("{} KiB", bytes / KIB)
    } else {
        format!("{bytes} bytes")
    }
}

enum Encoding {
    Identity,
    Gzip,
}

/// Parses a `Content-Encoding` value: absent, empty or `identity` is identity; `gzip` or `x-gzip`
/// (any case) is gzip. A list may name gzip once beside `identity` entries.
fn encoding(header: Option<&str>) -> Result<Encoding, BodyError> {
    let mut found = Encoding::Identity;
    for name in header.unwrap_or("").split(',').map(str::trim) {
        match name.to_ascii_lowercase().as_str() {
            "" | "identity" => {}
            "gzip" | "x-gzip" if matches!(found, Encoding::Identity) => found = Encoding::Gzip,
            _ => return Err(BodyError::UnsupportedEncoding(name.to_owned())),
        }
    }
    Ok(found)
}

/// Decodes a request body per its `Content-Encoding`, refusing bodies larger than `limit` bytes
/// after decompression.
pub fn decode_body(
    body: &[u8],
    content_encoding: Option<&str>,
    limit: usize,
) -> Result<Vec<u8>, BodyError> {
    match encoding(content_encoding)? {
        Encoding::Identity if body.len() > limit => Err(BodyError::TooLarge { limit }),
        Encoding::Identity => Ok(body.to_vec()),
        // The one sanctioned decompressor (clippy.toml bans it elsewhere): read_capped caps it.
        #[allow(clippy::disallowed_methods)]
        Encoding::Gzip => read_capped(MultiGzDecoder::new(body), limit, body.len()),
    }
}

/// Reads `reader` to the end into a buffer whose capacity never exceeds `limit`; one byte more
/// than `limit` is `TooLarge`. `hint` (the compressed size) sizes the first allocation.
fn read_capped(mut reader: impl Read, limit: usize, hint: usize) -> Result<Vec<u8>, BodyError> {
    const CHUNK: usize = 64 * 1024;
    let mut out: Vec<u8> = Vec::with_capacity(hint.saturating_mul(4).max(CHUNK).min(limit));
    let mut chunk = vec![0u8; CHUNK];
    loop {
        let n = match reader.read(&mut chunk) {
            Ok(0) => return Ok(out),
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(BodyError::Corrupt(e.to_string())),
        };
        let needed = out.len() + n;
        if needed > limit {
            return Err(BodyError::TooLarge { limit });
        }
        if needed > out.capacity() {
            // Grow by doubling, but never past the limit (Vec's own growth could double past it).
            let target = out.capacity().saturating_mul(2).max(needed).min(limit);
            out.reserve_exact(target - out.len());
        }
        out.extend_from_slice(&chunk[..n]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_body_must_keep_the_least_rate_after_the_grace_and_finish_in_time() {
        let rules = BodyRules {
            limit: 20 << 20,
            timeout: Duration::from_secs(120),
            min_bytes_per_sec: 16 << 10,
        };
        assert_eq!(rules.wait_limit(0), RATE_GRACE, "nothing yet: the grace");
        assert_eq!(
            rules.wait_limit(16 << 10),
            RATE_GRACE + Duration::from_secs(1)
        );
        // A client at 1 KiB/s has 10 KiB after 10 s: it was due more by 5.6 s.
        assert!(rules.wait_limit(10 << 10) < Duration::from_secs(6));
        assert_eq!(
            rules.wait_limit(20 << 20),
            Duration::from_secs(120),
            "never past the timeout"
        );
    }
    use flate2::write::GzEncoder;
    use flate2::Compression;
    use std::io::Write;

    const MIB: usize = 1024 * 1024;

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut enc = GzEncoder::new(Vec::new(), Compression::default());
        enc.write_all(data).unwrap();
        enc.finish().unwrap()
    }

    #[test]
    fn identity_passes_through_and_is_capped() {
        assert_eq!(decode_body(b"abc", None, 3).unwrap(), b"abc");
        assert_eq!(decode_body(b"abc", Some("identity"), 3).unwrap(), b"abc");
        assert_eq!(decode_body(b"", Some(""), 0).unwrap(), b"");
        assert_eq!(
            decode_body(b"abcd", None, 3),
            Err(BodyError::TooLarge { limit: 3 })
        );
    }

    #[test]
    fn gzip_and_x_gzip_are_inflated() {
        let data = b"hello, sightline".repeat(1000);
        let gz = gzip(&data);
        assert_eq!(decode_body(&gz, Some("gzip"), data.len()).unwrap(), data);
        assert_eq!(decode_body(&gz, Some("X-GZIP"), data.len()).unwrap(), data);
        assert_eq!(
            decode_body(&gz, Some(" gzip, identity "), data.len()).unwrap(),
            data
        );
        // Concatenated gzip members are one valid gzip stream.
        let mut two = gzip(b"ab");
        two.extend(gzip(b"cd"));
        assert_eq!(decode_body(&two, Some("gzip"), 10).unwrap(), b"abcd");
    }

    #[test]
    fn the_cap_is_measured_after_decompression() {
        let data = vec![7u8; 1000];
        let gz = gzip(&data);
        assert!(gz.len() < 100);
        assert_eq!(decode_body(&gz, Some("gzip"), 1000).unwrap().len(), 1000);
        assert_eq!(
            decode_body(&gz, Some("gzip"), 999),
            Err(BodyError::TooLarge { limit: 999 })
        );
    }

    #[test]
    fn other_encodings_are_refused_by_name() {
        for enc in ["br", "deflate", "zstd", "gzip, gzip", "gzip, br"] {
            let err = decode_body(b"x", Some(enc), 10).unwrap_err();
            assert!(
                matches!(err, BodyError::UnsupportedEncoding(_)),
                "{enc}: {err:?}"
            );
        }
        assert_eq!(
            decode_body(b"x", Some("br"), 10).unwrap_err().to_string(),
            "Content-Encoding 'br' is not supported; send the body uncompressed or with Content-Encoding: gzip"
        );
    }

    #[test]
    fn corrupt_gzip_is_refused() {
        let err = decode_body(b"definitely not gzip", Some("gzip"), 100).unwrap_err();
        assert!(matches!(err, BodyError::Corrupt(_)), "{err:?}");
        assert!(
            err.to_string().starts_with("the gzip body is corrupt: "),
            "{err}"
        );
        // A truncated stream is corrupt too, not silently short.
        let gz = gzip(&b"abcdefgh".repeat(100));
        let err = decode_body(&gz[..gz.len() / 2], Some("gzip"), 10_000).unwrap_err();
        assert!(matches!(err, BodyError::Corrupt(_)), "{err:?}");
    }

    #[test]
    fn gzip_bomb_is_stopped_at_the_limit() {
        // 200 MiB of zeros, compressed in a streaming way so the test itself stays small.
        let mut enc = GzEncoder::new(Vec::new(), Compression::fast());
        let zeros = vec![0u8; MIB];
        for _ in 0..200 {
            enc.write_all(&zeros).unwrap();
        }
        let bomb = enc.finish().unwrap();
        assert!(bomb.len() < 2 * MIB, "bomb is {} bytes", bomb.len());
        let err = decode_body(&bomb, Some("gzip"), 20 * MIB).unwrap_err();
        assert_eq!(err, BodyError::TooLarge { limit: 20 * MIB });
        assert_eq!(
            err.to_string(),
            "the decompressed body exceeds the 20 MiB limit; send smaller batches"
        );
    }

    #[test]
    fn the_buffer_never_grows_past_the_limit() {
        let limit = 3 * 64 * 1024 + 5;
        let data = vec![1u8; limit];
        let out = read_capped(&data[..], limit, 10).unwrap();
        assert_eq!(out.len(), limit);
        assert!(out.capacity() <= limit, "capacity {}", out.capacity());
        let out = read_capped(&data[..], limit, usize::MAX).unwrap();
        assert!(out.capacity() <= limit, "capacity {}", out.capacity());
    }

    #[test]
    fn sizes_are_printed_for_people() {
        assert_eq!(human_size(20 * MIB), "20 MiB");
        assert_eq!(human_size(4 * MIB), "4 MiB");
        assert_eq!(human_size(512 * 1024), "512 KiB");
        assert_eq!(human_size(1000), "1000 bytes");
    }
}

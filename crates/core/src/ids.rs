//! Identifiers: projects, traces and spans, with their hex forms.

use std::fmt;

/// A project: every stored row belongs to exactly one. It comes from the caller's credential.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub struct ProjectId(pub i64);

/// A 16-byte trace id; never all zeros.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TraceId(pub [u8; 16]);

/// An 8-byte span id; never all zeros.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SpanId(pub [u8; 8]);

/// Why an id was refused; the text names the fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    #[error("must be {expected} bytes ({hex_len} hex characters), got {got} bytes")]
    WrongLength {
        expected: usize,
        hex_len: usize,
        got: usize,
    },
    #[error("must not be all zeros")]
    AllZeros,
    #[error("must be hexadecimal ({hex_len} characters of 0-9, a-f)")]
    NotHex { hex_len: usize },
    #[error("must be {hex_len} hex characters, got {got}")]
    WrongHexLength { hex_len: usize, got: usize },
}

fn from_bytes<const N: usize>(bytes: &[u8]) -> Result<[u8; N], IdError> {
    let arr: [u8; N] = bytes.try_into().map_err(|_| IdError::WrongLength {
        expected: N,
        hex_len: N * 2,
        got: bytes.len(),
    })?;
    if arr.iter().all(|b| *b == 0) {
        return Err(IdError::AllZeros);
    }
    Ok(arr)
}

fn from_hex<const N: usize>(s: &str) -> Result<[u8; N], IdError> {
    if !s.bytes().all(|c| hex_digit(c).is_some()) {
        return Err(IdError::NotHex { hex_len: N * 2 });
    }
    if s.len() != N * 2 {
        return Err(IdError::WrongHexLength {
            hex_len: N * 2,
            got: s.len(),
        });
    }
    let mut out = [0u8; N];
    for (i, chunk) in s.as_bytes().chunks(2).enumerate() {
        let hi = hex_digit(chunk[0]).ok_or(IdError::NotHex { hex_len: N * 2 })?;
        let lo = hex_digit(chunk[1]).ok_or(IdError::NotHex { hex_len: N * 2 })?;
        out[i] = (hi << 4) | lo;
    }
    from_bytes::<N>(&out)
}

fn hex_digit(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

fn write_hex(f: &mut fmt::Formatter<'_>, bytes: &[u8]) -> fmt::Result {
    for b in bytes {
        write!(f, "{b:02x}")?;
    }
    Ok(())
}

impl TraceId {
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, IdError> {
        from_bytes::<16>(bytes).map(Self)
    }
    /// Parses case-insensitive hex, as OTLP/JSON and the API use.
    pub fn from_hex(s: &str) -> Result<Self, IdError> {
        from_hex::<16>(s).map(Self)
    }
    pub fn to_hex(&self) -> String {
        self.to_string()
    }
}

impl SpanId {
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, IdError> {
        from_bytes::<8>(bytes).map(Self)
    }
    pub fn from_hex(s: &str) -> Result<Self, IdError> {
        from_hex::<8>(s).map(Self)
    }
    pub fn to_hex(&self) -> String {
        self.to_string()
    }
}

impl fmt::Display for TraceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_hex(f, &self.0)
    }
}

impl fmt::Display for SpanId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_hex(f, &self.0)
    }
}

macro_rules! hex_serde {
    ($t:ty) => {
        impl serde::Serialize for $t {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(self)
            }
        }
        impl<'de> serde::Deserialize<'de> for $t {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                <$t>::from_hex(&s).map_err(serde::de::Error::custom)
            }
        }
    };
}
hex_serde!(TraceId);
hex_serde!(SpanId);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trip_is_case_insensitive() {
        let id = TraceId::from_hex("4BF92F3577B34DA6A3CE929D0E0E4736").unwrap();
        assert_eq!(id.to_hex(), "4bf92f3577b34da6a3ce929d0e0e4736");
        assert_eq!(
            SpanId::from_hex("00f067aa0ba902b7").unwrap().to_hex(),
            "00f067aa0ba902b7"
        );
    }

    #[test]
    fn bad_ids_are_refused_with_the_reason() {
        assert_eq!(TraceId::from_bytes(&[0; 16]), Err(IdError::AllZeros));
        assert!(matches!(
            SpanId::from_bytes(&[1; 7]),
            Err(IdError::WrongLength { got: 7, .. })
        ));
        assert!(matches!(
            SpanId::from_hex("zz00000000000001"),
            Err(IdError::NotHex { .. })
        ));
        assert!(matches!(
            TraceId::from_hex("abcd"),
            Err(IdError::WrongHexLength { got: 4, .. })
        ));
        assert!(matches!(
            TraceId::from_hex("xyz"),
            Err(IdError::NotHex { .. })
        ));
    }
}

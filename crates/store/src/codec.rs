//! Compact encodings shared by the engines: deflate-compressed JSON for the parts of an
//! observation that are not promoted to columns, and a stable hash for resources.

use std::io::{Read, Write};

use flate2::read::DeflateDecoder;
use flate2::write::DeflateEncoder;
use flate2::Compression;
use serde::{de::DeserializeOwned, Serialize};

use crate::StoreError;

/// Serializes `value` as JSON and deflates it.
pub fn pack<T: Serialize>(value: &T) -> Result<Vec<u8>, StoreError> {
    let json = serde_json::to_vec(value).map_err(|e| StoreError::Engine(e.to_string()))?;
    let mut enc = DeflateEncoder::new(Vec::with_capacity(json.len() / 2 + 16), Compression::new(6));
    enc.write_all(&json)
        .map_err(|e| StoreError::Engine(e.to_string()))?;
    enc.finish().map_err(|e| StoreError::Engine(e.to_string()))
}

/// The inverse of [`pack`].
pub fn unpack<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, StoreError> {
    let mut json = Vec::with_capacity(bytes.len() * 3);
    DeflateDecoder::new(bytes)
        .read_to_end(&mut json)
        .map_err(|e| StoreError::Engine(format!("corrupt stored blob: {e}")))?;
    serde_json::from_slice(&json)
        .map_err(|e| StoreError::Engine(format!("corrupt stored blob: {e}")))
}

/// FNV-1a 64-bit, folded to a non-negative i64: stable across runs and machines.
pub fn stable_hash(bytes: &[u8]) -> i64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    (h >> 1) as i64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pack_round_trips() {
        let v = serde_json::json!({"a": [1, 2, 3], "b": "text ".repeat(50)});
        let packed = pack(&v).unwrap();
        assert!(
            packed.len() < 100,
            "repetitive text compresses: {}",
            packed.len()
        );
        let back: serde_json::Value = unpack(&packed).unwrap();
        assert_eq!(back, v);
    }

    #[test]
    fn corrupt_blob_is_an_error_not_a_panic() {
        assert!(unpack::<serde_json::Value>(&[0xff, 0x00, 0x13]).is_err());
    }

    #[test]
    fn stable_hash_is_stable() {
        assert_eq!(
            stable_hash(b"service.name=a"),
            stable_hash(b"service.name=a")
        );
        assert_ne!(stable_hash(b"a"), stable_hash(b"b"));
        assert!(stable_hash(b"anything") >= 0);
    }
}

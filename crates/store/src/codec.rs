//! Compact encodings shared by the engines: deflate-compressed JSON for the parts of an
//! observation that are not promoted to columns, and a stable hash for resources.

use std::cell::RefCell;

use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress, Status};
use serde::{de::DeserializeOwned, Serialize};

use crate::StoreError;

thread_local! {
    // A deflate state is hundreds of KiB; making one per blob would dominate the cost of small
    // blobs, so each thread keeps one and resets it.
    static COMPRESSOR: RefCell<Compress> = RefCell::new(Compress::new(Compression::new(6), false));
    static DECOMPRESSOR: RefCell<Decompress> = RefCell::new(Decompress::new(false));
}

/// Serializes `value` as JSON and deflates it (raw deflate, no header).
pub fn pack<T: Serialize>(value: &T) -> Result<Vec<u8>, StoreError> {
    let json = serde_json::to_vec(value).map_err(|e| StoreError::Engine(e.to_string()))?;
    deflate(&json)
}

/// Raw-deflates `input` with the thread's reusable compressor.
pub fn deflate(input: &[u8]) -> Result<Vec<u8>, StoreError> {
    COMPRESSOR.with(|c| {
        let mut c = c.borrow_mut();
        c.reset();
        let mut out = Vec::with_capacity(input.len() / 2 + 64);
        loop {
            let consumed = c.total_in() as usize;
            let status = c
                .compress_vec(&input[consumed..], &mut out, FlushCompress::Finish)
                .map_err(|e| StoreError::Engine(format!("deflate failed: {e}")))?;
            match status {
                Status::StreamEnd => return Ok(out),
                _ => out.reserve(out.capacity().max(64)),
            }
        }
    })
}

/// Inflates a blob made by [`deflate`].
pub fn inflate(input: &[u8]) -> Result<Vec<u8>, StoreError> {
    DECOMPRESSOR.with(|d| {
        let mut d = d.borrow_mut();
        d.reset(false);
        let mut out = Vec::with_capacity(input.len() * 4 + 64);
        loop {
            let consumed = d.total_in() as usize;
            let before = d.total_out();
            let status = d
                .decompress_vec(&input[consumed..], &mut out, FlushDecompress::None)
                .map_err(|e| StoreError::Engine(format!("corrupt stored blob: {e}")))?;
            match status {
                Status::StreamEnd => return Ok(out),
                _ if d.total_out() == before && d.total_in() as usize == consumed => {
                    // No progress with room to spare: the stream ends before its end marker.
                    if out.len() < out.capacity() {
                        return Err(StoreError::Engine(
                            "corrupt stored blob: truncated deflate stream".into(),
                        ));
                    }
                    out.reserve(out.capacity().max(64));
                }
                _ => {
                    if out.len() == out.capacity() {
                        out.reserve(out.capacity().max(64));
                    }
                }
            }
        }
    })
}

/// The inverse of [`pack`].
pub fn unpack<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, StoreError> {
    let json = inflate(bytes)?;
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
    fn reused_compressors_do_not_leak_state_between_blobs() {
        let a = deflate(b"first blob first blob").unwrap();
        let b = deflate(b"second").unwrap();
        assert_eq!(inflate(&a).unwrap(), b"first blob first blob");
        assert_eq!(inflate(&b).unwrap(), b"second");
        let big: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
        assert_eq!(inflate(&deflate(&big).unwrap()).unwrap(), big);
        assert!(inflate(&a[..a.len() / 2]).is_err());
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

//! The engine-neutral row encoding both engines store: the model <-> promoted columns plus
//! zstd-compressed JSON blobs, one file per model type (`span.rs`, `log.rs`, `resource.rs`),
//! the `kind` column's codes (`kind.rs`) and what the attribute, tag and text filters read
//! (`search.rs`). This file is the blob codec they all use (compression, and a stable hash).
//! Engines only bind and read the columns.

mod kind;
mod log;
mod resource;
mod search;
mod span;

pub(crate) use kind::{kind_code, kind_from_code};
pub(crate) use log::{decode_log, encode_log_body, encode_log_detail, LogColumns};
pub(crate) use resource::{decode_resource, encode_resource};
pub(crate) use search::{contains_ci, detail_matches, payload_contains, SearchColumns};
pub(crate) use span::{
    decode_input_output, decode_span, encode_span, SpanColumns, SpanRow, StoredWorkspace,
};

use std::cell::RefCell;

use serde::{de::DeserializeOwned, Serialize};

use crate::StoreError;

/// zstd level: 3 is zstd's default, fast enough for the ingest path.
const LEVEL: i32 = 3;
/// Largest blob we agree to inflate: a frame claiming more is corrupt.
const MAX_BLOB: u64 = 256 << 20;

thread_local! {
    // Compression contexts are reused: making one per small blob would dominate its cost.
    static COMPRESSOR: RefCell<Option<zstd::bulk::Compressor<'static>>> = const { RefCell::new(None) };
    static DECOMPRESSOR: RefCell<Option<zstd::bulk::Decompressor<'static>>> = const { RefCell::new(None) };
}

fn engine(e: std::io::Error) -> StoreError {
    StoreError::Engine(format!("compression failed: {e}"))
}

/// Serializes `value` as JSON and compresses it.
pub fn pack<T: Serialize>(value: &T) -> Result<Vec<u8>, StoreError> {
    let json = serde_json::to_vec(value).map_err(|e| StoreError::Engine(e.to_string()))?;
    compress(&json)
}

/// Compresses `input` as one zstd frame with the thread's reusable context.
pub fn compress(input: &[u8]) -> Result<Vec<u8>, StoreError> {
    COMPRESSOR.with(|cell| {
        let mut slot = cell.borrow_mut();
        if slot.is_none() {
            *slot = Some(zstd::bulk::Compressor::new(LEVEL).map_err(engine)?);
        }
        match slot.as_mut() {
            Some(c) => c.compress(input).map_err(engine),
            None => Err(StoreError::Engine("no compressor".into())),
        }
    })
}

/// Decompresses a blob made by [`compress`].
pub fn decompress(input: &[u8]) -> Result<Vec<u8>, StoreError> {
    let corrupt = |why: String| StoreError::Engine(format!("corrupt stored blob: {why}"));
    let size = match zstd::zstd_safe::get_frame_content_size(input) {
        Ok(Some(n)) if n <= MAX_BLOB => n as usize,
        Ok(Some(n)) => return Err(corrupt(format!("claims {n} bytes"))),
        Ok(None) => return Err(corrupt("no content size".into())),
        Err(_) => return Err(corrupt("not a zstd frame".into())),
    };
    DECOMPRESSOR.with(|cell| {
        let mut slot = cell.borrow_mut();
        if slot.is_none() {
            *slot = Some(zstd::bulk::Decompressor::new().map_err(engine)?);
        }
        match slot.as_mut() {
            Some(d) => d
                .decompress(input, size)
                .map_err(|e| corrupt(e.to_string())),
            None => Err(StoreError::Engine("no decompressor".into())),
        }
    })
}

/// The inverse of [`pack`].
pub fn unpack<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, StoreError> {
    let json = decompress(bytes)?;
    serde_json::from_slice(&json)
        .map_err(|e| StoreError::Engine(format!("corrupt stored blob: {e}")))
}

/// For `skip_serializing_if`: a false flag is left out of a blob.
fn is_false(b: &bool) -> bool {
    !*b
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
        let a = compress(b"first blob first blob").unwrap();
        let b = compress(b"second").unwrap();
        assert_eq!(decompress(&a).unwrap(), b"first blob first blob");
        assert_eq!(decompress(&b).unwrap(), b"second");
        let big: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
        assert_eq!(decompress(&compress(&big).unwrap()).unwrap(), big);
        assert!(decompress(&a[..a.len() / 2]).is_err());
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

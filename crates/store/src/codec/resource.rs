//! A resource's stored form: its attributes as a zstd-compressed JSON blob, identified by a
//! stable hash of them.

use serde_json::{Map, Value as Json};
use sightline_core::value::attributes_to_json;
use sightline_core::AttrValue;

use super::{pack, stable_hash, unpack};
use crate::StoreError;

/// Resource attributes in their stored form and their hash (the hash identifies them).
pub fn encode_resource(attrs: &[(String, AttrValue)]) -> Result<(i64, Vec<u8>), StoreError> {
    let json = serde_json::to_vec(&attributes_to_json(attrs))
        .map_err(|e| StoreError::Engine(e.to_string()))?;
    let hash = stable_hash(&json);
    Ok((hash, pack(&attributes_to_json(attrs))?))
}

pub fn decode_resource(blob: &[u8]) -> Result<Vec<(String, AttrValue)>, StoreError> {
    let map: Map<String, Json> = unpack(blob)?;
    Ok(map
        .iter()
        .map(|(k, v)| (k.clone(), AttrValue::from_json(v)))
        .collect())
}

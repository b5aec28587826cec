//! What a serde type asks for, without a value of it: the field names of a derived
//! `Deserialize` struct, so a test can hold a hand-written list (the settings table, later API
//! shapes) to the type it describes.

use std::fmt;

use serde::de::{self, DeserializeOwned, Visitor};

/// The field names `T` reads (after `rename`), in declaration order; `None` when `T` does not
/// deserialize as a struct (a map, an enum, a `flatten`ed struct, a scalar).
pub fn struct_fields<T: DeserializeOwned>() -> Option<&'static [&'static str]> {
    match T::deserialize(Probe) {
        Err(Found(fields)) => fields,
        Ok(_) => None,
    }
}

/// A deserializer that holds no data: it stops at the first request, noting a struct's fields.
struct Probe;

/// How the probe stops: with the fields a struct asked for, or with nothing.
#[derive(Debug)]
struct Found(Option<&'static [&'static str]>);

impl fmt::Display for Found {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a probe for field names holds no value")
    }
}

impl std::error::Error for Found {}

impl de::Error for Found {
    fn custom<T: fmt::Display>(_: T) -> Self {
        Found(None)
    }
}

impl<'de> de::Deserializer<'de> for Probe {
    type Error = Found;

    fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Found> {
        Err(Found(None))
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        fields: &'static [&'static str],
        _visitor: V,
    ) -> Result<V::Value, Found> {
        Err(Found(Some(fields)))
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        option unit unit_struct newtype_struct seq tuple tuple_struct map enum identifier
        ignored_any
    }
}

#[cfg(test)]
mod tests {
    use super::struct_fields;

    #[derive(serde::Deserialize)]
    #[allow(dead_code)]
    struct Shape {
        plain: u32,
        #[serde(rename = "renamed")]
        other: Option<String>,
        #[serde(default)]
        list: Vec<u8>,
    }

    #[test]
    fn a_struct_answers_its_serde_field_names_and_anything_else_none() {
        assert_eq!(
            struct_fields::<Shape>(),
            Some(&["plain", "renamed", "list"][..])
        );
        assert_eq!(struct_fields::<u32>(), None);
        assert_eq!(
            struct_fields::<std::collections::HashMap<String, u32>>(),
            None
        );
    }
}

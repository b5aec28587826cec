//! A page of a list route.

use serde::{Deserialize, Serialize};

/// `{"data": [...], "next_cursor": "..."}`; `next_cursor` is absent on the last page.
#[derive(Serialize, Deserialize, Debug, Clone)]
#[serde(default)]
pub struct Page<T> {
    pub data: Vec<T>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

impl<T> Page<T> {
    pub fn new(data: Vec<T>, next_cursor: Option<String>) -> Self {
        Page { data, next_cursor }
    }
}

impl<T> Default for Page<T> {
    fn default() -> Self {
        Page::new(Vec::new(), None)
    }
}

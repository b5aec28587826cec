//! The gateway's pure decisions: fixed time windows, budgets (which calls a budget counts,
//! reserve-then-settle arithmetic, refusals and the 50/80/95% notifications), rate-limit
//! policies in the IETF RateLimit draft's syntax, and the canonical JSON a response-cache key
//! is hashed from. No IO and no clock of its own: the server passes the time and carries out
//! what these functions decide.

pub mod budget;
pub mod canonical;
pub mod ratelimit;
pub mod window;

/// What budgets and rate limits know about one call: who made it and what it is tagged with.
/// Absent tags are `None`; properties are (name, value) with names lowercased.
#[derive(Debug, Clone, Copy, Default)]
pub struct CallTags<'a> {
    pub tenant: Option<&'a str>,
    pub user: Option<&'a str>,
    /// The public half of the Sightline key the call came with.
    pub key: Option<&'a str>,
    pub properties: &'a [(String, String)],
}

impl CallTags<'_> {
    /// The value of the property `name` (case-insensitive), when the call has it.
    pub fn property(&self, name: &str) -> Option<&str> {
        self.properties
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

//! A page's query string: read once, then passed on to the API (only the parameters the API
//! route accepts, as listed in [`api::ROUTES`](crate::api::ROUTES), empty form fields dropped)
//! and rewritten into links (sort, page, range) that keep every other filter. The query string
//! is the page's state, so a URL can be shared, reloaded and navigated back to.

use crate::api::ROUTES;

/// Decoded `name=value` pairs, in order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Query {
    pairs: Vec<(String, String)>,
}

impl Query {
    /// `raw` decoded; a query string that does not decode reads as empty.
    pub fn parse(raw: Option<&str>) -> Query {
        let pairs = raw
            .and_then(|r| serde_urlencoded::from_str::<Vec<(String, String)>>(r).ok())
            .unwrap_or_default();
        Query { pairs }
    }

    /// The first non-empty value of `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(n, v)| n == name && !v.trim().is_empty())
            .map(|(_, v)| v.as_str())
    }

    /// Every non-empty value of `name`.
    pub fn all(&self, name: &str) -> Vec<&str> {
        self.pairs
            .iter()
            .filter(|(n, v)| n == name && !v.trim().is_empty())
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// Only the non-empty parameters named in `names`, in their order here.
    pub fn pick(&self, names: &[&str]) -> Query {
        Query {
            pairs: self
                .pairs
                .iter()
                .filter(|(n, v)| names.contains(&n.as_str()) && !v.trim().is_empty())
                .cloned()
                .collect(),
        }
    }

    /// The parameters `route` (an `/api/v1` path as in [`ROUTES`]) accepts.
    pub fn for_api(&self, route: &str) -> Query {
        let names: Vec<&str> = ROUTES
            .iter()
            .filter(|(r, _)| *r == route)
            .flat_map(|(_, groups)| groups.iter().flat_map(|g| g.iter().copied()))
            .collect();
        self.pick(&names)
    }

    /// `name` set to `value` (every earlier value of it removed; `None`: just removed).
    pub fn with(&self, name: &str, value: Option<&str>) -> Query {
        let mut pairs: Vec<(String, String)> = self
            .pairs
            .iter()
            .filter(|(n, _)| n != name)
            .cloned()
            .collect();
        if let Some(v) = value {
            pairs.push((name.to_owned(), v.to_owned()));
        }
        Query { pairs }
    }

    /// `name=value` added (for repeatable parameters and for defaults).
    pub fn and(&self, name: &str, value: &str) -> Query {
        let mut q = self.clone();
        q.pairs.push((name.to_owned(), value.to_owned()));
        q
    }

    pub fn is_empty(&self) -> bool {
        self.pairs.is_empty()
    }

    /// The encoded query string (without `?`).
    pub fn encode(&self) -> String {
        serde_urlencoded::to_string(&self.pairs).unwrap_or_default()
    }

    /// `path` with this query string.
    pub fn href(&self, path: &str) -> String {
        if self.pairs.is_empty() {
            path.to_owned()
        } else {
            format!("{path}?{}", self.encode())
        }
    }
}

/// `value` encoded for one query parameter.
pub fn enc(value: &str) -> String {
    serde_urlencoded::to_string([("", value)])
        .map(|s| s.trim_start_matches('=').to_owned())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_pass_to_the_api_and_links_keep_them() {
        let q = Query::parse(Some(
            "service=checkout&status=&tag=a&tag=b+c&view=x&sort=cost&q=%3Cscript%3E",
        ));
        assert_eq!(q.get("status"), None, "an empty field is no filter");
        assert_eq!(q.all("tag"), ["a", "b c"]);
        let api = q.for_api("/api/v1/traces");
        assert_eq!(
            api.encode(),
            "service=checkout&tag=a&tag=b+c&sort=cost&q=%3Cscript%3E"
        );
        let next = q.with("cursor", Some("abc")).with("sort", Some("duration"));
        assert_eq!(next.get("sort"), Some("duration"));
        assert_eq!(next.all("tag").len(), 2);
        assert_eq!(Query::default().href("/traces"), "/traces");
        assert_eq!(Query::default().and("since", "1h").href("/"), "/?since=1h");
        assert_eq!(enc("a b&c"), "a+b%26c");
    }
}

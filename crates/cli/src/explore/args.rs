//! Flags shared by the explore commands, and how they become query parameters. Values are
//! passed through as typed: the server validates them and its message names the parameter.

/// Query parameters, in the order they were added.
pub type Params = Vec<(&'static str, String)>;

fn push(params: &mut Params, name: &'static str, value: &Option<String>) {
    if let Some(v) = value {
        params.push((name, v.clone()));
    }
}

/// The server `sightline serve` runs by default.
pub const DEFAULT_URL: &str = "http://127.0.0.1:4318";

/// Where the server is and how to talk to it, plus the output switch.
#[derive(clap::Args, Debug, Clone)]
pub struct Conn {
    /// Base URL of the Sightline server.
    #[arg(long, env = "SIGHTLINE_URL", default_value = DEFAULT_URL, hide_env_values = true)]
    pub url: String,
    /// API key, sent as `Authorization: Bearer <key>`.
    #[arg(long, env = "SIGHTLINE_API_KEY", hide_env_values = true)]
    pub api_key: Option<String>,
    /// Print the API's JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

/// The time window.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct TimeArgs {
    /// Only the last DURATION: 30s, 15m, 2h, 7d (not with --from).
    #[arg(long, value_name = "DURATION", conflicts_with = "from")]
    pub since: Option<String>,
    /// Window start: RFC 3339 (2026-11-21T10:00:00Z) or UTC nanoseconds.
    #[arg(long, value_name = "TIME")]
    pub from: Option<String>,
    /// Window end (exclusive): RFC 3339 or UTC nanoseconds.
    #[arg(long, value_name = "TIME")]
    pub to: Option<String>,
}

impl TimeArgs {
    pub fn add_to(&self, params: &mut Params) {
        push(params, "since", &self.since);
        push(params, "from", &self.from);
        push(params, "to", &self.to);
    }
}

/// Filters on observations: a trace is listed when one of its observations matches them all.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct ObservationFilters {
    /// `service.name`, exactly.
    #[arg(long)]
    pub service: Option<String>,
    /// Agent name, exactly.
    #[arg(long)]
    pub agent: Option<String>,
    /// Observation name, exactly.
    #[arg(long)]
    pub name: Option<String>,
    /// Model as people name it: the requested model, the answered model or the family
    /// (gpt-4o matches gpt-4o-2024-08-06, not gpt-4o-mini).
    #[arg(long)]
    pub model: Option<String>,
    /// Provider, e.g. openai, anthropic.
    #[arg(long)]
    pub provider: Option<String>,
    /// `error` or `ok`.
    #[arg(long)]
    pub status: Option<String>,
    /// User id, exactly.
    #[arg(long, value_name = "USER_ID")]
    pub user: Option<String>,
    /// Session id, exactly.
    #[arg(long, value_name = "SESSION_ID")]
    pub session: Option<String>,
    /// Tenant id, exactly.
    #[arg(long, value_name = "TENANT_ID")]
    pub tenant: Option<String>,
    /// At least this long: 250ms, 2s, 1m, or milliseconds.
    #[arg(long, value_name = "DURATION")]
    pub min_duration: Option<String>,
    /// An attribute whose value, as text, equals VALUE (repeatable).
    #[arg(long = "attribute", value_name = "KEY=VALUE")]
    pub attributes: Vec<String>,
    /// A tag (repeatable).
    #[arg(long = "tag", value_name = "TAG")]
    pub tags: Vec<String>,
    /// Case-insensitive text in the name, the input or the output.
    #[arg(long = "query", short = 'q', value_name = "TEXT")]
    pub query: Option<String>,
    /// Observation kind: agent, llm, tool, chain, retriever, embedding, reranker, guardrail,
    /// evaluator, event, span.
    #[arg(long)]
    pub kind: Option<String>,
}

impl ObservationFilters {
    pub fn add_to(&self, params: &mut Params) {
        push(params, "service", &self.service);
        push(params, "agent", &self.agent);
        push(params, "name", &self.name);
        push(params, "model", &self.model);
        push(params, "provider", &self.provider);
        push(params, "status", &self.status);
        push(params, "user_id", &self.user);
        push(params, "session_id", &self.session);
        push(params, "tenant_id", &self.tenant);
        push(params, "min_duration", &self.min_duration);
        for a in &self.attributes {
            params.push(("attribute", a.clone()));
        }
        for t in &self.tags {
            params.push(("tag", t.clone()));
        }
        push(params, "q", &self.query);
        push(params, "kind", &self.kind);
    }
}

/// Page size and position.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct PageArgs {
    /// At most this many rows (1 to 1000; the server's default is 50).
    #[arg(long)]
    pub limit: Option<u32>,
    /// Continue after the page that printed this cursor.
    #[arg(long)]
    pub cursor: Option<String>,
}

impl PageArgs {
    pub fn add_to(&self, params: &mut Params) {
        if let Some(l) = self.limit {
            params.push(("limit", l.to_string()));
        }
        push(params, "cursor", &self.cursor);
    }
}

/// `desc` (default) or `asc`, with `--asc` as a shorthand.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct OrderArgs {
    /// `desc` (default) or `asc`.
    #[arg(long)]
    pub order: Option<String>,
    /// Oldest (or smallest) first: the same as --order asc.
    #[arg(long, conflicts_with = "order")]
    pub asc: bool,
}

impl OrderArgs {
    pub fn add_to(&self, params: &mut Params) {
        if self.asc {
            params.push(("order", "asc".to_string()));
        }
        push(params, "order", &self.order);
    }
}

/// Adds `name=value` when set.
pub fn add(params: &mut Params, name: &'static str, value: &Option<String>) {
    push(params, name, value);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn observation_filters_use_the_api_names_and_repeat() {
        let f = ObservationFilters {
            user: Some("u1".into()),
            session: Some("s1".into()),
            tenant: Some("t1".into()),
            min_duration: Some("2s".into()),
            attributes: vec!["a=1".into(), "b=2".into()],
            tags: vec!["x".into()],
            query: Some("hello".into()),
            ..Default::default()
        };
        let mut p = Params::new();
        f.add_to(&mut p);
        let got: Vec<String> = p.iter().map(|(k, v)| format!("{k}={v}")).collect();
        assert_eq!(
            got,
            [
                "user_id=u1",
                "session_id=s1",
                "tenant_id=t1",
                "min_duration=2s",
                "attribute=a=1",
                "attribute=b=2",
                "tag=x",
                "q=hello"
            ]
        );
    }
}

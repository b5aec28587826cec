//! The HTTP client of the query API: builds URLs, sends the key, and turns every failure into
//! one message a person can act on.

use std::fmt;
use std::time::Duration;

use reqwest::{StatusCode, Url};

use super::args::{Conn, Params};

const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Why a call failed.
#[derive(Debug)]
pub enum ApiError {
    /// The server could not be reached at all.
    Connect { url: String, detail: String },
    /// The server answered with an error status.
    Status {
        status: StatusCode,
        message: String,
        /// No key was given and the server asked for one.
        hint_key: bool,
    },
    /// The connection broke, timed out, or the answer was not what the API promises.
    Transport { url: String, detail: String },
}

impl ApiError {
    /// Worth retrying after a pause (the live stream reconnects on these).
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Connect { .. } | Self::Transport { .. } => true,
            Self::Status { status, .. } => {
                *status == StatusCode::SERVICE_UNAVAILABLE || status.is_server_error()
            }
        }
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Connect { url, detail } => write!(
                f,
                "could not connect to {url} ({detail}); start a server with `sightline serve`, \
                 or point --url / SIGHTLINE_URL at a running one"
            ),
            Self::Status {
                message, hint_key, ..
            } => {
                write!(f, "{message}")?;
                if *hint_key {
                    write!(f, " (give a key with --api-key or SIGHTLINE_API_KEY)")?;
                }
                Ok(())
            }
            Self::Transport { url, detail } => write!(f, "{url}: {detail}"),
        }
    }
}

impl std::error::Error for ApiError {}

/// The `message` of the API's error body, else the status and the start of the body when it
/// is text (never raw bytes).
pub fn error_message(status: StatusCode, body: &str) -> String {
    let parsed: Option<serde_json::Value> = serde_json::from_str(body).ok();
    if let Some(m) = parsed
        .as_ref()
        .and_then(|v| v.get("message"))
        .and_then(|m| m.as_str())
    {
        return m.to_string();
    }
    let text: String = body.trim().chars().take(300).collect();
    if text
        .chars()
        .any(|c| c == char::REPLACEMENT_CHARACTER || (c.is_control() && !c.is_whitespace()))
    {
        return format!(
            "the server answered {status} with {} bytes that are not text",
            body.len()
        );
    }
    if text.is_empty() {
        format!("the server answered {status}")
    } else {
        format!("the server answered {status}: {text}")
    }
}

/// A client bound to one server and key.
pub struct Client {
    http: reqwest::Client,
    base: Url,
    api_key: Option<String>,
}

impl Client {
    pub fn new(conn: &Conn) -> anyhow::Result<Self> {
        // An empty SIGHTLINE_URL means "not set".
        let url = match conn.url.trim() {
            "" => super::args::DEFAULT_URL,
            url => url,
        };
        let base = Url::parse(url)
            .ok()
            .filter(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some())
            .ok_or_else(|| {
                anyhow::anyhow!(
                    "--url: {:?} is not an http URL; give one like http://127.0.0.1:4318",
                    conn.url
                )
            })?;
        let http = reqwest::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .build()?;
        Ok(Self {
            http,
            base,
            api_key: conn.api_key.clone().filter(|k| !k.is_empty()),
        })
    }

    /// The URL of `segments` under the base URL (each segment escaped), with `params`.
    pub fn url(&self, segments: &[&str], params: &Params) -> Url {
        let mut url = self.base.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().extend(segments);
        }
        url.set_query(None);
        if !params.is_empty() {
            let mut q = url.query_pairs_mut();
            for (k, v) in params {
                q.append_pair(k, v);
            }
        }
        url
    }

    fn request(&self, url: Url) -> reqwest::RequestBuilder {
        self.request_with(reqwest::Method::GET, url)
    }

    fn request_with(&self, method: reqwest::Method, url: Url) -> reqwest::RequestBuilder {
        let req = self.http.request(method, url);
        match &self.api_key {
            Some(k) => req.bearer_auth(k),
            None => req,
        }
    }

    /// GETs a JSON route: the body as received, and parsed.
    pub async fn get(
        &self,
        segments: &[&str],
        params: &Params,
    ) -> Result<(String, serde_json::Value), ApiError> {
        let url = self.url(segments, params);
        let resp = self
            .send(self.request(url.clone()).timeout(REQUEST_TIMEOUT), &url)
            .await?;
        let body = resp.text().await.map_err(|e| transport(&url, &e))?;
        let value = serde_json::from_str(&body).map_err(|e| ApiError::Transport {
            url: url.to_string(),
            detail: format!("the answer is not JSON ({e})"),
        })?;
        Ok((body, value))
    }

    /// Sends `method` to a route, with `body` as JSON when given: the answer's body as received
    /// (empty for 204).
    pub async fn call(
        &self,
        method: reqwest::Method,
        segments: &[&str],
        body: Option<&serde_json::Value>,
    ) -> Result<String, ApiError> {
        let url = self.url(segments, &Params::new());
        let mut req = self
            .request_with(method, url.clone())
            .timeout(REQUEST_TIMEOUT);
        if let Some(b) = body {
            req = req.json(b);
        }
        let resp = self.send(req, &url).await?;
        resp.text().await.map_err(|e| transport(&url, &e))
    }

    /// Opens the live stream; `last_id` resumes right after that event.
    pub async fn stream(
        &self,
        params: &Params,
        last_id: Option<&str>,
    ) -> Result<reqwest::Response, ApiError> {
        let url = self.url(&["api", "v1", "stream"], params);
        let mut req = self
            .request(url.clone())
            .header(reqwest::header::ACCEPT, "text/event-stream");
        if let Some(id) = last_id {
            req = req.header("Last-Event-ID", id);
        }
        self.send(req, &url).await
    }

    async fn send(
        &self,
        req: reqwest::RequestBuilder,
        url: &Url,
    ) -> Result<reqwest::Response, ApiError> {
        let resp = req.send().await.map_err(|e| {
            if e.is_connect() {
                ApiError::Connect {
                    url: self.base.as_str().trim_end_matches('/').to_string(),
                    detail: root_cause(&e),
                }
            } else {
                transport(url, &e)
            }
        })?;
        let status = resp.status();
        if status.is_success() {
            return Ok(resp);
        }
        let body = resp.text().await.unwrap_or_default();
        Err(ApiError::Status {
            status,
            message: error_message(status, &body),
            hint_key: status == StatusCode::UNAUTHORIZED && self.api_key.is_none(),
        })
    }
}

pub fn transport(url: &Url, e: &reqwest::Error) -> ApiError {
    ApiError::Transport {
        url: url.to_string(),
        detail: root_cause(e),
    }
}

/// The innermost cause of an error, which is where the useful words are
/// (e.g. "Connection refused (os error 111)").
fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cur = e;
    while let Some(next) = cur.source() {
        cur = next;
    }
    let text = cur.to_string();
    if text.is_empty() {
        e.to_string()
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client(url: &str) -> Client {
        Client::new(&Conn {
            url: url.into(),
            api_key: None,
            json: false,
        })
        .unwrap()
    }

    #[test]
    fn urls_keep_a_base_path_and_escape_segments_and_params() {
        let c = client("http://127.0.0.1:4318/prefix/");
        let params: Params = vec![("attribute", "a=b c".into()), ("tag", "x&y".into())];
        assert_eq!(
            c.url(&["api", "v1", "traces", "ab/cd"], &params).as_str(),
            "http://127.0.0.1:4318/prefix/api/v1/traces/ab%2Fcd?attribute=a%3Db+c&tag=x%26y"
        );
        let c = client("http://localhost:9");
        assert_eq!(
            c.url(&["api", "v1", "logs"], &vec![]).as_str(),
            "http://localhost:9/api/v1/logs"
        );
    }

    #[test]
    fn a_bad_url_names_the_flag() {
        let err = Client::new(&Conn {
            url: "localhost:4318".into(),
            api_key: None,
            json: false,
        })
        .err()
        .unwrap();
        assert!(err.to_string().starts_with("--url:"), "{err}");
        // an empty SIGHTLINE_URL is the same as none
        assert_eq!(
            client("").url(&["health"], &vec![]).as_str(),
            "http://127.0.0.1:4318/health"
        );
    }

    #[test]
    fn error_messages_come_from_the_api_body() {
        let body = r#"{"status":400,"code":"invalid_argument","message":"limit: must be an integer from 1 to 1000, got \"5000\""}"#;
        assert_eq!(
            error_message(StatusCode::BAD_REQUEST, body),
            "limit: must be an integer from 1 to 1000, got \"5000\""
        );
        assert_eq!(
            error_message(StatusCode::NOT_FOUND, ""),
            "the server answered 404 Not Found"
        );
        assert_eq!(
            error_message(StatusCode::BAD_GATEWAY, "upstream down\n"),
            "the server answered 502 Bad Gateway: upstream down"
        );
        assert_eq!(
            error_message(
                StatusCode::UNAUTHORIZED,
                "\u{8}\u{10}\u{12}\u{5}bad\u{fffd}"
            ),
            "the server answered 401 Unauthorized with 10 bytes that are not text"
        );
    }
}

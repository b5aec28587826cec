//! `sightline tail`: follows the live stream, one line (or JSON line) per event, reconnecting
//! with `Last-Event-ID` after a disconnect so nothing stored in between is missed.

use std::time::Duration;

use super::args::Params;
use super::client::Client;
use super::lines;
use super::sse::{SseEvent, SseParser};

/// Reconnect attempts in a row before giving up.
const MAX_RETRIES: u32 = 8;
/// First pause before reconnecting; it doubles up to `MAX_BACKOFF`.
const FIRST_BACKOFF: Duration = Duration::from_millis(250);
const MAX_BACKOFF: Duration = Duration::from_secs(8);
/// Longer than the server's heartbeat (15 s by default, 60 s at most): silence this long
/// means the connection is dead.
const IDLE_TIMEOUT: Duration = Duration::from_secs(75);

pub struct TailOptions {
    pub json: bool,
    /// Stop after this many events.
    pub count: Option<u64>,
}

/// The pause before reconnect attempt `attempt` (1-based).
pub fn backoff(attempt: u32) -> Duration {
    let factor = 1u32 << attempt.saturating_sub(1).min(16);
    FIRST_BACKOFF.saturating_mul(factor).min(MAX_BACKOFF)
}

/// Follows the stream until Ctrl-C, `count` events, or too many failed reconnects.
pub async fn run(client: &Client, params: &Params, opts: &TailOptions) -> anyhow::Result<()> {
    tokio::select! {
        result = follow(client, params, opts) => result,
        _ = tokio::signal::ctrl_c() => Ok(()),
    }
}

/// How one connection ended.
enum End {
    /// Enough events were printed.
    Done,
    /// Lost; reconnect (the reason is for the user).
    Lost(String),
}

async fn follow(client: &Client, params: &Params, opts: &TailOptions) -> anyhow::Result<()> {
    let mut last_id: Option<String> = None;
    let mut printed = 0u64;
    let mut failures = 0u32;
    let mut connected_once = false;
    loop {
        let reason = match client.stream(params, last_id.as_deref()).await {
            Ok(resp) => {
                if connected_once {
                    eprintln!("reconnected");
                } else {
                    eprintln!(
                        "following {} (Ctrl-C to stop)",
                        client.url(&["api", "v1", "stream"], params)
                    );
                    connected_once = true;
                }
                let mut conn = Connection {
                    resp,
                    parser: SseParser::new(),
                    last_id: &mut last_id,
                    printed: &mut printed,
                    failures: &mut failures,
                    opts,
                };
                match conn.read().await {
                    End::Done => return Ok(()),
                    End::Lost(reason) => reason,
                }
            }
            // A first connection that fails, and answers that retrying cannot fix, end here.
            Err(e) if !connected_once || !e.is_transient() => return Err(e.into()),
            Err(e) => e.to_string(),
        };
        failures += 1;
        if failures > MAX_RETRIES {
            anyhow::bail!("gave up after {MAX_RETRIES} attempts to reconnect: {reason}");
        }
        let pause = backoff(failures);
        eprintln!("{reason}; reconnecting in {}ms", pause.as_millis());
        tokio::time::sleep(pause).await;
    }
}

struct Connection<'a> {
    resp: reqwest::Response,
    parser: SseParser,
    last_id: &'a mut Option<String>,
    printed: &'a mut u64,
    failures: &'a mut u32,
    opts: &'a TailOptions,
}

impl Connection<'_> {
    async fn read(&mut self) -> End {
        loop {
            let chunk = match tokio::time::timeout(IDLE_TIMEOUT, self.resp.chunk()).await {
                Err(_) => return End::Lost(format!("no data for {}s", IDLE_TIMEOUT.as_secs())),
                Ok(Err(e)) => return End::Lost(format!("connection lost ({e})")),
                Ok(Ok(None)) => return End::Lost("the server closed the stream".into()),
                Ok(Ok(Some(chunk))) => chunk,
            };
            *self.failures = 0; // the connection works: reconnects start over
            for event in self.parser.feed(&chunk) {
                if let Some(id) = self.parser.last_id() {
                    *self.last_id = Some(id.to_string());
                }
                if event.event == "dropped" {
                    return End::Lost(format!("the server dropped this stream ({})", event.data));
                }
                if self.show(&event) {
                    *self.printed += 1;
                    if self.opts.count.is_some_and(|n| *self.printed >= n) {
                        return End::Done;
                    }
                }
            }
        }
    }

    /// Prints the event; false for event types that are not shown.
    fn show(&self, event: &SseEvent) -> bool {
        if self.opts.json {
            if !matches!(event.event.as_str(), "observation" | "log") {
                return false;
            }
            println!("{}", json_line(event));
            return true;
        }
        match lines::event_line(&event.event, &event.data) {
            Some(line) => {
                println!("{line}");
                true
            }
            None => false,
        }
    }
}

/// `{"data": {...}, "event": "observation", "id": "1042.77"}`: the event's JSON with its type
/// and id.
pub fn json_line(event: &SseEvent) -> String {
    let data = serde_json::from_str(&event.data)
        .unwrap_or_else(|_| serde_json::Value::String(event.data.clone()));
    let mut line = serde_json::json!({"event": event.event, "data": data});
    if let (Some(id), Some(map)) = (&event.id, line.as_object_mut()) {
        map.insert("id".into(), serde_json::Value::String(id.clone()));
    }
    line.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_is_capped() {
        let ms: Vec<u128> = (1..=8).map(|a| backoff(a).as_millis()).collect();
        assert_eq!(ms, [250, 500, 1000, 2000, 4000, 8000, 8000, 8000]);
        assert_eq!(backoff(40), MAX_BACKOFF);
    }

    #[test]
    fn json_lines_carry_type_and_id() {
        let ev = SseEvent {
            id: Some("12.3".into()),
            event: "log".into(),
            data: r#"{"body":"hi"}"#.into(),
        };
        assert_eq!(
            json_line(&ev),
            r#"{"data":{"body":"hi"},"event":"log","id":"12.3"}"#
        );
    }
}

//! An incremental Server-Sent Events parser (the WHATWG event-stream format): bytes in, events
//! out, whatever way the bytes were split into chunks.

/// One dispatched event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SseEvent {
    /// The last event id seen on the stream when this event was dispatched.
    pub id: Option<String>,
    /// The `event:` field, `message` when absent.
    pub event: String,
    /// The `data:` lines joined with newlines.
    pub data: String,
}

/// Feed it chunks; it returns the events that each chunk completes.
#[derive(Debug, Default)]
pub struct SseParser {
    /// Bytes of a line not yet terminated.
    line: Vec<u8>,
    /// The previous chunk ended in `\r`: a `\n` starting the next one belongs to it.
    skip_lf: bool,
    event: Option<String>,
    data: Option<String>,
    /// The `id:` field most recently read, which becomes `last_id` at the next blank line.
    id_buffer: Option<String>,
    last_id: Option<String>,
}

impl SseParser {
    pub fn new() -> Self {
        Self::default()
    }

    /// The id as of the last dispatched event (for `Last-Event-ID` on reconnect): an id read
    /// for an event that has not ended yet does not count.
    pub fn last_id(&self) -> Option<&str> {
        self.last_id.as_deref()
    }

    pub fn feed(&mut self, chunk: &[u8]) -> Vec<SseEvent> {
        let mut out = Vec::new();
        for &b in chunk {
            if std::mem::take(&mut self.skip_lf) && b == b'\n' {
                continue;
            }
            match b {
                b'\n' | b'\r' => {
                    self.skip_lf = b == b'\r';
                    let line = std::mem::take(&mut self.line);
                    if let Some(event) = self.line_done(&String::from_utf8_lossy(&line)) {
                        out.push(event);
                    }
                }
                _ => self.line.push(b),
            }
        }
        out
    }

    fn line_done(&mut self, line: &str) -> Option<SseEvent> {
        if line.is_empty() {
            return self.dispatch();
        }
        if line.starts_with(':') {
            return None; // a comment, e.g. a heartbeat
        }
        let (field, value) = match line.split_once(':') {
            Some((f, v)) => (f, v.strip_prefix(' ').unwrap_or(v)),
            None => (line, ""),
        };
        match field {
            "event" => self.event = Some(value.to_string()),
            "data" => match &mut self.data {
                Some(d) => {
                    d.push('\n');
                    d.push_str(value);
                }
                None => self.data = Some(value.to_string()),
            },
            "id" if !value.contains('\0') => self.id_buffer = Some(value.to_string()),
            _ => {} // `retry` and unknown fields: nothing to do for this client
        }
        None
    }

    fn dispatch(&mut self) -> Option<SseEvent> {
        self.last_id.clone_from(&self.id_buffer);
        let event = self.event.take();
        let data = self.data.take()?;
        Some(SseEvent {
            id: self.last_id.clone(),
            event: event
                .filter(|e| !e.is_empty())
                .unwrap_or_else(|| "message".to_string()),
            data,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(id: Option<&str>, event: &str, data: &str) -> SseEvent {
        SseEvent {
            id: id.map(str::to_string),
            event: event.to_string(),
            data: data.to_string(),
        }
    }

    /// Feeds `chunks` in order and compares every event produced.
    fn check(chunks: &[&[u8]], expected: &[SseEvent]) {
        let mut p = SseParser::new();
        let got: Vec<SseEvent> = chunks.iter().flat_map(|c| p.feed(c)).collect();
        assert_eq!(got, expected);
    }

    #[test]
    fn parses_the_api_stream() {
        check(
            &[b"id: 1042.77\nevent: observation\ndata: {\"a\":1}\n\nid: 1042.78\nevent: log\ndata: {\"b\":2}\n\n: heartbeat\n\n"],
            &[
                ev(Some("1042.77"), "observation", "{\"a\":1}"),
                ev(Some("1042.78"), "log", "{\"b\":2}"),
            ],
        );
    }

    #[test]
    fn joins_multi_line_data_with_newlines() {
        check(
            &[b"data: one\ndata:two\ndata:  three\n\n"],
            &[ev(None, "message", "one\ntwo\n three")],
        );
    }

    #[test]
    fn comments_and_unknown_fields_are_ignored() {
        check(
            &[b": hello\nretry: 10\nfoo: bar\ndata: x\n: mid comment\n\n: only a comment\n\n"],
            &[ev(None, "message", "x")],
        );
    }

    #[test]
    fn an_event_without_data_is_not_dispatched_but_its_id_is_kept() {
        let mut p = SseParser::new();
        assert_eq!(p.feed(b"id: 7\nevent: log\n\n"), vec![]);
        assert_eq!(p.last_id(), Some("7"));
        // the id persists to later events, and the event type does not
        assert_eq!(p.feed(b"data: y\n\n"), vec![ev(Some("7"), "message", "y")]);
    }

    #[test]
    fn events_split_across_chunks_at_every_byte() {
        let stream = b"id: 5.1\r\nevent: observation\r\ndata: {\"name\":\"\xc3\xa9t\xc3\xa9\"}\r\n\r\nid: 5.2\revent: log\rdata: z\r\r";
        let expected = vec![
            ev(Some("5.1"), "observation", "{\"name\":\"été\"}"),
            ev(Some("5.2"), "log", "z"),
        ];
        for split in 0..=stream.len() {
            let (a, b) = stream.split_at(split);
            check(&[a, b], &expected);
        }
        let bytes: Vec<&[u8]> = stream.chunks(1).collect();
        check(&bytes, &expected);
    }

    #[test]
    fn an_unfinished_event_is_held_until_its_blank_line() {
        let mut p = SseParser::new();
        assert_eq!(
            p.feed(b"id: 8\ndata: first\n\nid: 9\ndata: part"),
            vec![ev(Some("8"), "message", "first")]
        );
        assert_eq!(
            p.last_id(),
            Some("8"),
            "the unfinished event's id is not yet the last id"
        );
        assert_eq!(p.feed(b"ial\n"), vec![]);
        assert_eq!(p.feed(b"\n"), vec![ev(Some("9"), "message", "partial")]);
    }

    #[test]
    fn a_field_without_colon_has_an_empty_value() {
        check(&[b"data\n\n"], &[ev(None, "message", "")]);
    }
}

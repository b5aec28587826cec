//! Server-sent events as bytes: a splitter that hands out whole events (each ending with a
//! blank line) as they complete across arbitrary chunk boundaries, and readers for an event's
//! `event:` and `data:` fields.

use bytes::{Bytes, BytesMut};

/// Collects chunks and hands out the complete events in them.
#[derive(Debug, Default)]
pub struct Frames {
    buf: BytesMut,
}

/// Where the blank line ending the first event in `buf` ends.
fn event_end(buf: &[u8]) -> Option<usize> {
    let mut i = 0;
    while i + 1 < buf.len() {
        if buf[i] == b'\n' {
            match buf[i + 1] {
                b'\n' => return Some(i + 2),
                b'\r' if buf.get(i + 2) == Some(&b'\n') => return Some(i + 3),
                _ => {}
            }
        }
        i += 1;
    }
    None
}

impl Frames {
    /// Adds `chunk`; returns the events it completed, each with its terminating blank line.
    pub fn push(&mut self, chunk: &[u8]) -> Vec<Bytes> {
        self.buf.extend_from_slice(chunk);
        let mut out = Vec::new();
        while let Some(end) = event_end(&self.buf) {
            out.push(self.buf.split_to(end).freeze());
        }
        out
    }

    /// What is left after the last complete event (a stream cut short).
    pub fn rest(&mut self) -> Bytes {
        self.buf.split().freeze()
    }
}

/// Every complete event in `bytes` (a whole stream), in order; a trailing partial one too.
pub fn events(bytes: &[u8]) -> Vec<Bytes> {
    let mut f = Frames::default();
    let mut out = f.push(bytes);
    let rest = f.rest();
    if !rest.iter().all(u8::is_ascii_whitespace) {
        out.push(rest);
    }
    out
}

/// The event's `data:` lines joined with newlines (what a client parses); `None` without any.
pub fn data(event: &[u8]) -> Option<Vec<u8>> {
    let mut out: Option<Vec<u8>> = None;
    for line in event.split(|b| *b == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if let Some(rest) = line.strip_prefix(b"data:") {
            let value = rest.strip_prefix(b" ").unwrap_or(rest);
            match out.as_mut() {
                Some(v) => {
                    v.push(b'\n');
                    v.extend_from_slice(value);
                }
                None => out = Some(value.to_vec()),
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_come_out_whole_whatever_the_chunks() {
        let stream = b"event: a\ndata: {\"x\":1}\n\ndata: two\r\n\r\ndata: [DONE]\n\n";
        for split in 1..stream.len() {
            let mut f = Frames::default();
            let mut got = f.push(&stream[..split]);
            got.extend(f.push(&stream[split..]));
            assert_eq!(got.concat(), stream.to_vec(), "split at {split}");
            assert_eq!(got.len(), 3, "split at {split}");
            assert!(f.rest().is_empty());
        }
        let got = events(b"data: a\n\ndata: cut");
        assert_eq!(got.len(), 2);
        assert_eq!(data(&got[0]).unwrap(), b"a");
        assert_eq!(data(&got[1]).unwrap(), b"cut");
        assert_eq!(data(b"event: ping\ndata:x\ndata: y\n\n").unwrap(), b"x\ny");
        assert_eq!(data(b": comment\n\n"), None);
    }
}

//! The events of `/stream` (Server-Sent Events): each `event:` name with the JSON its `data:`
//! line carries. Event ids are feed positions, `"<observations>.<logs>"`.

use serde::{Deserialize, Serialize};

use super::{Log, Observation};

/// An event with its data (boxed, so a `dropped` event is not the size of an observation).
#[derive(Serialize, Debug, Clone)]
#[serde(untagged)]
pub enum StreamEvent {
    /// `observation`: an observation as stored (without payloads).
    Observation(Box<Observation>),
    /// `log`: a log record.
    Log(Box<Log>),
    /// `dropped`: the last event; the server closes the stream after it.
    Dropped(Dropped),
}

/// Why the server dropped the stream, and the id to resume from with `Last-Event-ID`.
#[derive(Serialize, Deserialize, Debug, Clone, Default)]
#[serde(default)]
pub struct Dropped {
    pub reason: String,
    pub last_event_id: String,
}

impl StreamEvent {
    /// The `event:` name.
    pub fn name(&self) -> &'static str {
        match self {
            StreamEvent::Observation(_) => "observation",
            StreamEvent::Log(_) => "log",
            StreamEvent::Dropped(_) => "dropped",
        }
    }

    /// The `data:` line: the event as one line of JSON.
    pub fn data(&self) -> String {
        // The shapes have string keys and finite numbers only: serializing cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }

    /// The event named `event` with `data`; `None` for a name this version does not know.
    pub fn parse(event: &str, data: &str) -> Option<serde_json::Result<StreamEvent>> {
        Some(match event {
            "observation" => serde_json::from_str(data).map(StreamEvent::Observation),
            "log" => serde_json::from_str(data).map(StreamEvent::Log),
            "dropped" => serde_json::from_str(data).map(StreamEvent::Dropped),
            _ => return None,
        })
    }
}

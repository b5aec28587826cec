//! Realistic agent traffic as OTLP: traces of an agent root with llm and tool steps.
//!
//! Everything is derived from one seed, so a run is reproducible byte for byte: the same seed
//! and start time give the same requests. Each trace is an `invoke_agent` root with 2-4 `chat`
//! spans and 1-2 `execute_tool` spans nested inside it, GenAI semantic-convention attributes
//! (new names), message payloads of a few hundred bytes, and about 3% failures carrying an
//! `exception` event. The caller decides timing: traces start at the generator's clock, which
//! drifts forward a little per trace and can be moved with [`TrafficGen::set_now`].
//!
//! Beside it: [`logs`], the logs these agents write; [`swarm`], the demo's multi-agent traces;
//! [`wire`], encoded requests whose ids are re-stamped per send.

mod agents;
mod catalog;
pub mod logs;
pub mod swarm;
mod text;
mod trace;
pub mod wire;

#[cfg(test)]
mod swarm_tests;
#[cfg(test)]
mod tests;

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{
    any_value::Value, AnyValue, InstrumentationScope, KeyValue,
};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use catalog::{SERVICES, TENANTS};

/// The instrumentation scope every generated span is reported under.
pub const SCOPE_NAME: &str = "sightline.loadgen";

/// Share of traces that fail (an llm or tool error, propagated to the root).
pub const ERROR_RATE: f64 = 0.03;

/// At most this many conversations are open at once; new traces join one or start another.
const MAX_OPEN_SESSIONS: usize = 24;

/// A service deployed for one tenant: one OTLP resource.
struct Deployment {
    service: usize,
    resource: Resource,
}

/// A conversation spanning one or more traces of the same agent and user.
struct Session {
    deployment: usize,
    /// `None` for one-shot requests that carry no conversation id.
    conversation_id: Option<String>,
    user_id: String,
    turns_left: u32,
}

/// Generates agent traces deterministically from a seed.
pub struct TrafficGen {
    rng: StdRng,
    now_ns: u64,
    deployments: Vec<Deployment>,
    sessions: Vec<Session>,
}

impl TrafficGen {
    /// A generator whose first trace starts at `now_ns` (UTC nanoseconds).
    pub fn new(seed: u64, now_ns: u64) -> Self {
        let mut deployments = Vec::new();
        for (i, service) in SERVICES.iter().enumerate() {
            // Each service runs for two of the tenants: a few tenants, uneven traffic.
            for tenant in [TENANTS[i % TENANTS.len()], TENANTS[(i + 1) % TENANTS.len()]] {
                let resource = Resource {
                    attributes: vec![
                        kv_str("service.name", service.name),
                        kv_str("service.version", service.version),
                        kv_str("tenant.id", tenant),
                        kv_str("deployment.environment.name", "production"),
                        kv_str("telemetry.sdk.name", "opentelemetry"),
                        kv_str("telemetry.sdk.language", "python"),
                    ],
                    ..Default::default()
                };
                deployments.push(Deployment {
                    service: i,
                    resource,
                });
            }
        }
        Self {
            rng: StdRng::seed_from_u64(seed),
            now_ns,
            deployments,
            sessions: Vec::new(),
        }
    }

    /// Moves the clock: the next trace starts at `now_ns`.
    #[cfg_attr(
        not(test),
        allow(dead_code, reason = "for callers that pace traces in real time")
    )]
    pub fn set_now(&mut self, now_ns: u64) {
        self.now_ns = now_ns;
    }

    /// The spans of the next trace (children first, the root last, as SDKs export them).
    #[cfg_attr(
        not(test),
        allow(dead_code, reason = "for callers that send trace by trace")
    )]
    pub fn next_trace(&mut self) -> Vec<Span> {
        self.next_trace_in_deployment().1
    }

    /// The next trace with the resource (service and tenant) that emitted it.
    #[cfg_attr(
        not(test),
        allow(dead_code, reason = "for callers that send trace by trace")
    )]
    pub fn next_trace_with_resource(&mut self) -> (Resource, Vec<Span>) {
        let (deployment, spans) = self.next_trace_in_deployment();
        (self.deployments[deployment].resource.clone(), spans)
    }

    /// An export request of whole traces, at least `spans_target` spans (at least one trace),
    /// with one `ResourceSpans` per emitting service and tenant. Returns it with its span count.
    pub fn request(&mut self, spans_target: usize) -> (ExportTraceServiceRequest, usize) {
        let mut by_deployment: Vec<Vec<Span>> = vec![Vec::new(); self.deployments.len()];
        let mut count = 0;
        while count < spans_target.max(1) {
            let (deployment, spans) = self.next_trace_in_deployment();
            count += spans.len();
            by_deployment[deployment].extend(spans);
        }
        let scope = InstrumentationScope {
            name: SCOPE_NAME.to_string(),
            version: env!("CARGO_PKG_VERSION").to_string(),
            ..Default::default()
        };
        let resource_spans = by_deployment
            .into_iter()
            .zip(&self.deployments)
            .filter(|(spans, _)| !spans.is_empty())
            .map(|(spans, deployment)| ResourceSpans {
                resource: Some(deployment.resource.clone()),
                scope_spans: vec![ScopeSpans {
                    scope: Some(scope.clone()),
                    spans,
                    schema_url: String::new(),
                }],
                schema_url: String::new(),
            })
            .collect();
        (ExportTraceServiceRequest { resource_spans }, count)
    }

    fn next_trace_in_deployment(&mut self) -> (usize, Vec<Span>) {
        let session = self.pick_session();
        let deployment = self.sessions[session].deployment;
        let ctx = trace::TraceContext {
            start_ns: self.now_ns,
            service: &SERVICES[self.deployments[deployment].service],
            conversation_id: self.sessions[session].conversation_id.as_deref(),
            user_id: &self.sessions[session].user_id,
        };
        let spans = trace::generate(&mut self.rng, &ctx);
        self.sessions[session].turns_left -= 1;
        if self.sessions[session].turns_left == 0 {
            self.sessions.swap_remove(session);
        }
        // Traces of a busy fleet start a few milliseconds apart.
        self.now_ns += self.rng.random_range(1_000_000..20_000_000);
        (deployment, spans)
    }

    /// Joins an open conversation or opens a new one; returns its index.
    fn pick_session(&mut self) -> usize {
        let open_new = self.sessions.len() < MAX_OPEN_SESSIONS / 4
            || (self.sessions.len() < MAX_OPEN_SESSIONS && self.rng.random_bool(0.3));
        if !open_new {
            return self.rng.random_range(0..self.sessions.len());
        }
        let deployment = self.rng.random_range(0..self.deployments.len());
        let turns = self.rng.random_range(1..=6);
        let conversation_id = (turns > 1 || self.rng.random_bool(0.5))
            .then(|| format!("conv_{:016x}", self.rng.random::<u64>()));
        let user_id = format!("user-{:05}", self.rng.random_range(0..5_000));
        self.sessions.push(Session {
            deployment,
            conversation_id,
            user_id,
            turns_left: turns,
        });
        self.sessions.len() - 1
    }
}

/// A string attribute of a generated span.
pub(crate) fn attr<'a>(span: &'a Span, key: &str) -> Option<&'a str> {
    span.attributes
        .iter()
        .find(|kv| kv.key == key)
        .and_then(|kv| match kv.value.as_ref()?.value.as_ref()? {
            Value::StringValue(s) => Some(s.as_str()),
            _ => None,
        })
}

/// Whether a generated span ended in error.
pub(crate) fn failed(span: &Span) -> bool {
    span.status.as_ref().is_some_and(|s| s.code == 2)
}

fn kv(key: &str, value: Value) -> KeyValue {
    KeyValue {
        key: key.to_string(),
        value: Some(AnyValue { value: Some(value) }),
        ..Default::default()
    }
}

fn kv_str(key: &str, value: impl Into<String>) -> KeyValue {
    kv(key, Value::StringValue(value.into()))
}

fn kv_int(key: &str, value: i64) -> KeyValue {
    kv(key, Value::IntValue(value))
}

fn kv_f64(key: &str, value: f64) -> KeyValue {
    kv(key, Value::DoubleValue(value))
}

fn kv_str_array(key: &str, values: &[&str]) -> KeyValue {
    use opentelemetry_proto::tonic::common::v1::ArrayValue;
    let values = values
        .iter()
        .map(|v| AnyValue {
            value: Some(Value::StringValue((*v).to_string())),
        })
        .collect();
    kv(key, Value::ArrayValue(ArrayValue { values }))
}

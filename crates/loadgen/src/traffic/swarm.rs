//! Multi-agent traces for `sightline demo`: an orchestrator delegating to worker agents, llm
//! calls across providers, tool calls, retries, failures, sessions, and the agents' logs.
//!
//! Deterministic for a seed. In every block of ten traces one fails as a whole (a worker's
//! tool or llm call fails and the orchestrator gives up) and three contain a retried llm call
//! (a failed attempt with an `exception` event, then a successful one), so even a short run
//! shows every case. Conversations span two to five traces of one user.

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{
    any_value::Value, AnyValue, InstrumentationScope, KeyValue,
};
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{
    span, status, ResourceSpans, ScopeSpans, Span, Status,
};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value as Json};

use super::agents::{Agent, ModelRef, APPS, ORCHESTRATOR, TENANTS, TRANSIENT, WORKERS};
use super::catalog::{Failure, FAILURES, TOOLS};
use super::trace::{fail, log_uniform, random_id, tool_io, MS};
use super::{kv_int, kv_str, kv_str_array, text};

/// The instrumentation scope of the demo's spans and logs.
pub const SCOPE_NAME: &str = "sightline.demo";

/// Traces are planned in blocks: one failure and [`RETRIES_PER_BLOCK`] retries per block.
pub const BLOCK: u64 = 10;
pub const RETRIES_PER_BLOCK: usize = 3;
const MAX_OPEN_SESSIONS: usize = 4;

/// One generated trace with the resource that emitted it and the logs written during it.
pub struct SwarmTrace {
    pub resource: Resource,
    pub spans: Vec<Span>,
    pub logs: Vec<LogRecord>,
}

struct Session {
    deployment: usize,
    id: String,
    user_id: String,
    turns_left: u32,
}

/// Generates multi-agent traces deterministically from a seed.
pub struct SwarmGen {
    rng: StdRng,
    /// (app index, resource) per app and tenant.
    deployments: Vec<(usize, Resource)>,
    sessions: Vec<Session>,
    count: u64,
    fail_at: u64,
    retry_at: Vec<u64>,
}

impl SwarmGen {
    pub fn new(seed: u64) -> Self {
        let mut deployments = Vec::new();
        for (i, app) in APPS.iter().enumerate() {
            for tenant in [TENANTS[i % TENANTS.len()], TENANTS[(i + 1) % TENANTS.len()]] {
                let resource = Resource {
                    attributes: vec![
                        kv_str("service.name", app.service),
                        kv_str("service.version", app.version),
                        kv_str("tenant.id", tenant),
                        kv_str("deployment.environment.name", "production"),
                        kv_str("telemetry.sdk.name", "opentelemetry"),
                        kv_str("telemetry.sdk.language", "python"),
                    ],
                    ..Default::default()
                };
                deployments.push((i, resource));
            }
        }
        Self {
            rng: StdRng::seed_from_u64(seed),
            deployments,
            sessions: Vec::new(),
            count: 0,
            fail_at: 0,
            retry_at: Vec::new(),
        }
    }

    /// The next trace, timed so that it ends at `end_ns` (UTC nanoseconds).
    pub fn next_trace(&mut self, end_ns: u64) -> SwarmTrace {
        let position = self.count % BLOCK;
        if position == 0 {
            self.plan_block();
        }
        self.count += 1;
        let fails = position == self.fail_at;
        let retries = self.retry_at.contains(&position);
        let session = self.pick_session();
        let (app, resource) = &self.deployments[self.sessions[session].deployment];
        let resource = resource.clone();
        let app = &APPS[*app];
        let session_id = self.sessions[session].id.clone();
        let user_id = self.sessions[session].user_id.clone();
        self.sessions[session].turns_left -= 1;
        if self.sessions[session].turns_left == 0 {
            self.sessions.swap_remove(session);
        }

        let mut b = Builder {
            rng: &mut self.rng,
            trace_id: [0; 16],
            spans: Vec::new(),
            logs: Vec::new(),
            session_id,
            clock: end_ns,
        };
        b.trace_id = random_id::<16>(b.rng);
        let workers = pick_workers(b.rng, app.workers);
        let root_end = b.run(&workers, &user_id, fails, retries);
        // Built starting at `end_ns`; move it back so that it ends there.
        let shift = root_end - end_ns;
        for s in &mut b.spans {
            s.start_time_unix_nano -= shift;
            s.end_time_unix_nano -= shift;
            s.events.iter_mut().for_each(|e| e.time_unix_nano -= shift);
        }
        for l in &mut b.logs {
            l.time_unix_nano -= shift;
            l.observed_time_unix_nano = l.time_unix_nano;
        }
        SwarmTrace {
            resource,
            spans: b.spans,
            logs: b.logs,
        }
    }

    /// Places this block's failing trace and retried traces.
    fn plan_block(&mut self) {
        self.fail_at = self.rng.random_range(0..BLOCK);
        let mut others: Vec<u64> = (0..BLOCK).filter(|p| *p != self.fail_at).collect();
        self.retry_at.clear();
        for _ in 0..RETRIES_PER_BLOCK {
            let i = self.rng.random_range(0..others.len());
            self.retry_at.push(others.swap_remove(i));
        }
    }

    /// Joins an open conversation or opens a new one; returns its index.
    fn pick_session(&mut self) -> usize {
        let open_new = self.sessions.len() < 2
            || (self.sessions.len() < MAX_OPEN_SESSIONS && self.rng.random_bool(0.25));
        if !open_new {
            return self.rng.random_range(0..self.sessions.len());
        }
        self.sessions.push(Session {
            deployment: self.rng.random_range(0..self.deployments.len()),
            id: format!("conv_{:012x}", self.rng.random::<u64>() >> 16),
            user_id: format!("user-{:04}", self.rng.random_range(0..500)),
            turns_left: self.rng.random_range(2..=5),
        });
        self.sessions.len() - 1
    }
}

/// One to three of the app's workers, in the app's order.
fn pick_workers(rng: &mut StdRng, workers: &[usize]) -> Vec<&'static Agent> {
    let n = rng.random_range(1..=workers.len());
    let mut chosen: Vec<usize> = workers.to_vec();
    while chosen.len() > n {
        chosen.remove(rng.random_range(0..chosen.len()));
    }
    chosen.into_iter().map(|w| &WORKERS[w]).collect()
}

/// Log severities: (number, text).
const DEBUG: (i32, &str) = (5, "DEBUG");
const INFO: (i32, &str) = (9, "INFO");
const WARN: (i32, &str) = (13, "WARN");
const ERROR: (i32, &str) = (17, "ERROR");

/// What a worker produced: its answer, or the failure that stopped it.
type WorkerResult = Result<String, &'static Failure>;

/// Builds one trace: spans are pushed as they end (children before parents).
struct Builder<'a> {
    rng: &'a mut StdRng,
    trace_id: [u8; 16],
    spans: Vec<Span>,
    logs: Vec<LogRecord>,
    session_id: String,
    clock: u64,
}

impl Builder<'_> {
    /// The whole trace; returns the root's end time.
    fn run(
        &mut self,
        workers: &[&'static Agent],
        user_id: &str,
        fails: bool,
        retries: bool,
    ) -> u64 {
        let root_id = random_id::<8>(self.rng);
        let start = self.clock;
        let ask_len = self.rng.random_range(120..360);
        let ask = text::user_text(self.rng, ask_len);
        let orchestrator_model = pick_model(self.rng, &ORCHESTRATOR);
        self.tick(MS, 4 * MS);
        self.log(
            root_id,
            INFO,
            "orchestrator",
            format!(
                "received a request from {user_id}: {}",
                first_sentence(&ask)
            ),
            vec![kv_str("user.id", user_id)],
        );

        // Plan, then delegate.
        let names: Vec<&str> = workers.iter().map(|w| w.name).collect();
        let plan = format!(
            "Plan: {}. {}",
            names
                .iter()
                .enumerate()
                .map(|(i, n)| format!("{}) {n}: {}", i + 1, text::query(self.rng)))
                .collect::<Vec<_>>()
                .join("; "),
            text::assistant_text(self.rng, 60)
        );
        let input = messages(&ORCHESTRATOR, &[("user", &ask)]);
        self.llm(
            root_id,
            &ORCHESTRATOR,
            orchestrator_model,
            input,
            Some(plan),
            None,
        );
        self.log(
            root_id,
            INFO,
            "orchestrator",
            format!("delegating to {}", names.join(", ")),
            vec![],
        );

        // The retried call and the failing worker, when this trace has them.
        let retry_worker = retries.then(|| self.rng.random_range(0..workers.len()));
        let fail_worker = fails.then_some(workers.len() - 1);
        let mut findings = Vec::new();
        let mut failure = None;
        for (i, worker) in workers.iter().enumerate() {
            let subtask = text::query(self.rng);
            match self.worker(
                root_id,
                worker,
                &subtask,
                retry_worker == Some(i),
                fail_worker == Some(i),
            ) {
                Ok(result) => findings.push(format!("{}: {result}", worker.name)),
                Err(f) => {
                    failure = Some((worker.name, f));
                    break;
                }
            }
        }

        let mut root = Span {
            trace_id: self.trace_id.to_vec(),
            span_id: root_id.to_vec(),
            flags: 1,
            name: "invoke_agent orchestrator".to_string(),
            kind: span::SpanKind::Server as i32,
            start_time_unix_nano: start,
            attributes: vec![
                kv_str("gen_ai.operation.name", "invoke_agent"),
                kv_str("gen_ai.agent.name", ORCHESTRATOR.name),
                kv_str("gen_ai.agent.description", ORCHESTRATOR.description),
                kv_str("gen_ai.conversation.id", self.session_id.clone()),
                kv_str("user.id", user_id),
                kv_str(
                    "gen_ai.input.messages",
                    json!([{"role": "user", "parts": [{"type": "text", "content": ask}]}])
                        .to_string(),
                ),
            ],
            ..Default::default()
        };
        match failure {
            None => {
                let summary = findings.join("\n");
                let input = messages(&ORCHESTRATOR, &[("user", &ask), ("user", &summary)]);
                let answer_len = self.rng.random_range(200..500);
                let answer = text::assistant_text(self.rng, answer_len);
                self.llm(
                    root_id,
                    &ORCHESTRATOR,
                    orchestrator_model,
                    input,
                    Some(answer.clone()),
                    None,
                );
                root.attributes.push(kv_str(
                    "gen_ai.output.messages",
                    json!([{"role": "assistant", "parts": [{"type": "text", "content": answer}], "finish_reason": "stop"}]).to_string(),
                ));
                self.tick(MS, 3 * MS);
                let took = (self.clock - start) as f64 / 1e9;
                self.log(
                    root_id,
                    INFO,
                    "orchestrator",
                    format!("answered in {took:.1}s after {} delegations", workers.len()),
                    vec![],
                );
            }
            Some((worker, f)) => {
                let message = format!("subtask of {worker} failed: {}", f.message);
                root.attributes.push(kv_str("error.type", f.error_type));
                root.status = Some(Status {
                    message: message.clone(),
                    code: status::StatusCode::Error as i32,
                });
                self.tick(MS, 3 * MS);
                self.log(
                    root_id,
                    ERROR,
                    "orchestrator",
                    format!("giving up on the request: {message}"),
                    vec![kv_str("error.type", f.error_type)],
                );
            }
        }
        self.tick(MS / 2, 2 * MS);
        root.end_time_unix_nano = self.clock;
        self.spans.push(root);
        self.clock
    }

    /// One worker agent's span: llm calls and tool calls until it answers or fails.
    fn worker(
        &mut self,
        parent: [u8; 8],
        agent: &'static Agent,
        subtask: &str,
        retry: bool,
        fails: bool,
    ) -> WorkerResult {
        let span_id = random_id::<8>(self.rng);
        self.tick(MS, 10 * MS);
        let start = self.clock;
        self.log(
            span_id,
            INFO,
            agent.name,
            format!("{} started: {subtask}", agent.name),
            vec![],
        );
        let model = pick_model(self.rng, agent);
        let rounds = if agent.tools.is_empty() {
            0
        } else {
            self.rng.random_range(1..=2)
        };
        // Where this worker fails: a tool call (when it has tools, half the time) or an llm call.
        let fail_tool = fails && rounds > 0 && self.rng.random_bool(0.5);
        let fail_llm = fails && !fail_tool;
        let llm_failures: Vec<&'static Failure> = FAILURES.iter().filter(|f| !f.on_tool).collect();
        let tool_failures: Vec<&'static Failure> = FAILURES.iter().filter(|f| f.on_tool).collect();

        let mut history: Vec<(&str, String)> = vec![("user", subtask.to_string())];
        let mut outcome: WorkerResult = Ok(String::new());
        for round in 0..=rounds {
            let last = round == rounds;
            let input = messages(
                agent,
                &history
                    .iter()
                    .map(|(r, c)| (*r, c.as_str()))
                    .collect::<Vec<_>>(),
            );
            if retry && round == 0 {
                let (error_type, message) = TRANSIENT[self.rng.random_range(0..TRANSIENT.len())];
                let transient = Failure {
                    on_tool: false,
                    error_type,
                    message,
                };
                let failed = self.llm(span_id, agent, model, input.clone(), None, Some(&transient));
                let wait = self.rng.random_range(500..3_000);
                self.log(failed, WARN, agent.name, format!("chat {} failed with {error_type} ({message}); retrying in {:.1}s (attempt 2 of 3)", model.request, wait as f64 / 1000.0), vec![kv_str("error.type", error_type), kv_int("retry.attempt", 2)]);
                self.clock += wait * MS;
            }
            if fail_llm && last {
                let f = llm_failures[self.rng.random_range(0..llm_failures.len())];
                let failed = self.llm(span_id, agent, model, input, None, Some(f));
                self.log(
                    failed,
                    ERROR,
                    agent.name,
                    format!(
                        "chat {} failed: {}: {}",
                        model.request, f.error_type, f.message
                    ),
                    vec![kv_str("error.type", f.error_type)],
                );
                outcome = Err(f);
                break;
            }
            if last {
                let len = self.rng.random_range(120..360);
                let answer = text::assistant_text(self.rng, len);
                self.llm(span_id, agent, model, input, Some(answer.clone()), None);
                outcome = Ok(answer);
                break;
            }
            // Ask for a tool, then run it.
            let tool = agent.tools[self.rng.random_range(0..agent.tools.len())];
            let (arguments, result) = tool_io(self.rng, TOOLS[tool].kind);
            let call_id = format!("call_{:016x}", self.rng.random::<u64>());
            let call = json!({"type": "tool_call", "id": call_id, "name": TOOLS[tool].name, "arguments": arguments});
            self.llm_tool_call(span_id, agent, model, input, call.clone());
            let tool_fails = fail_tool && round == rounds - 1;
            let failure =
                tool_fails.then(|| tool_failures[self.rng.random_range(0..tool_failures.len())]);
            self.tool(span_id, agent, tool, &call_id, &arguments, &result, failure);
            if let Some(f) = failure {
                outcome = Err(f);
                break;
            }
            history.push(("assistant", call.to_string()));
            history.push(("tool", result.to_string()));
        }

        let mut worker = Span {
            trace_id: self.trace_id.to_vec(),
            span_id: span_id.to_vec(),
            parent_span_id: parent.to_vec(),
            flags: 1,
            name: format!("invoke_agent {}", agent.name),
            kind: span::SpanKind::Internal as i32,
            start_time_unix_nano: start,
            attributes: vec![
                kv_str("gen_ai.operation.name", "invoke_agent"),
                kv_str("gen_ai.agent.name", agent.name),
                kv_str("gen_ai.agent.id", format!("agt_{}", agent.name)),
                kv_str("gen_ai.agent.description", agent.description),
                kv_str("gen_ai.conversation.id", self.session_id.clone()),
                kv_str(
                    "gen_ai.input.messages",
                    json!([{"role": "user", "parts": [{"type": "text", "content": subtask}]}])
                        .to_string(),
                ),
            ],
            ..Default::default()
        };
        match &outcome {
            Ok(answer) => {
                worker.attributes.push(kv_str(
                    "gen_ai.output.messages",
                    json!([{"role": "assistant", "parts": [{"type": "text", "content": answer}], "finish_reason": "stop"}]).to_string(),
                ));
                self.tick(MS / 2, 2 * MS);
                self.log(
                    span_id,
                    INFO,
                    agent.name,
                    format!(
                        "{} finished in {:.1}s",
                        agent.name,
                        (self.clock - start) as f64 / 1e9
                    ),
                    vec![],
                );
            }
            Err(f) => {
                worker.attributes.push(kv_str("error.type", f.error_type));
                worker.status = Some(Status {
                    message: f.message.to_string(),
                    code: status::StatusCode::Error as i32,
                });
                self.tick(MS / 2, 2 * MS);
            }
        }
        worker.end_time_unix_nano = self.clock;
        self.spans.push(worker);
        outcome
    }

    /// An llm call answering `output` (text), or failing with `failure`; returns its span id.
    fn llm(
        &mut self,
        parent: [u8; 8],
        agent: &Agent,
        model: &ModelRef,
        input: String,
        output: Option<String>,
        failure: Option<&Failure>,
    ) -> [u8; 8] {
        let parts = output.map(|text| (json!([{"type": "text", "content": text}]), "stop"));
        self.chat(parent, agent, model, input, parts, failure)
    }

    /// An llm call that asks for one tool call.
    fn llm_tool_call(
        &mut self,
        parent: [u8; 8],
        agent: &Agent,
        model: &ModelRef,
        input: String,
        call: Json,
    ) -> [u8; 8] {
        let len = self.rng.random_range(40..140);
        let thought = text::assistant_text(self.rng, len);
        let parts = json!([{"type": "text", "content": thought}, call]);
        self.chat(
            parent,
            agent,
            model,
            input,
            Some((parts, "tool_call")),
            None,
        )
    }

    fn chat(
        &mut self,
        parent: [u8; 8],
        agent: &Agent,
        model: &ModelRef,
        input: String,
        output: Option<(Json, &str)>,
        failure: Option<&Failure>,
    ) -> [u8; 8] {
        let span_id = random_id::<8>(self.rng);
        self.tick(MS / 2, 5 * MS);
        let start = self.clock;
        let mut s = Span {
            trace_id: self.trace_id.to_vec(),
            span_id: span_id.to_vec(),
            parent_span_id: parent.to_vec(),
            flags: 1,
            name: format!("chat {}", model.request),
            kind: span::SpanKind::Client as i32,
            start_time_unix_nano: start,
            ..Default::default()
        };
        let input_tokens = (input.len() / 4) as i64 + self.rng.random_range(200..3_000);
        s.attributes = vec![
            kv_str("gen_ai.operation.name", "chat"),
            kv_str("gen_ai.provider.name", model.provider),
            kv_str("gen_ai.request.model", model.request),
            kv_str("gen_ai.agent.name", agent.name),
            kv_int(
                "gen_ai.request.max_tokens",
                [1024, 2048, 4096][self.rng.random_range(0..3)],
            ),
            kv_str("server.address", model.address),
            kv_str("gen_ai.input.messages", input),
        ];
        let duration = match (output, failure) {
            (Some((parts, finish)), None) => {
                let output =
                    json!([{"role": "assistant", "parts": parts, "finish_reason": finish}])
                        .to_string();
                let output_tokens = (output.len() / 4) as i64 + self.rng.random_range(0..200);
                let cached = if self.rng.random_bool(0.5) {
                    self.rng.random_range(0..=input_tokens * 3 / 4)
                } else {
                    0
                };
                s.attributes.extend([
                    kv_str("gen_ai.response.model", model.response),
                    kv_str(
                        "gen_ai.response.id",
                        format!("resp_{:020x}", self.rng.random::<u128>() >> 48),
                    ),
                    kv_str_array("gen_ai.response.finish_reasons", &[finish]),
                    kv_int("gen_ai.usage.input_tokens", input_tokens),
                    kv_int("gen_ai.usage.output_tokens", output_tokens),
                    kv_int("gen_ai.usage.cache_read.input_tokens", cached),
                    kv_str("gen_ai.output.messages", output),
                ]);
                log_uniform(self.rng, 300 * MS, 4_000 * MS)
            }
            _ => log_uniform(self.rng, 50 * MS, 1_500 * MS),
        };
        self.clock += duration;
        s.end_time_unix_nano = self.clock;
        if let Some(f) = failure {
            fail(self.rng, &mut s, f);
        }
        self.spans.push(s);
        span_id
    }

    #[allow(clippy::too_many_arguments)]
    fn tool(
        &mut self,
        parent: [u8; 8],
        agent: &Agent,
        tool: usize,
        call_id: &str,
        arguments: &Json,
        result: &Json,
        failure: Option<&Failure>,
    ) {
        let span_id = random_id::<8>(self.rng);
        self.tick(MS / 10, 2 * MS);
        let name = TOOLS[tool].name;
        let mut s = Span {
            trace_id: self.trace_id.to_vec(),
            span_id: span_id.to_vec(),
            parent_span_id: parent.to_vec(),
            flags: 1,
            name: format!("execute_tool {name}"),
            kind: span::SpanKind::Internal as i32,
            start_time_unix_nano: self.clock,
            attributes: vec![
                kv_str("gen_ai.operation.name", "execute_tool"),
                kv_str("gen_ai.tool.name", name),
                kv_str("gen_ai.tool.type", "function"),
                kv_str("gen_ai.tool.call.id", call_id),
                kv_str("gen_ai.tool.call.arguments", arguments.to_string()),
                kv_str("gen_ai.agent.name", agent.name),
            ],
            ..Default::default()
        };
        let duration = log_uniform(self.rng, 5 * MS, 800 * MS);
        self.clock += duration;
        s.end_time_unix_nano = self.clock;
        match failure {
            None => {
                s.attributes
                    .push(kv_str("gen_ai.tool.call.result", result.to_string()));
                self.log(
                    span_id,
                    DEBUG,
                    agent.name,
                    format!("tool {name} returned in {} ms", duration / MS),
                    vec![kv_str("gen_ai.tool.name", name)],
                );
            }
            Some(f) => {
                fail(self.rng, &mut s, f);
                self.log(
                    span_id,
                    ERROR,
                    agent.name,
                    format!("tool {name} failed: {}: {}", f.error_type, f.message),
                    vec![
                        kv_str("gen_ai.tool.name", name),
                        kv_str("error.type", f.error_type),
                    ],
                );
            }
        }
        self.spans.push(s);
    }

    /// A log record from `agent` about span `span_id`, at the current time.
    fn log(
        &mut self,
        span_id: [u8; 8],
        (number, text): (i32, &str),
        agent: &str,
        body: String,
        extra: Vec<KeyValue>,
    ) {
        let mut attributes = vec![
            kv_str("gen_ai.agent.name", agent),
            kv_str("session.id", self.session_id.clone()),
        ];
        attributes.extend(extra);
        self.logs.push(LogRecord {
            time_unix_nano: self.clock,
            observed_time_unix_nano: self.clock,
            severity_number: number,
            severity_text: text.to_string(),
            body: Some(AnyValue {
                value: Some(Value::StringValue(body)),
            }),
            attributes,
            flags: 1,
            trace_id: self.trace_id.to_vec(),
            span_id: span_id.to_vec(),
            ..Default::default()
        });
    }

    fn tick(&mut self, lo: u64, hi: u64) {
        self.clock += self.rng.random_range(lo..hi);
    }
}

/// Mostly the agent's first model, sometimes another of its models.
fn pick_model(rng: &mut StdRng, agent: &Agent) -> &'static ModelRef {
    if rng.random_bool(0.6) {
        agent.models[0]
    } else {
        agent.models[rng.random_range(0..agent.models.len())]
    }
}

/// `gen_ai.input.messages`: the agent's system prompt, then `turns` as (role, text).
fn messages(agent: &Agent, turns: &[(&str, &str)]) -> String {
    let mut out = vec![
        json!({"role": "system", "parts": [{"type": "text", "content": agent.system_prompt}]}),
    ];
    out.extend(turns.iter().map(
        |(role, content)| json!({"role": role, "parts": [{"type": "text", "content": content}]}),
    ));
    Json::Array(out).to_string()
}

fn first_sentence(text: &str) -> &str {
    text.find(['.', '?']).map_or(text, |i| &text[..=i])
}

fn scope() -> InstrumentationScope {
    InstrumentationScope {
        name: SCOPE_NAME.to_string(),
        version: env!("CARGO_PKG_VERSION").to_string(),
        ..Default::default()
    }
}

/// One export request holding the spans of `traces`, one `ResourceSpans` per trace.
pub fn traces_request(traces: &[SwarmTrace]) -> ExportTraceServiceRequest {
    let resource_spans = traces
        .iter()
        .map(|t| ResourceSpans {
            resource: Some(t.resource.clone()),
            scope_spans: vec![ScopeSpans {
                scope: Some(scope()),
                spans: t.spans.clone(),
                schema_url: String::new(),
            }],
            schema_url: String::new(),
        })
        .collect();
    ExportTraceServiceRequest { resource_spans }
}

/// One export request holding the logs of `traces`, one `ResourceLogs` per trace.
pub fn logs_request(traces: &[SwarmTrace]) -> ExportLogsServiceRequest {
    let resource_logs = traces
        .iter()
        .map(|t| ResourceLogs {
            resource: Some(t.resource.clone()),
            scope_logs: vec![ScopeLogs {
                scope: Some(scope()),
                log_records: t.logs.clone(),
                schema_url: String::new(),
            }],
            schema_url: String::new(),
        })
        .collect();
    ExportLogsServiceRequest { resource_logs }
}

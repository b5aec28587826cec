//! The fixed cast of the synthetic traffic: providers and their models, agents, tenants, tools.

/// A model as requested and as reported back by the provider.
pub struct Model {
    pub request: &'static str,
    pub response: &'static str,
}

/// A provider (its `gen_ai.provider.name`) with a capable and a fast model.
pub struct Provider {
    pub name: &'static str,
    pub address: &'static str,
    pub models: &'static [Model],
}

pub const PROVIDERS: &[Provider] = &[
    Provider {
        name: "openai",
        address: "api.openai.com",
        models: &[
            Model {
                request: "gpt-4o",
                response: "gpt-4o-2024-08-06",
            },
            Model {
                request: "gpt-4o-mini",
                response: "gpt-4o-mini-2024-07-18",
            },
            Model {
                request: "gpt-4.1",
                response: "gpt-4.1-2025-04-14",
            },
            Model {
                request: "o3-mini",
                response: "o3-mini-2025-01-31",
            },
        ],
    },
    Provider {
        name: "anthropic",
        address: "api.anthropic.com",
        models: &[
            Model {
                request: "claude-sonnet-4-20250514",
                response: "claude-sonnet-4-20250514",
            },
            Model {
                request: "claude-3-5-haiku-latest",
                response: "claude-3-5-haiku-20241022",
            },
            Model {
                request: "claude-opus-4-1",
                response: "claude-opus-4-1-20250805",
            },
        ],
    },
    Provider {
        name: "gcp.vertex_ai",
        address: "us-central1-aiplatform.googleapis.com",
        models: &[
            Model {
                request: "gemini-2.5-pro",
                response: "gemini-2.5-pro",
            },
            Model {
                request: "gemini-2.5-flash",
                response: "gemini-2.5-flash",
            },
        ],
    },
    Provider {
        name: "aws.bedrock",
        address: "bedrock-runtime.us-east-1.amazonaws.com",
        models: &[
            Model {
                request: "anthropic.claude-3-5-sonnet-20240620-v1:0",
                response: "anthropic.claude-3-5-sonnet-20240620-v1:0",
            },
            Model {
                request: "amazon.nova-pro-v1:0",
                response: "amazon.nova-pro-v1:0",
            },
            Model {
                request: "meta.llama3-1-70b-instruct-v1:0",
                response: "meta.llama3-1-70b-instruct-v1:0",
            },
        ],
    },
];

/// A deployed agent: the service that emits its traces and the provider it mostly calls.
pub struct Service {
    pub name: &'static str,
    pub version: &'static str,
    pub agent: &'static str,
    pub system_prompt: &'static str,
    pub provider: usize,
    /// Indexes into [`TOOLS`] this agent may call.
    pub tools: &'static [usize],
}

pub const SERVICES: &[Service] = &[
    Service {
        name: "support-bot",
        version: "2.14.0",
        agent: "support_agent",
        system_prompt: "You are a careful support agent. Answer concisely, cite the records you used, and never invent order numbers.",
        provider: 0,
        tools: &[0, 1, 2, 5],
    },
    Service {
        name: "research-assistant",
        version: "0.9.3",
        agent: "researcher",
        system_prompt: "You are a research assistant. Break the task into steps, call tools when facts are missing, and summarise the findings.",
        provider: 1,
        tools: &[0, 4, 7],
    },
    Service {
        name: "code-reviewer",
        version: "1.3.1",
        agent: "reviewer",
        system_prompt: "You are a coding assistant working in a large repository. Prefer small, reviewable changes and explain the trade-offs.",
        provider: 1,
        tools: &[3, 4, 6],
    },
    Service {
        name: "sales-copilot",
        version: "3.0.2",
        agent: "sales_copilot",
        system_prompt: "You are a sales copilot. Be friendly, stay factual about pricing, and hand off to a human for discounts above ten percent.",
        provider: 2,
        tools: &[2, 5, 7],
    },
    Service {
        name: "incident-triage",
        version: "0.4.0",
        agent: "triage_agent",
        system_prompt: "You are a triage agent for production incidents. Classify severity, gather evidence with tools, and propose next steps.",
        provider: 3,
        tools: &[3, 4, 5, 6],
    },
];

pub const TENANTS: &[&str] = &["acme", "globex", "initech", "umbrella"];

/// A tool an agent can call, with the shape of its arguments.
pub struct Tool {
    pub name: &'static str,
    pub kind: ToolKind,
}

#[derive(Clone, Copy)]
pub enum ToolKind {
    Search,
    Order,
    Customer,
    Sql,
    Fetch,
    Ticket,
    Diff,
    Calc,
}

pub const TOOLS: &[Tool] = &[
    Tool {
        name: "search_docs",
        kind: ToolKind::Search,
    },
    Tool {
        name: "get_order",
        kind: ToolKind::Order,
    },
    Tool {
        name: "lookup_customer",
        kind: ToolKind::Customer,
    },
    Tool {
        name: "run_sql",
        kind: ToolKind::Sql,
    },
    Tool {
        name: "fetch_url",
        kind: ToolKind::Fetch,
    },
    Tool {
        name: "create_ticket",
        kind: ToolKind::Ticket,
    },
    Tool {
        name: "read_diff",
        kind: ToolKind::Diff,
    },
    Tool {
        name: "calculator",
        kind: ToolKind::Calc,
    },
];

/// Failures injected into a small share of traces: where, `error.type`, and a message.
pub struct Failure {
    pub on_tool: bool,
    pub error_type: &'static str,
    pub message: &'static str,
}

pub const FAILURES: &[Failure] = &[
    Failure {
        on_tool: false,
        error_type: "RateLimitError",
        message: "rate limit exceeded: retry after 20s",
    },
    Failure {
        on_tool: false,
        error_type: "APITimeoutError",
        message: "request timed out after 30.0s",
    },
    Failure {
        on_tool: false,
        error_type: "ContextLengthExceeded",
        message: "prompt is too long for the context window",
    },
    Failure {
        on_tool: true,
        error_type: "TimeoutError",
        message: "tool call exceeded its 10s deadline",
    },
    Failure {
        on_tool: true,
        error_type: "PermissionError",
        message: "credentials for the tool backend were rejected",
    },
    Failure {
        on_tool: true,
        error_type: "ValueError",
        message: "tool arguments failed validation: missing field 'id'",
    },
];

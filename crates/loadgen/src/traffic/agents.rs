//! The cast of the multi-agent demo traffic: apps, their orchestrator and worker agents, and
//! the models (across several providers, all in the bundled price table) each agent calls.

/// A model at a provider: `gen_ai.provider.name`, the requested and the reported model.
pub struct ModelRef {
    pub provider: &'static str,
    pub address: &'static str,
    pub request: &'static str,
    pub response: &'static str,
}

const fn model(
    provider: &'static str,
    address: &'static str,
    request: &'static str,
    response: &'static str,
) -> ModelRef {
    ModelRef {
        provider,
        address,
        request,
        response,
    }
}

const OPENAI: &str = "api.openai.com";
const ANTHROPIC: &str = "api.anthropic.com";
const GEMINI: &str = "generativelanguage.googleapis.com";
const MISTRAL: &str = "api.mistral.ai";
const GROQ: &str = "api.groq.com";
const DEEPSEEK: &str = "api.deepseek.com";

pub const GPT_4O: ModelRef = model("openai", OPENAI, "gpt-4o", "gpt-4o-2024-08-06");
pub const GPT_4O_MINI: ModelRef = model("openai", OPENAI, "gpt-4o-mini", "gpt-4o-mini-2024-07-18");
pub const GPT_41: ModelRef = model("openai", OPENAI, "gpt-4.1", "gpt-4.1-2025-04-14");
pub const SONNET_4: ModelRef = model(
    "anthropic",
    ANTHROPIC,
    "claude-sonnet-4-20250514",
    "claude-sonnet-4-20250514",
);
pub const HAIKU_35: ModelRef = model(
    "anthropic",
    ANTHROPIC,
    "claude-3-5-haiku-latest",
    "claude-3-5-haiku-20241022",
);
pub const GEMINI_PRO: ModelRef = model("gcp.gemini", GEMINI, "gemini-2.5-pro", "gemini-2.5-pro");
pub const GEMINI_FLASH: ModelRef =
    model("gcp.gemini", GEMINI, "gemini-2.5-flash", "gemini-2.5-flash");
pub const MISTRAL_LARGE: ModelRef = model(
    "mistral_ai",
    MISTRAL,
    "mistral-large-latest",
    "mistral-large-2411",
);
pub const MISTRAL_SMALL: ModelRef = model(
    "mistral_ai",
    MISTRAL,
    "mistral-small-latest",
    "mistral-small-2503",
);
pub const CODESTRAL: ModelRef = model("mistral_ai", MISTRAL, "codestral-latest", "codestral-2501");
pub const LLAMA_70B: ModelRef = model(
    "groq",
    GROQ,
    "llama-3.3-70b-versatile",
    "llama-3.3-70b-versatile",
);
pub const DEEPSEEK_CHAT: ModelRef = model("deepseek", DEEPSEEK, "deepseek-chat", "deepseek-chat");

/// Every model the demo calls (the unit tests check each one has a bundled price).
#[cfg(test)]
pub const ALL_MODELS: &[&ModelRef] = &[
    &GPT_4O,
    &GPT_4O_MINI,
    &GPT_41,
    &SONNET_4,
    &HAIKU_35,
    &GEMINI_PRO,
    &GEMINI_FLASH,
    &MISTRAL_LARGE,
    &MISTRAL_SMALL,
    &CODESTRAL,
    &LLAMA_70B,
    &DEEPSEEK_CHAT,
];

/// An agent: its name, instructions, the models it may call and the tools (indexes into
/// [`super::catalog::TOOLS`]) it may use.
pub struct Agent {
    pub name: &'static str,
    pub description: &'static str,
    pub system_prompt: &'static str,
    pub models: &'static [&'static ModelRef],
    pub tools: &'static [usize],
}

pub const ORCHESTRATOR: Agent = Agent {
    name: "orchestrator",
    description: "Plans the task, delegates subtasks to specialist agents and writes the answer.",
    system_prompt:
        "You are the orchestrator of a team of agents. Split the request into subtasks, \
                    delegate each to the best specialist, then merge their results into one answer.",
    models: &[&GPT_4O, &SONNET_4, &GPT_41],
    tools: &[],
};

pub const WORKERS: &[Agent] = &[
    Agent {
        name: "researcher",
        description: "Finds facts in docs, tickets and the web.",
        system_prompt: "You are a research agent. Search before answering, cite every source, \
                        and say so when the evidence is thin.",
        models: &[&GEMINI_PRO, &GEMINI_FLASH, &GPT_4O_MINI],
        tools: &[0, 4, 2],
    },
    Agent {
        name: "coder",
        description: "Writes and runs code and queries.",
        system_prompt: "You are a coding agent. Make the smallest change that works, run it, \
                        and report what you verified.",
        models: &[&SONNET_4, &CODESTRAL, &DEEPSEEK_CHAT],
        tools: &[3, 6, 7],
    },
    Agent {
        name: "reviewer",
        description: "Checks the other agents' work for mistakes and risks.",
        system_prompt: "You are a reviewer. Check the proposed answer for factual errors, \
                        security risks and missing steps; approve or request changes.",
        models: &[&GPT_41, &HAIKU_35, &MISTRAL_LARGE],
        tools: &[6],
    },
    Agent {
        name: "triage",
        description: "Classifies incoming requests and looks up the account.",
        system_prompt: "You are a triage agent. Classify the request, find the customer and \
                        their orders, and flag anything urgent.",
        models: &[&MISTRAL_SMALL, &LLAMA_70B, &GPT_4O_MINI],
        tools: &[2, 1, 5],
    },
    Agent {
        name: "writer",
        description: "Drafts the reply to the user.",
        system_prompt: "You are a writer. Turn the team's findings into a clear, friendly reply \
                        of at most three short paragraphs.",
        models: &[&HAIKU_35, &MISTRAL_LARGE, &GEMINI_FLASH],
        tools: &[],
    },
];

/// An application built on the agent team: one service, the workers it delegates to.
pub struct App {
    pub service: &'static str,
    pub version: &'static str,
    /// Indexes into [`WORKERS`].
    pub workers: &'static [usize],
}

pub const APPS: &[App] = &[
    App {
        service: "dev-assistant",
        version: "1.8.0",
        workers: &[0, 1, 2],
    },
    App {
        service: "support-desk",
        version: "2.3.1",
        workers: &[3, 0, 4],
    },
    App {
        service: "data-analyst",
        version: "0.6.2",
        workers: &[0, 1, 4],
    },
];

pub const TENANTS: &[&str] = &["acme", "globex", "initech"];

/// Transient llm failures that a retry gets past: `error.type` and message.
pub const TRANSIENT: &[(&str, &str)] = &[
    ("RateLimitError", "rate limit exceeded: retry after 2s"),
    ("APITimeoutError", "request timed out after 30.0s"),
    (
        "InternalServerError",
        "the model is overloaded, please retry",
    ),
];

//! Token counting for estimated costs: OpenAI's BPE tokenizers (o200k_base for the GPT-4o, 4.1,
//! 5 and o-series families, cl100k_base for GPT-4, GPT-3.5 and the embeddings). Other models get
//! no estimate. Each tokenizer is parsed on first use and kept for the life of the process.

use std::sync::OnceLock;

use sightline_core::cost::TokenCounter;
use tiktoken_rs::CoreBPE;

/// Texts longer than this are not counted (a cost for a megabyte of text is better reported as
/// unknown than stall ingest); bodies are capped well above typical prompts anyway.
const MAX_TEXT_BYTES: usize = 1 << 20;

/// Counts tokens with OpenAI's tokenizers.
#[derive(Debug, Default, Clone, Copy)]
pub struct TiktokenCounter;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Encoding {
    O200k,
    Cl100k,
}

impl Encoding {
    fn name(self) -> &'static str {
        match self {
            Encoding::O200k => "o200k_base",
            Encoding::Cl100k => "cl100k_base",
        }
    }

    fn bpe(self) -> Option<&'static CoreBPE> {
        static O200K: OnceLock<Option<CoreBPE>> = OnceLock::new();
        static CL100K: OnceLock<Option<CoreBPE>> = OnceLock::new();
        let (cell, make): (_, fn() -> Result<CoreBPE, String>) = match self {
            Encoding::O200k => (&O200K, || {
                tiktoken_rs::o200k_base().map_err(|e| e.to_string())
            }),
            Encoding::Cl100k => (&CL100K, || {
                tiktoken_rs::cl100k_base().map_err(|e| e.to_string())
            }),
        };
        cell.get_or_init(|| match make() {
            Ok(bpe) => Some(bpe),
            Err(e) => {
                tracing::error!(tokenizer = self.name(), error = %e, "cannot load tokenizer");
                None
            }
        })
        .as_ref()
    }
}

/// The tokenizer OpenAI uses for `model` (provider prefixes like `openai/` are ignored), when it
/// is an OpenAI model at all.
fn encoding_for(provider: Option<&str>, model: &str) -> Option<Encoding> {
    let provider_ok = provider.is_none_or(|p| {
        let p = p.trim().to_ascii_lowercase();
        p.is_empty() || p == "openai" || p == "azure.ai.openai" || p == "azure"
    });
    if !provider_ok {
        return None;
    }
    let lower = model.trim().to_ascii_lowercase();
    let name = lower.rsplit(['/', ':']).next().unwrap_or(&lower);
    let o200k = [
        "gpt-4o",
        "gpt-4.1",
        "gpt-4.5",
        "gpt-5",
        "o1",
        "o3",
        "o4",
        "chatgpt-4o",
    ];
    let cl100k = [
        "gpt-4",
        "gpt-3.5",
        "text-embedding-3",
        "text-embedding-ada-002",
    ];
    let starts = |prefixes: &[&str]| prefixes.iter().any(|p| name.starts_with(p));
    if starts(&o200k) {
        Some(Encoding::O200k)
    } else if starts(&cl100k) {
        Some(Encoding::Cl100k)
    } else {
        None
    }
}

impl TokenCounter for TiktokenCounter {
    fn count(&self, provider: Option<&str>, model: &str, text: &str) -> Option<(u64, String)> {
        if text.len() > MAX_TEXT_BYTES {
            return None;
        }
        let encoding = encoding_for(provider, model)?;
        let n = encoding.bpe()?.encode_ordinary(text).len();
        Some((n as u64, encoding.name().to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn models_get_their_tokenizer() {
        let cases = [
            (None, "gpt-4o", Some(Encoding::O200k)),
            (
                Some("openai"),
                "gpt-4o-mini-2024-07-18",
                Some(Encoding::O200k),
            ),
            (None, "openai/gpt-4.1", Some(Encoding::O200k)),
            (Some("openai"), "o3-mini", Some(Encoding::O200k)),
            (Some("openai"), "gpt-4-turbo", Some(Encoding::Cl100k)),
            (None, "gpt-3.5-turbo", Some(Encoding::Cl100k)),
            (Some("anthropic"), "gpt-4o", None),
            (None, "claude-3-5-sonnet", None),
            (Some("openai"), "whisper-1", None),
        ];
        for (provider, model, want) in cases {
            assert_eq!(encoding_for(provider, model), want, "{model}");
        }
    }

    #[test]
    fn known_strings_have_known_token_counts() {
        let c = TiktokenCounter;
        // Counts from OpenAI's reference tokenizer.
        assert_eq!(
            c.count(None, "gpt-4o", "hello world"),
            Some((2, "o200k_base".into()))
        );
        assert_eq!(
            c.count(None, "gpt-4", "hello world"),
            Some((2, "cl100k_base".into()))
        );
        assert_eq!(c.count(None, "gpt-4o", ""), Some((0, "o200k_base".into())));
        assert_eq!(c.count(None, "claude-3-opus", "hello world"), None);
    }
}

//! How a model name as sent becomes the names looked up in the price table: lowercasing,
//! provider and region prefixes, date and version suffixes (the rule model families use too:
//! `crate::model_name`), and `*` globs.

use crate::model_name::strip_suffix;

/// Which rule found a price, in the order they are tried.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum MatchRule {
    /// The name (or an alias) as sent, under the call's provider.
    Exact,
    /// The name as sent, under another provider (the first one in table order).
    ExactAnyProvider,
    /// The name without a provider path (`openai/`), a `provider:` prefix, a Bedrock region
    /// (`us.`) or a Bedrock vendor (`anthropic.`).
    PrefixStripped,
    /// One of the names above without a date suffix (`-2024-08-06`, `-20241022`, `@20241022`),
    /// a Bedrock version suffix (`-v1:0`) or `-latest`: `crate::model_name::strip_suffix`.
    DateStripped,
    /// A `*` glob of an entry matched one of the names above.
    Pattern,
}

/// A name to look up and the rule it stands for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Candidate {
    pub name: String,
    pub rule: MatchRule,
}

/// Bedrock cross-region inference prefixes (`us.anthropic.claude-...`).
const REGIONS: [&str; 9] = [
    "us.", "eu.", "apac.", "ap.", "global.", "jp.", "au.", "ca.", "us-gov.",
];

/// The names to try for `model`, most specific first, each tagged with its rule. The first
/// is the lowercased name itself; none repeats.
pub(crate) fn candidates(model: &str) -> Vec<Candidate> {
    let base = model.trim().to_lowercase();
    let mut out: Vec<Candidate> = Vec::new();
    push(&mut out, base.clone(), MatchRule::Exact);

    // Provider paths, one segment at a time: `together_ai/meta-llama/x` tries `meta-llama/x`
    // and then `x`. Each of those also without a region or vendor prefix.
    let mut stripped = vec![base.clone()];
    let mut rest = base.as_str();
    while let Some((_, tail)) = rest.split_once('/') {
        if tail.is_empty() {
            break;
        }
        stripped.push(tail.to_string());
        rest = tail;
    }
    let mut i = 0;
    while i < stripped.len() {
        let name = stripped[i].clone();
        for next in [
            strip_colon_provider(&name),
            strip_region(&name),
            strip_vendor(&name),
        ]
        .into_iter()
        .flatten()
        {
            if !stripped.contains(&next) {
                stripped.push(next);
            }
        }
        i += 1;
    }
    for name in &stripped {
        push(&mut out, name.clone(), MatchRule::PrefixStripped);
    }

    // Dates and versions off each of those names.
    for name in &stripped {
        let mut current = name.as_str();
        while let Some(shorter) = strip_suffix(current) {
            push(&mut out, shorter.to_owned(), MatchRule::DateStripped);
            current = shorter;
        }
    }
    out
}

fn push(out: &mut Vec<Candidate>, name: String, rule: MatchRule) {
    if !name.is_empty() && !out.iter().any(|c| c.name == name) {
        out.push(Candidate { name, rule });
    }
}

/// `openai:gpt-4o` (pydantic-ai style) to `gpt-4o`; leaves `...-v1:0` alone.
fn strip_colon_provider(name: &str) -> Option<String> {
    let (head, tail) = name.split_once(':')?;
    let is_provider = !head.is_empty()
        && head
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b == b'_' || b == b'-');
    let is_version = tail.bytes().all(|b| b.is_ascii_digit());
    (is_provider && !is_version && !tail.is_empty()).then(|| tail.to_string())
}

/// `us.anthropic.claude-...` to `anthropic.claude-...` (only when a dotted id follows).
fn strip_region(name: &str) -> Option<String> {
    REGIONS.iter().find_map(|region| {
        let tail = name.strip_prefix(region)?;
        let (vendor, _) = tail.split_once('.')?;
        vendor
            .bytes()
            .all(|b| b.is_ascii_lowercase())
            .then(|| tail.to_string())
    })
}

/// `anthropic.claude-3-haiku-...` to `claude-3-haiku-...`: a purely alphabetic vendor before
/// the first dot (so `gpt-4.1` and `gemini-2.5-pro` are left alone).
fn strip_vendor(name: &str) -> Option<String> {
    let (vendor, tail) = name.split_once('.')?;
    let alphabetic = !vendor.is_empty() && vendor.bytes().all(|b| b.is_ascii_lowercase());
    (alphabetic && !tail.is_empty()).then(|| tail.to_string())
}

/// A glob over a lowercased name: `*` matches any run of characters (also none); everything
/// else matches itself.
pub(crate) fn glob_matches(pattern: &str, name: &str) -> bool {
    let pieces: Vec<&str> = pattern.split('*').collect();
    let (first, last) = match (pieces.first(), pieces.last()) {
        (Some(f), Some(l)) => (*f, *l),
        _ => return pattern == name,
    };
    if pieces.len() == 1 {
        return pattern == name;
    }
    if name.len() < first.len() + last.len() || !name.starts_with(first) || !name.ends_with(last) {
        return false;
    }
    let mut rest = &name[first.len()..name.len() - last.len()];
    for piece in &pieces[1..pieces.len() - 1] {
        match rest.find(piece) {
            Some(at) => rest = &rest[at + piece.len()..],
            None => return false,
        }
    }
    true
}

/// How specific a glob is: its literal characters. Longer wins among matching patterns.
pub(crate) fn specificity(pattern: &str) -> usize {
    pattern.chars().filter(|c| *c != '*').count()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(model: &str) -> Vec<String> {
        candidates(model).into_iter().map(|c| c.name).collect()
    }

    #[test]
    fn plain_names_are_lowercased() {
        assert_eq!(names(" GPT-4o "), vec!["gpt-4o"]);
        assert_eq!(names("gemini-2.5-pro"), vec!["gemini-2.5-pro"]);
        assert_eq!(names("gpt-4.1-mini"), vec!["gpt-4.1-mini"]);
    }

    #[test]
    fn provider_paths_and_prefixes_come_off() {
        assert_eq!(names("openai/gpt-4o"), vec!["openai/gpt-4o", "gpt-4o"]);
        assert_eq!(names("openai:gpt-4o"), vec!["openai:gpt-4o", "gpt-4o"]);
        assert_eq!(
            names("together_ai/meta-llama/Llama-3.3-70B-Instruct-Turbo"),
            vec![
                "together_ai/meta-llama/llama-3.3-70b-instruct-turbo",
                "meta-llama/llama-3.3-70b-instruct-turbo",
                "llama-3.3-70b-instruct-turbo",
            ]
        );
    }

    #[test]
    fn bedrock_ids_lose_region_vendor_version_and_date() {
        let c = candidates("bedrock/us.anthropic.claude-3-5-haiku-20241022-v1:0");
        let got: Vec<(&str, MatchRule)> = c.iter().map(|c| (c.name.as_str(), c.rule)).collect();
        assert_eq!(
            got,
            vec![
                (
                    "bedrock/us.anthropic.claude-3-5-haiku-20241022-v1:0",
                    MatchRule::Exact
                ),
                (
                    "us.anthropic.claude-3-5-haiku-20241022-v1:0",
                    MatchRule::PrefixStripped
                ),
                (
                    "anthropic.claude-3-5-haiku-20241022-v1:0",
                    MatchRule::PrefixStripped
                ),
                ("claude-3-5-haiku-20241022-v1:0", MatchRule::PrefixStripped),
                (
                    "bedrock/us.anthropic.claude-3-5-haiku-20241022",
                    MatchRule::DateStripped
                ),
                (
                    "bedrock/us.anthropic.claude-3-5-haiku",
                    MatchRule::DateStripped
                ),
                (
                    "us.anthropic.claude-3-5-haiku-20241022",
                    MatchRule::DateStripped
                ),
                ("us.anthropic.claude-3-5-haiku", MatchRule::DateStripped),
                (
                    "anthropic.claude-3-5-haiku-20241022",
                    MatchRule::DateStripped
                ),
                ("anthropic.claude-3-5-haiku", MatchRule::DateStripped),
                ("claude-3-5-haiku-20241022", MatchRule::DateStripped),
                ("claude-3-5-haiku", MatchRule::DateStripped),
            ]
        );
    }

    #[test]
    fn region_and_vendor_need_a_dotted_id() {
        assert_eq!(
            strip_region("us.meta.llama3-1-8b").as_deref(),
            Some("meta.llama3-1-8b")
        );
        assert_eq!(strip_region("eu.x"), None);
        assert_eq!(
            strip_vendor("amazon.nova-pro-v1:0").as_deref(),
            Some("nova-pro-v1:0")
        );
        assert_eq!(strip_vendor("gpt-4.1"), None);
        assert_eq!(strip_colon_provider("anthropic.claude-v2:1"), None);
    }

    #[test]
    fn globs() {
        let cases = [
            ("gpt-4o-2024-*", "gpt-4o-2024-08-06", true),
            ("gpt-4o-2024-*", "gpt-4o-mini-2024-07-18", false),
            ("*llama*70b*", "meta-llama/llama-3.3-70b-instruct", true),
            ("*llama*70b*", "llama-3.1-8b", false),
            ("claude-*-sonnet*", "claude-3-5-sonnet-20241022", true),
            ("exact", "exact", true),
            ("exact", "exactly", false),
            ("a*a", "a", false),
            ("*", "", true),
        ];
        for (pattern, name, want) in cases {
            assert_eq!(glob_matches(pattern, name), want, "{pattern} vs {name}");
        }
        assert!(specificity("gpt-4o-*") > specificity("gpt-*"));
    }
}

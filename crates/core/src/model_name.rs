//! Model names as people say them: a model's *family* is its name without the trailing snapshot
//! suffixes providers add (dates, Bedrock versions, `-latest`), so `gpt-4o` names
//! `gpt-4o-2024-08-06` and `claude-3-5-sonnet` names `claude-3-5-sonnet-20241022`. The model
//! filter and the `model_family` cost group use [`family`]; the price registry tries the same
//! shorter names ([`strip_suffix`]) when a dated name has no price of its own.

/// The name without one trailing snapshot suffix, when it has one:
/// - a Bedrock version: `-v1:0`, `-v2:0`, or a bare `:N` (`anthropic.claude-v2:1`);
/// - a date: `-YYYY-MM-DD`, `-YYYYMMDD`, or Vertex AI's `@YYYYMMDD` (the year 19xx or 20xx);
/// - `-latest` (any case).
///
/// Nothing else: `gpt-4-0613` (no year), `llama-3.1-405b` and `deepseek-v3` keep their names.
pub fn strip_suffix(name: &str) -> Option<&str> {
    strip_version(name)
        .or_else(|| strip_date(name))
        .or_else(|| strip_latest(name))
}

/// The family of a model name: the trimmed name with [`strip_suffix`] applied until nothing
/// more comes off (`anthropic.claude-3-5-sonnet-20241022-v2:0` → `anthropic.claude-3-5-sonnet`).
/// Case is kept; a name with no suffix is its own family.
pub fn family(name: &str) -> &str {
    let mut current = name.trim();
    while let Some(shorter) = strip_suffix(current) {
        current = shorter;
    }
    current
}

/// Whether a model filter `wanted` names this call: it equals the requested or the answered
/// model, or the family of the model stored for it (the answered model, else the requested one).
/// The stores test the same thing on promoted columns (`model`, `request_model`,
/// `model_family`).
pub fn model_matches(wanted: &str, request: Option<&str>, response: Option<&str>) -> bool {
    let model = response.or(request);
    request == Some(wanted) || response == Some(wanted) || model.map(family) == Some(wanted)
}

/// A Bedrock version suffix: `-v1:0`, `-v2:0`, or a bare `:1`.
fn strip_version(name: &str) -> Option<&str> {
    let (head, tail) = name.rsplit_once(':')?;
    if tail.is_empty() || !all_digits(tail.as_bytes()) || head.is_empty() {
        return None;
    }
    if let Some((stem, v)) = head.rsplit_once("-v") {
        if !stem.is_empty() && !v.is_empty() && all_digits(v.as_bytes()) {
            return Some(stem);
        }
    }
    Some(head)
}

/// A date suffix: `-YYYY-MM-DD`, `-YYYYMMDD` or `@YYYYMMDD` (Vertex AI).
fn strip_date(name: &str) -> Option<&str> {
    let b = name.as_bytes();
    let n = b.len();
    // The suffixes are ASCII, so the cut is always on a character boundary.
    if n > 11 {
        let t = &b[n - 11..];
        if t[0] == b'-'
            && looks_like_year(&t[1..5])
            && t[5] == b'-'
            && all_digits(&t[6..8])
            && t[8] == b'-'
            && all_digits(&t[9..11])
        {
            return Some(&name[..n - 11]);
        }
    }
    if n > 9 {
        let t = &b[n - 9..];
        if (t[0] == b'-' || t[0] == b'@') && looks_like_year(&t[1..5]) && all_digits(&t[5..]) {
            return Some(&name[..n - 9]);
        }
    }
    None
}

/// `-latest`, in any case, after a non-empty name.
fn strip_latest(name: &str) -> Option<&str> {
    const SUFFIX: &str = "-latest";
    let cut = name.len().checked_sub(SUFFIX.len()).filter(|c| *c > 0)?;
    // ASCII suffix: when it matches, `cut` is a character boundary.
    (name.is_char_boundary(cut) && name[cut..].eq_ignore_ascii_case(SUFFIX)).then(|| &name[..cut])
}

fn all_digits(b: &[u8]) -> bool {
    b.iter().all(u8::is_ascii_digit)
}

fn looks_like_year(b: &[u8]) -> bool {
    all_digits(b) && (b.starts_with(b"20") || b.starts_with(b"19"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn families() {
        let cases = [
            ("gpt-4o-2024-08-06", "gpt-4o"),
            ("gpt-4o", "gpt-4o"),
            ("gpt-4o-mini-2024-07-18", "gpt-4o-mini"),
            ("claude-3-5-sonnet-20241022", "claude-3-5-sonnet"),
            ("claude-3-5-sonnet-latest", "claude-3-5-sonnet"),
            ("Claude-3-5-Sonnet-LATEST", "Claude-3-5-Sonnet"),
            ("claude-3-5-sonnet-v2@20241022", "claude-3-5-sonnet-v2"),
            (
                "anthropic.claude-3-5-sonnet-20241022-v2:0",
                "anthropic.claude-3-5-sonnet",
            ),
            ("amazon.nova-pro-v1:0", "amazon.nova-pro"),
            (" gpt-4o-2024-08-06 ", "gpt-4o"),
            // Not snapshot suffixes.
            ("gpt-4-0613", "gpt-4-0613"),
            ("llama-3.1-405b", "llama-3.1-405b"),
            ("deepseek-v3", "deepseek-v3"),
            ("model-12345678", "model-12345678"),
            ("-latest", "-latest"),
            ("latest", "latest"),
            ("", ""),
        ];
        for (name, want) in cases {
            assert_eq!(family(name), want, "{name}");
        }
    }

    #[test]
    fn a_filter_names_the_request_the_answer_and_the_family() {
        let (req, resp) = (Some("gpt-4o"), Some("gpt-4o-2024-08-06"));
        assert!(model_matches("gpt-4o", req, resp));
        assert!(model_matches("gpt-4o-2024-08-06", req, resp));
        assert!(!model_matches("gpt-4o-mini", req, resp));
        assert!(!model_matches("gpt-4o-2024-05-13", req, resp));
        let mini = Some("gpt-4o-mini-2024-07-18");
        assert!(!model_matches("gpt-4o", None, mini));
        assert!(model_matches("gpt-4o-mini", None, mini));
        // An Azure deployment name is matched as the request model.
        assert!(model_matches("prod-gpt", Some("prod-gpt"), resp));
        assert!(model_matches("gpt-4o", Some("prod-gpt"), resp));
        assert!(model_matches(
            "claude-3-5-sonnet",
            Some("claude-3-5-sonnet-latest"),
            None
        ));
        assert!(!model_matches("gpt-4o", None, None));
    }

    #[test]
    fn date_suffixes_in_three_spellings() {
        assert_eq!(strip_date("gpt-4o-2024-08-06"), Some("gpt-4o"));
        assert_eq!(
            strip_date("claude-3-5-sonnet-20241022"),
            Some("claude-3-5-sonnet")
        );
        assert_eq!(
            strip_date("claude-3-5-sonnet-v2@20241022"),
            Some("claude-3-5-sonnet-v2")
        );
        // Not dates: too short, not a year, or a size.
        assert_eq!(strip_date("llama-3.1-405b"), None);
        assert_eq!(strip_date("gpt-4-0613"), None);
        assert_eq!(strip_date("model-12345678"), None);
    }

    #[test]
    fn version_suffixes() {
        assert_eq!(strip_version("x-v1:0"), Some("x"));
        assert_eq!(strip_version("x-v2"), None);
        assert_eq!(strip_version("deepseek-v3"), None);
        assert_eq!(strip_version("x:0"), Some("x"));
        assert_eq!(strip_version("claude-3-5-sonnet-v2@20241022"), None);
        assert_eq!(strip_version("gpt-4o"), None);
    }
}

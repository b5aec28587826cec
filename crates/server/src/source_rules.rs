//! Rules about the server's source, checked by reading it: the layering of `lib.rs` (no module
//! imports from a module above it, peers in a layer do not import each other) and that only
//! `auth/` reads credentials. A new `use crate::...` that runs back up, or a handler that reads
//! the `Authorization` header itself, fails here with the file and the offence.

use std::path::{Path, PathBuf};

/// Each top-level module with what it may import (besides itself).
const ALLOWED: &[(&str, &[&str])] = &[
    ("error", &[]),
    ("auth", &["error"]),
    ("pricing", &["error"]),
    ("ingest", &["error", "auth", "pricing"]),
    ("metrics", &["error", "auth", "ingest"]),
    ("api", &["error", "auth", "pricing", "ingest"]),
    ("dashboard", &["error", "auth", "pricing", "ingest", "api"]),
    ("jobs", &["error", "metrics"]),
    ("gateway", &["error", "auth", "pricing", "ingest", "api"]),
    (
        "app",
        &[
            "error",
            "auth",
            "pricing",
            "ingest",
            "metrics",
            "api",
            "dashboard",
            "jobs",
            "gateway",
        ],
    ),
];

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The top-level modules named after `crate::` in `text`.
fn imported(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut rest = text;
    while let Some(i) = rest.find("crate::") {
        let after = &rest[i + "crate::".len()..];
        let name: String = after
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        if !name.is_empty() {
            found.push(name);
        }
        rest = after;
    }
    found
}

#[test]
fn no_module_imports_from_a_layer_above_it() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut offenders = Vec::new();
    for file in &files {
        let rel = file.strip_prefix(&src).unwrap();
        let top = rel
            .iter()
            .next()
            .and_then(|c| c.to_str())
            .unwrap()
            .trim_end_matches(".rs");
        if top == "lib" || top == "source_rules" {
            continue;
        }
        let allowed = ALLOWED
            .iter()
            .find(|(m, _)| *m == top)
            .map(|(_, a)| *a)
            .unwrap_or_else(|| panic!("{top} is not in ALLOWED: give it a layer"));
        let text = std::fs::read_to_string(file).unwrap();
        for name in imported(&text) {
            if name != top && !allowed.contains(&name.as_str()) {
                offenders.push(format!("{} imports crate::{name}", rel.display()));
            }
        }
    }
    offenders.sort();
    offenders.dedup();
    assert!(offenders.is_empty(), "{offenders:#?}");
}

/// What only `auth/` may touch: the header, its parser, the authenticator's entry points and
/// the dashboard's session cookie.
const CREDENTIAL_READS: &[&str] = &[
    "AUTHORIZATION",
    "\"authorization\"",
    "parse_authorization",
    "Credential",
    ".caller(",
    ".authenticate(",
    "header::COOKIE",
    "\"cookie\"",
    "sightline_session",
];

/// Handlers get a `Caller` by their signature; none reads credentials itself.
#[test]
fn no_module_outside_auth_reads_credentials() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    assert!(files.len() > 20, "found only {files:?}");
    let mut offenders = Vec::new();
    for file in files {
        if file.starts_with(src.join("auth")) || file.ends_with("source_rules.rs") {
            continue;
        }
        let text = std::fs::read_to_string(&file).unwrap();
        for needle in CREDENTIAL_READS {
            if text.contains(needle) {
                offenders.push(format!("{} mentions {needle}", file.display()));
            }
        }
    }
    assert!(offenders.is_empty(), "{offenders:#?}");
}

#[test]
fn the_check_sees_imports() {
    assert_eq!(
        imported("use crate::api::x;\nlet y = crate::ingest::live::LiveBus::default();"),
        ["api", "ingest"]
    );
}

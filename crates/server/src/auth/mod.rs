//! Authentication and authorization: credentials become a [`Caller`] (project, key, role) in
//! one place, and handlers get it by their signature. Keys are a public/secret pair; only the
//! SHA-256 of the secret is stored. No other module reads credentials (a test checks).

mod authenticator;
mod caller;
mod credential;
mod extract;
mod keys;

pub use authenticator::Authenticator;
pub use caller::{Caller, Role};
pub use extract::grpc_caller;
pub use keys::{create_key, hash_secret, NewKey};

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};

    /// What only `auth/` may touch: the header, its parser and the authenticator's entry point.
    const CREDENTIAL_READS: &[&str] = &[
        "AUTHORIZATION",
        "\"authorization\"",
        "parse_authorization",
        "Credential",
        ".caller(",
        ".authenticate(",
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

    /// Handlers get a `Caller` by their signature; none reads credentials itself.
    #[test]
    fn no_module_outside_auth_reads_credentials() {
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut files = Vec::new();
        rust_files(&src, &mut files);
        assert!(files.len() > 20, "found only {files:?}");
        let mut offenders = Vec::new();
        for file in files {
            if file.starts_with(src.join("auth")) {
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
}

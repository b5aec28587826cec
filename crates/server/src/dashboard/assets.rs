//! The dashboard's static files, embedded in the binary: one stylesheet, two small scripts of
//! our own (no framework, no build step), the icon sprite and the favicon. Each is served under
//! `/assets/` with its content hash in the URL, so browsers may cache it for good.

use axum::extract::Path;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

/// The kind icons and the logo as an inline SVG sprite (`<use href="#k-llm">`).
pub const ICONS: &str = include_str!("assets/icons.svg");

/// Name, content type, content.
const FILES: &[(&str, &str, &str)] = &[
    (
        "app.css",
        "text/css; charset=utf-8",
        include_str!("assets/app.css"),
    ),
    (
        "app.js",
        "text/javascript; charset=utf-8",
        include_str!("assets/app.js"),
    ),
    (
        "trace.js",
        "text/javascript; charset=utf-8",
        include_str!("assets/trace.js"),
    ),
    (
        "favicon.svg",
        "image/svg+xml",
        include_str!("assets/favicon.svg"),
    ),
];

/// FNV-1a of `bytes`: the version in an asset's URL.
const fn fnv(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut i = 0;
    while i < bytes.len() {
        h ^= bytes[i] as u64;
        h = h.wrapping_mul(0x0100_0000_01b3);
        i += 1;
    }
    h
}

/// `/assets/{name}?v={hash}`.
pub fn url(name: &str) -> String {
    match FILES.iter().find(|(n, _, _)| *n == name) {
        Some((_, _, body)) => format!("/assets/{name}?v={:x}", fnv(body.as_bytes()) >> 32),
        None => format!("/assets/{name}"),
    }
}

/// `GET /assets/{name}`.
pub async fn serve(Path(name): Path<String>) -> Response {
    let Some((_, kind, body)) = FILES.iter().find(|(n, _, _)| *n == name) else {
        return (StatusCode::NOT_FOUND, "no such asset").into_response();
    };
    let mut r = (*body).into_response();
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(kind));
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=31536000, immutable"),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The budget: what a page loads of script and style stays under 200 KB.
    #[test]
    fn a_page_loads_less_than_200_kb_of_script_and_style() {
        let total: usize = FILES
            .iter()
            .filter(|(n, _, _)| n.ends_with(".css") || n.ends_with(".js"))
            .map(|(_, _, body)| body.len())
            .sum();
        assert!(total < 200_000, "{total} bytes");
        assert!(url("app.css").starts_with("/assets/app.css?v="));
        assert_eq!(url("nope"), "/assets/nope");
    }

    /// Nothing embedded may reach another origin (the CSP forbids it too).
    #[test]
    fn assets_name_no_other_origin() {
        let icons = ("icons.svg", "", ICONS);
        for (name, _, body) in FILES.iter().chain([&icons]) {
            // SVG's namespace is a name, not a request.
            let body = body.replace("http://www.w3.org/2000/svg", "");
            for needle in ["http://", "https://", "//cdn", "@import", "url("] {
                assert!(
                    !body.contains(needle),
                    "{name} mentions {needle}: assets must be self-contained"
                );
            }
        }
    }
}

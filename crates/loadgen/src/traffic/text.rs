//! Plausible, varied prose for message payloads, built from word lists and a seeded rng.
//!
//! The aim is text that compresses roughly like real chat content: sentences differ in
//! structure, vocabulary and embedded identifiers, so a benchmark of stored size is not
//! flattered by one paragraph repeated verbatim.

use rand::rngs::StdRng;
use rand::Rng;

const SUBJECTS: &[&str] = &[
    "the customer",
    "our billing service",
    "the staging deployment",
    "this invoice",
    "the on-call engineer",
    "the nightly export job",
    "a partner integration",
    "the checkout page",
    "the search index",
    "the mobile app",
    "the warehouse team",
    "the shipping label printer",
    "the marketing dashboard",
    "the quarterly forecast",
    "the support queue",
    "the payment gateway",
    "the onboarding flow",
    "the data pipeline",
    "the new pricing tier",
    "the renewal contract",
];

const VERBS: &[&str] = &[
    "failed to sync",
    "shows a discrepancy in",
    "needs a refund for",
    "was double charged for",
    "cannot find",
    "keeps timing out on",
    "reported a regression in",
    "asked for a summary of",
    "wants to compare",
    "is waiting on approval for",
    "flagged an anomaly in",
    "requested an export of",
    "lost access to",
    "escalated a complaint about",
    "needs clarification on",
    "proposed a change to",
    "could not reconcile",
    "is blocked by",
];

const OBJECTS: &[&str] = &[
    "the March invoice",
    "order",
    "the staging cluster",
    "the latest release notes",
    "the API rate limits",
    "the loyalty points balance",
    "the shipping estimate",
    "ticket",
    "the tax calculation",
    "the contract renewal date",
    "the audit log",
    "the inventory report",
    "the password reset email",
    "the usage-based bill",
    "account",
    "the product catalogue",
    "the SSO configuration",
    "the webhook payload",
];

const TAILS: &[&str] = &[
    "since yesterday",
    "after the last update",
    "for the third time this week",
    "according to the logs",
    "before the end of the quarter",
    "in the EU region",
    "during the overnight batch",
    "while the migration was running",
    "without any error message",
    "despite the earlier fix",
    "on both web and mobile",
    "for customers on the annual plan",
    "right after checkout",
    "when the cache is cold",
];

const OPENERS: &[&str] = &[
    "Sure, here is what I found.",
    "I checked the records.",
    "Thanks for the details.",
    "Let me walk through it.",
    "Good news, this is a known issue.",
    "Unfortunately, this needs a closer look.",
    "The data tells a clear story.",
    "I looked into this.",
    "Here is a short summary.",
    "I have an answer to your question.",
];

const ADVICE: &[&str] = &[
    "I recommend retrying the request after clearing the cache",
    "the safest option is to issue a partial refund",
    "we should open a ticket with the platform team",
    "you can update the setting from the admin console",
    "the fix is to rotate the credentials and redeploy",
    "it would help to attach the full error report",
    "I suggest pausing the job until the backlog drains",
    "the numbers match once currency conversion is applied",
    "no action is needed because it resolved on its own",
    "a follow-up email has been drafted for your review",
    "the change can ship behind a feature flag first",
    "we can compare it with last month's baseline",
];

/// Picks one element of a non-empty list.
pub fn pick<'a>(rng: &mut StdRng, list: &[&'a str]) -> &'a str {
    list[rng.random_range(0..list.len())]
}

/// One sentence about a business object, with an identifier woven in now and then.
pub fn sentence(rng: &mut StdRng) -> String {
    let subject = pick(rng, SUBJECTS);
    let mut s = String::with_capacity(96);
    let mut chars = subject.chars();
    if let Some(first) = chars.next() {
        s.extend(first.to_uppercase());
        s.push_str(chars.as_str());
    }
    s.push(' ');
    s.push_str(pick(rng, VERBS));
    s.push(' ');
    let object = pick(rng, OBJECTS);
    s.push_str(object);
    if matches!(object, "order" | "ticket" | "account") {
        s.push_str(&format!(" #{}", rng.random_range(10_000..999_999)));
    }
    if rng.random_bool(0.6) {
        s.push(' ');
        s.push_str(pick(rng, TAILS));
    }
    s.push(if rng.random_bool(0.15) { '?' } else { '.' });
    s
}

/// A user turn: one to several sentences, at least `min_len` bytes long.
pub fn user_text(rng: &mut StdRng, min_len: usize) -> String {
    let mut out = String::with_capacity(min_len + 96);
    while out.len() < min_len {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(&sentence(rng));
    }
    out
}

/// An assistant answer: an opener, findings and a recommendation, at least `min_len` bytes.
pub fn assistant_text(rng: &mut StdRng, min_len: usize) -> String {
    let mut out = String::with_capacity(min_len + 128);
    out.push_str(pick(rng, OPENERS));
    while out.len() < min_len {
        out.push(' ');
        if rng.random_bool(0.35) {
            let advice = pick(rng, ADVICE);
            let lead = pick(
                rng,
                &["Given that,", "My suggestion:", "Next step:", "In short,"],
            );
            out.push_str(&format!(
                "{lead} {advice} (estimated effort: {}.{} hours).",
                rng.random_range(0..12),
                rng.random_range(0..10)
            ));
        } else {
            out.push_str(&sentence(rng));
        }
    }
    out
}

/// A short free-text query, as a tool argument.
pub fn query(rng: &mut StdRng) -> String {
    format!("{} {}", pick(rng, VERBS), pick(rng, OBJECTS))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn text_reaches_the_requested_length_and_varies() {
        let mut rng = StdRng::seed_from_u64(7);
        let a = user_text(&mut rng, 300);
        let b = user_text(&mut rng, 300);
        assert!(a.len() >= 300 && a.len() < 500, "{}", a.len());
        assert_ne!(a, b);
        let c = assistant_text(&mut rng, 200);
        assert!(c.len() >= 200);
    }
}

//! Rate-limit policies in the IETF RateLimit draft's syntax as Helicone uses it:
//! `<quota>;w=<seconds>[;u=request|token|cents][;s=<segment>]`, e.g. `100;w=60;s=user` (100
//! requests a minute per user) or `500;w=86400;u=cents;s=tenant` ($5 a day per tenant). The
//! segment is `key`, `user`, `tenant` or a property name; without one the policy counts every
//! call of the project. Windows are fixed, from the Unix epoch. Requests are counted at
//! admission; tokens and cents are checked at admission (refused once the window is used up)
//! and counted when the call's usage is known.

use super::CallTags;
use crate::time::SECOND_NS;

/// What a policy counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Unit {
    Requests,
    Tokens,
    /// US cents of cost.
    Cents,
}

/// Whose calls share one counter.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Segment {
    /// Every call of the project.
    Global,
    /// Each Sightline key.
    Key,
    User,
    Tenant,
    /// Each value of a property (`Sightline-Property-<name>`).
    Property(String),
}

/// A parsed policy.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Policy {
    pub quota: u64,
    pub window_secs: u64,
    pub unit: Unit,
    pub segment: Segment,
}

/// Nano-USD in one US cent.
const NANO_PER_CENT: u64 = 10_000_000;

/// The longest window a policy takes: a year.
const MAX_WINDOW_SECS: u64 = 366 * 86_400;

impl Policy {
    /// Parses a policy; errors name the part and the fix.
    pub fn parse(text: &str) -> Result<Policy, String> {
        let bad = |why: &str| {
            format!("rate-limit policy {text:?}: {why}; write it as <quota>;w=<seconds>[;u=request|token|cents][;s=key|user|tenant|<property>], e.g. 100;w=60;s=user")
        };
        let mut parts = text.split(';').map(str::trim);
        let quota = parts
            .next()
            .and_then(|q| q.parse::<u64>().ok())
            .filter(|q| *q > 0)
            .ok_or_else(|| bad("the quota must be a whole number above zero"))?;
        let (mut window, mut unit, mut segment) = (None, Unit::Requests, Segment::Global);
        for part in parts.filter(|p| !p.is_empty()) {
            let (k, v) = part
                .split_once('=')
                .ok_or_else(|| bad(&format!("{part:?} is not key=value")))?;
            let v = v.trim().trim_matches('"');
            match k.trim().to_ascii_lowercase().as_str() {
                "w" => {
                    window = Some(
                        v.parse::<u64>()
                            .ok()
                            .filter(|w| (1..=MAX_WINDOW_SECS).contains(w))
                            .ok_or_else(|| bad("w must be 1 to 31622400 seconds"))?,
                    )
                }
                "u" => {
                    unit = match v.to_ascii_lowercase().as_str() {
                        "request" | "requests" => Unit::Requests,
                        "token" | "tokens" => Unit::Tokens,
                        "cents" | "cent" => Unit::Cents,
                        _ => return Err(bad("u must be request, token or cents")),
                    }
                }
                "s" => {
                    let name = v.to_ascii_lowercase();
                    segment = match name.as_str() {
                        "" => return Err(bad("s must name a segment")),
                        "global" => Segment::Global,
                        "key" => Segment::Key,
                        "user" => Segment::User,
                        "tenant" => Segment::Tenant,
                        _ => Segment::Property(name),
                    }
                }
                other => return Err(bad(&format!("unknown parameter {other:?}"))),
            }
        }
        let window_secs = window.ok_or_else(|| bad("w (the window in seconds) is missing"))?;
        Ok(Policy {
            quota,
            window_secs,
            unit,
            segment,
        })
    }

    /// The segment value a call counts under: `Some("")` for a global policy, `None` when the
    /// call lacks the segment (such a call is not limited by this policy).
    pub fn segment_of<'a>(&self, tags: &CallTags<'a>) -> Option<&'a str> {
        match &self.segment {
            Segment::Global => Some(""),
            Segment::Key => tags.key,
            Segment::User => tags.user,
            Segment::Tenant => tags.tenant,
            Segment::Property(name) => tags
                .properties
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.as_str()),
        }
    }

    fn window_ns(&self) -> i64 {
        i64::try_from(self.window_secs)
            .unwrap_or(i64::MAX / SECOND_NS)
            .saturating_mul(SECOND_NS)
    }

    /// Start of the window holding `now_ns`.
    pub fn window_start(&self, now_ns: i64) -> i64 {
        now_ns - now_ns.rem_euclid(self.window_ns())
    }

    /// The quota in the counter's own unit (cents are counted in nano-USD).
    fn quota_units(&self) -> u64 {
        match self.unit {
            Unit::Cents => self.quota.saturating_mul(NANO_PER_CENT),
            _ => self.quota,
        }
    }

    /// How much a call adds to the counter: 1 request, its tokens, or its cost in nano-USD.
    pub fn usage_of(&self, tokens: u64, cost_nano_usd: u64) -> u64 {
        match self.unit {
            Unit::Requests => 1,
            Unit::Tokens => tokens,
            Unit::Cents => cost_nano_usd,
        }
    }

    /// Decides a new call against `counter` (the segment's counter, if any) at `now_ns`.
    pub fn check(&self, counter: Option<Counter>, now_ns: i64) -> Decision {
        let start = self.window_start(now_ns);
        let used = counter
            .filter(|c| c.window_start_ns == start)
            .map_or(0, |c| c.used);
        let quota = self.quota_units();
        let reset_secs = secs_until(start + self.window_ns(), now_ns);
        let allowed = match self.unit {
            Unit::Requests => used.saturating_add(1) <= quota,
            Unit::Tokens | Unit::Cents => used < quota,
        };
        let shown = |units: u64| match self.unit {
            Unit::Cents => units / NANO_PER_CENT,
            _ => units,
        };
        if allowed {
            let after = match self.unit {
                Unit::Requests => used + 1,
                _ => used,
            };
            Decision::Allow {
                remaining: shown(quota.saturating_sub(after)),
                reset_secs,
            }
        } else {
            Decision::Deny {
                retry_after_secs: reset_secs,
            }
        }
    }

    /// The policy as it is written back (`RateLimit-Policy`), parameters in one order.
    pub fn to_text(&self) -> String {
        let unit = match self.unit {
            Unit::Requests => "request",
            Unit::Tokens => "token",
            Unit::Cents => "cents",
        };
        let segment = match &self.segment {
            Segment::Global => String::new(),
            Segment::Key => ";s=key".into(),
            Segment::User => ";s=user".into(),
            Segment::Tenant => ";s=tenant".into(),
            Segment::Property(p) => format!(";s={p}"),
        };
        format!("{};w={};u={unit}{segment}", self.quota, self.window_secs)
    }

    /// The `RateLimit-*` response fields of the draft for this policy.
    pub fn headers(&self, remaining: u64, reset_secs: u64) -> [(&'static str, String); 4] {
        [
            ("ratelimit-limit", self.quota.to_string()),
            ("ratelimit-remaining", remaining.to_string()),
            ("ratelimit-reset", reset_secs.to_string()),
            ("ratelimit-policy", self.to_text()),
        ]
    }
}

/// Whole seconds from `now_ns` until `end_ns`, at least 1.
fn secs_until(end_ns: i64, now_ns: i64) -> u64 {
    let ns = end_ns.saturating_sub(now_ns).max(0);
    u64::try_from((ns + SECOND_NS - 1) / SECOND_NS)
        .unwrap_or(1)
        .max(1)
}

/// A segment's use of a policy in one window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Counter {
    pub window_start_ns: i64,
    pub used: u64,
}

impl Counter {
    /// The counter after adding `amount` at `now_ns` (a new window starts from zero).
    pub fn add(self, policy: &Policy, now_ns: i64, amount: u64) -> Counter {
        let start = policy.window_start(now_ns);
        let used = if self.window_start_ns == start {
            self.used
        } else {
            0
        };
        Counter {
            window_start_ns: start,
            used: used.saturating_add(amount),
        }
    }
}

/// What a policy says about a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Go ahead; `remaining` is what the window has left after this call (in the policy's
    /// unit), `reset_secs` when the window ends.
    Allow { remaining: u64, reset_secs: u64 },
    /// Refuse with 429 and `Retry-After: retry_after_secs`.
    Deny { retry_after_secs: u64 },
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: i64 = 1_800_000_000 * SECOND_NS;

    #[test]
    fn policies_parse_and_print() {
        for (text, quota, w, unit, segment, shown) in [
            (
                "10;w=60",
                10,
                60,
                Unit::Requests,
                Segment::Global,
                "10;w=60;u=request",
            ),
            (
                "10;w=60;u=request;s=user",
                10,
                60,
                Unit::Requests,
                Segment::User,
                "10;w=60;u=request;s=user",
            ),
            (
                "500; w=86400; u=cents; s=tenant",
                500,
                86_400,
                Unit::Cents,
                Segment::Tenant,
                "500;w=86400;u=cents;s=tenant",
            ),
            (
                "1000;w=3600;u=tokens;s=Team",
                1000,
                3600,
                Unit::Tokens,
                Segment::Property("team".into()),
                "1000;w=3600;u=token;s=team",
            ),
            (
                "5;w=1;s=key",
                5,
                1,
                Unit::Requests,
                Segment::Key,
                "5;w=1;u=request;s=key",
            ),
        ] {
            let p = Policy::parse(text).unwrap();
            assert_eq!(
                (p.quota, p.window_secs, p.unit, &p.segment),
                (quota, w, unit, &segment),
                "{text}"
            );
            assert_eq!(p.to_text(), shown);
            assert_eq!(Policy::parse(shown).unwrap(), p);
        }
        for (bad, says) in [
            ("", "quota"),
            ("0;w=60", "quota"),
            ("10", "w (the window"),
            ("10;w=0", "w must"),
            ("10;w=60;u=bytes", "u must"),
            ("10;w=60;x=1", "unknown parameter"),
            ("10;w=60;s", "not key=value"),
        ] {
            let e = Policy::parse(bad).unwrap_err();
            assert!(
                e.contains(says) && e.contains("100;w=60;s=user"),
                "{bad}: {e}"
            );
        }
    }

    #[test]
    fn segments_come_from_the_call() {
        let props = vec![("team".to_owned(), "ads".to_owned())];
        let tags = CallTags {
            tenant: Some("t"),
            user: None,
            key: Some("pk"),
            properties: &props,
        };
        let seg = |s: &str| {
            Policy::parse(&format!("1;w=1;s={s}"))
                .unwrap()
                .segment_of(&tags)
        };
        assert_eq!(seg("global"), Some(""));
        assert_eq!(seg("key"), Some("pk"));
        assert_eq!(seg("tenant"), Some("t"));
        assert_eq!(seg("user"), None, "no user: this policy does not apply");
        assert_eq!(seg("team"), Some("ads"));
        assert_eq!(seg("region"), None);
    }

    #[test]
    fn requests_are_counted_per_window() {
        let p = Policy::parse("3;w=60").unwrap();
        let mut counter = None;
        let mut answers = Vec::new();
        for i in 0..5 {
            let now = T0 + i * SECOND_NS;
            let d = p.check(counter, now);
            if matches!(d, Decision::Allow { .. }) {
                counter = Some(counter.unwrap_or_default().add(&p, now, 1));
            }
            answers.push(d);
        }
        assert_eq!(
            answers,
            vec![
                Decision::Allow {
                    remaining: 2,
                    reset_secs: 60
                },
                Decision::Allow {
                    remaining: 1,
                    reset_secs: 59
                },
                Decision::Allow {
                    remaining: 0,
                    reset_secs: 58
                },
                Decision::Deny {
                    retry_after_secs: 57
                },
                Decision::Deny {
                    retry_after_secs: 56
                },
            ]
        );
        // The next window starts from zero.
        assert_eq!(
            p.check(counter, T0 + 60 * SECOND_NS),
            Decision::Allow {
                remaining: 2,
                reset_secs: 60
            }
        );
    }

    #[test]
    fn tokens_and_cents_refuse_once_used_up() {
        let tokens = Policy::parse("100;w=60;u=token").unwrap();
        let c = Counter::default().add(&tokens, T0, 99);
        assert!(matches!(
            tokens.check(Some(c), T0),
            Decision::Allow { remaining: 1, .. }
        ));
        let c = c.add(&tokens, T0, tokens.usage_of(250, 0));
        assert_eq!(
            tokens.check(Some(c), T0),
            Decision::Deny {
                retry_after_secs: 60
            }
        );
        let cents = Policy::parse("2;w=60;u=cents").unwrap();
        // 1.5 cents spent: allowed, one whole cent left.
        let c = Counter::default().add(&cents, T0, cents.usage_of(0, 15_000_000));
        assert!(matches!(
            cents.check(Some(c), T0),
            Decision::Allow { remaining: 0, .. }
        ));
        let c = c.add(&cents, T0, 5_000_000);
        assert!(matches!(cents.check(Some(c), T0), Decision::Deny { .. }));
        assert_eq!(
            cents.headers(0, 7).map(|(k, _)| k),
            [
                "ratelimit-limit",
                "ratelimit-remaining",
                "ratelimit-reset",
                "ratelimit-policy"
            ]
        );
    }
}

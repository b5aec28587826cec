//! Budgets: which calls a budget counts ([`Scope`]), and the arithmetic that keeps spend under
//! its limit when many calls run at once. Each call reserves its worst-case cost at admission;
//! a call is refused when the window's spend plus every open reservation plus its own would
//! pass the limit, so concurrent calls can never overshoot. When the call's usage arrives its
//! reservation is released and its actual cost spent. Notifications fire once per window for
//! each of [`THRESHOLDS`] that the spend reaches.

use serde::{Deserialize, Serialize};

use super::window::Window;
use super::CallTags;
use crate::cost::{charge, PriceEntry};

/// The percentages of a limit at which a notification fires, once per window each.
pub const THRESHOLDS: [u8; 3] = [50, 80, 95];

/// Which calls a budget counts.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum Scope {
    /// Every call of the project.
    Project,
    Tenant(String),
    User(String),
    /// Calls made with one Sightline key (its public half).
    Key(String),
    /// Calls tagged with the property `name` set to `value` (`Sightline-Property-<name>`).
    Property {
        name: String,
        value: String,
    },
}

impl Scope {
    /// Parses `project`, `tenant:<id>`, `user:<id>`, `key:<public key>` or
    /// `property:<name>=<value>`.
    pub fn parse(text: &str) -> Result<Scope, String> {
        let t = text.trim();
        if t.eq_ignore_ascii_case("project") {
            return Ok(Scope::Project);
        }
        let bad = || {
            format!(
                "scope {text:?} is not valid: use project, tenant:<id>, user:<id>, key:<public key> or property:<name>=<value>"
            )
        };
        let (kind, value) = t.split_once(':').ok_or_else(bad)?;
        let value = value.trim();
        if value.is_empty() {
            return Err(bad());
        }
        match kind.trim().to_ascii_lowercase().as_str() {
            "tenant" => Ok(Scope::Tenant(value.to_owned())),
            "user" => Ok(Scope::User(value.to_owned())),
            "key" => Ok(Scope::Key(value.to_owned())),
            "property" => {
                let (name, value) = value.split_once('=').ok_or_else(bad)?;
                let name = name.trim().to_ascii_lowercase();
                if name.is_empty() || value.trim().is_empty() {
                    return Err(bad());
                }
                Ok(Scope::Property {
                    name,
                    value: value.trim().to_owned(),
                })
            }
            _ => Err(bad()),
        }
    }

    /// Whether a call with these tags counts toward a budget of this scope.
    pub fn matches(&self, tags: &CallTags<'_>) -> bool {
        match self {
            Scope::Project => true,
            Scope::Tenant(t) => tags.tenant == Some(t.as_str()),
            Scope::User(u) => tags.user == Some(u.as_str()),
            Scope::Key(k) => tags.key == Some(k.as_str()),
            Scope::Property { name, value } => tags.property(name) == Some(value.as_str()),
        }
    }
}

impl std::fmt::Display for Scope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Scope::Project => f.write_str("project"),
            Scope::Tenant(t) => write!(f, "tenant:{t}"),
            Scope::User(u) => write!(f, "user:{u}"),
            Scope::Key(k) => write!(f, "key:{k}"),
            Scope::Property { name, value } => write!(f, "property:{name}={value}"),
        }
    }
}

impl TryFrom<String> for Scope {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        Scope::parse(&s)
    }
}

impl From<Scope> for String {
    fn from(s: Scope) -> String {
        s.to_string()
    }
}

/// A spending limit on the calls of one scope, per window.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Budget {
    /// Made by the service; a put with an existing id replaces that budget.
    pub id: String,
    pub scope: Scope,
    pub window: Window,
    /// The limit, in nano-USD per window.
    pub limit_nano_usd: i64,
    /// Also count calls that arrived as telemetry (OTLP and the other receivers), not only
    /// those made through the gateway. Such calls match project, tenant and user scopes.
    pub include_otlp: bool,
    /// When it was last set (UTC nanoseconds).
    pub updated_ns: i64,
}

/// One budget's money in one window, in nano-USD.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Ledger {
    /// Settled: the actual cost of finished calls.
    pub spent: i64,
    /// Held by calls in flight, at their worst case.
    pub reserved: i64,
}

/// Why a call does not fit a budget: the numbers the refusal names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refusal {
    pub limit: i64,
    pub spent: i64,
    pub reserved: i64,
    /// What the call would have reserved.
    pub needed: i64,
}

/// Whether a call that may cost up to `amount` fits: spend, open reservations and the call
/// together stay within `limit`.
pub fn admit(limit: i64, ledger: Ledger, amount: i64) -> Result<(), Refusal> {
    let amount = amount.max(0);
    let committed = ledger.spent.saturating_add(ledger.reserved.max(0));
    if committed.saturating_add(amount) <= limit {
        Ok(())
    } else {
        Err(Refusal {
            limit,
            spent: ledger.spent,
            reserved: ledger.reserved,
            needed: amount,
        })
    }
}

/// Takes a reservation: the ledger after admitting `amount`.
pub fn reserve(ledger: Ledger, amount: i64) -> Ledger {
    Ledger {
        spent: ledger.spent,
        reserved: ledger.reserved.saturating_add(amount.max(0)),
    }
}

/// Settles a call: its reservation of `reserved` is released and its `actual` cost spent (zero
/// when the call failed or was released unused).
pub fn settle(ledger: Ledger, reserved: i64, actual: i64) -> Ledger {
    Ledger {
        spent: ledger.spent.saturating_add(actual.max(0)),
        reserved: ledger.reserved.saturating_sub(reserved.max(0)).max(0),
    }
}

/// Bit `i` is set when spend has reached `THRESHOLDS[i]` percent of `limit`.
pub fn thresholds_reached(limit: i64, spent: i64) -> u8 {
    THRESHOLDS.iter().enumerate().fold(0, |mask, (i, pct)| {
        let reached = limit <= 0 || i128::from(spent) * 100 >= i128::from(limit) * i128::from(*pct);
        if reached && spent > 0 {
            mask | (1 << i)
        } else {
            mask
        }
    })
}

/// The thresholds (percent) `spent` reaches that `notified` (a mask from
/// [`thresholds_reached`]) does not hold yet: the notifications to send, once each.
pub fn newly_reached(limit: i64, spent: i64, notified: u8) -> Vec<u8> {
    let reached = thresholds_reached(limit, spent);
    THRESHOLDS
        .iter()
        .enumerate()
        .filter(|(i, _)| reached & (1 << i) != 0 && notified & (1 << i) == 0)
        .map(|(_, pct)| *pct)
        .collect()
}

/// The bit of [`thresholds_reached`] for `pct`, zero for a percentage not in [`THRESHOLDS`].
pub fn threshold_bit(pct: u8) -> u8 {
    THRESHOLDS
        .iter()
        .position(|p| *p == pct)
        .map_or(0, |i| 1 << i)
}

/// The most a call of up to `input_tokens` in and `output_tokens` out can cost at `entry`'s
/// prices: every input token at the dearest input rate (plain, cache read or cache write), every
/// output token at the dearer of output and reasoning.
pub fn worst_case_cost(entry: &PriceEntry, input_tokens: i64, output_tokens: i64) -> i64 {
    let rate = |r: Option<crate::cost::Rate>| r.map_or(0, |r| r.nano_per_million());
    let input_rate = entry
        .input
        .nano_per_million()
        .max(rate(entry.cache_read))
        .max(rate(entry.cache_write));
    let output_rate = entry.output.nano_per_million().max(rate(entry.reasoning));
    charge(input_tokens, input_rate).saturating_add(charge(output_tokens, output_rate))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cost::Rate;

    #[test]
    fn scopes_parse_print_and_match() {
        let props = vec![("team".to_owned(), "search".to_owned())];
        let tags = CallTags {
            tenant: Some("acme"),
            user: Some("u1"),
            key: Some("pk-1"),
            properties: &props,
        };
        for (text, shown, matches) in [
            ("project", "project", true),
            ("tenant:acme", "tenant:acme", true),
            ("tenant:other", "tenant:other", false),
            ("user: u1", "user:u1", true),
            ("key:pk-1", "key:pk-1", true),
            ("property:Team=search", "property:team=search", true),
            ("property:team=ads", "property:team=ads", false),
        ] {
            let s = Scope::parse(text).unwrap();
            assert_eq!(s.to_string(), shown);
            assert_eq!(Scope::parse(shown).unwrap(), s);
            assert_eq!(s.matches(&tags), matches, "{text}");
        }
        assert!(!Scope::Tenant("acme".into()).matches(&CallTags::default()));
        for bad in [
            "",
            "tenant",
            "tenant:",
            "org:x",
            "property:team",
            "property:=x",
        ] {
            assert!(
                Scope::parse(bad).unwrap_err().contains("tenant:<id>"),
                "{bad}"
            );
        }
    }

    /// Room for exactly ten calls at their worst case: the eleventh is refused, whatever the
    /// order, and settling below the worst case makes room again.
    #[test]
    fn reservations_never_let_concurrent_calls_overshoot() {
        let limit = 10_000;
        let mut ledger = Ledger::default();
        let mut admitted = 0;
        for _ in 0..50 {
            if admit(limit, ledger, 1_000).is_ok() {
                ledger = reserve(ledger, 1_000);
                admitted += 1;
            }
        }
        assert_eq!(admitted, 10);
        assert_eq!(
            ledger,
            Ledger {
                spent: 0,
                reserved: 10_000
            }
        );
        let refusal = admit(limit, ledger, 1_000).unwrap_err();
        assert_eq!(
            refusal,
            Refusal {
                limit,
                spent: 0,
                reserved: 10_000,
                needed: 1_000
            }
        );
        // Each call actually cost 600: settling frees 400 of each reservation.
        for _ in 0..10 {
            ledger = settle(ledger, 1_000, 600);
        }
        assert_eq!(
            ledger,
            Ledger {
                spent: 6_000,
                reserved: 0
            }
        );
        assert!(admit(limit, ledger, 4_000).is_ok());
        assert!(admit(limit, ledger, 4_001).is_err());
        // A failed call spends nothing; a release never drives reservations below zero.
        assert_eq!(settle(ledger, 5, 0), ledger);
    }

    #[test]
    fn thresholds_fire_once_each() {
        let limit = 1_000;
        let mut notified = 0;
        let mut fired = Vec::new();
        for spent in [0, 100, 499, 500, 700, 810, 900, 960, 2_000] {
            let new = newly_reached(limit, spent, notified);
            for pct in &new {
                notified |= threshold_bit(*pct);
            }
            fired.push((spent, new));
        }
        let expected: Vec<(i64, Vec<u8>)> = vec![
            (0, vec![]),
            (100, vec![]),
            (499, vec![]),
            (500, vec![50]),
            (700, vec![]),
            (810, vec![80]),
            (900, vec![]),
            (960, vec![95]),
            (2_000, vec![]),
        ];
        assert_eq!(fired, expected);
        // A jump past several thresholds fires each of them, once.
        assert_eq!(newly_reached(limit, 990, 0), vec![50, 80, 95]);
        assert_eq!(threshold_bit(42), 0);
    }

    #[test]
    fn worst_case_takes_the_dearest_rates() {
        let mut e = PriceEntry::new(
            "anthropic",
            "m",
            Rate::parse_usd("3").unwrap(),
            Rate::parse_usd("15").unwrap(),
        );
        e.cache_write = Some(Rate::parse_usd("3.75").unwrap());
        e.cache_read = Some(Rate::parse_usd("0.3").unwrap());
        // 1000 input tokens at $3.75/M + 100 output at $15/M, in nano-USD.
        assert_eq!(worst_case_cost(&e, 1_000, 100), 3_750_000 + 1_500_000);
        e.reasoning = Some(Rate::parse_usd("20").unwrap());
        assert_eq!(worst_case_cost(&e, 0, 100), 2_000_000);
        assert_eq!(worst_case_cost(&e, -5, -5), 0);
    }
}

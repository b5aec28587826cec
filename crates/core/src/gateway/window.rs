//! Fixed time windows: a UTC day, a UTC calendar month, or a fixed number of seconds counted
//! from the Unix epoch. Every decision about "this window" goes through [`Window::bounds`].

use serde::{Deserialize, Serialize};

use crate::time::{day_start_ns, month_start_ns, DAY_NS, SECOND_NS};

/// A repeating window of time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum Window {
    /// 00:00 UTC to the next 00:00 UTC.
    Daily,
    /// The first of the month 00:00 UTC to the first of the next month.
    Monthly,
    /// `seconds`-long windows starting at multiples of `seconds` after the Unix epoch.
    Every { seconds: u64 },
}

/// The longest custom window: ten years.
const MAX_SECONDS: u64 = 10 * 366 * 86_400;

impl Window {
    /// Parses `daily`, `monthly`, or a length with a unit: `90s`, `15m`, `6h`, `7d` (a bare
    /// number is seconds).
    pub fn parse(text: &str) -> Result<Window, String> {
        let t = text.trim().to_ascii_lowercase();
        match t.as_str() {
            "daily" | "day" | "1d" => return Ok(Window::Daily),
            "monthly" | "month" => return Ok(Window::Monthly),
            _ => {}
        }
        let (digits, unit) = match t.find(|c: char| !c.is_ascii_digit()) {
            Some(i) => t.split_at(i),
            None => (t.as_str(), "s"),
        };
        let factor = match unit {
            "s" => 1,
            "m" => 60,
            "h" => 3_600,
            "d" => 86_400,
            _ => 0,
        };
        let seconds = digits
            .parse::<u64>()
            .ok()
            .map(|n| n.saturating_mul(factor))
            .filter(|s| (1..=MAX_SECONDS).contains(s));
        match seconds {
            Some(86_400) => Ok(Window::Daily),
            Some(seconds) => Ok(Window::Every { seconds }),
            None => Err(format!(
                "window {text:?} is not valid: use daily, monthly, or a length such as 3600s, 30m, 12h or 7d (up to ten years)"
            )),
        }
    }

    /// `[start, end)` of the window that holds `now_ns`, in UTC nanoseconds.
    pub fn bounds(self, now_ns: i64) -> (i64, i64) {
        match self {
            Window::Daily => {
                let start = day_start_ns(now_ns);
                (start, start + DAY_NS)
            }
            Window::Monthly => {
                let start = month_start_ns(now_ns);
                // 32 days after the start is always inside the next month.
                (start, month_start_ns(start + 32 * DAY_NS))
            }
            Window::Every { seconds } => {
                let len = i64::try_from(seconds)
                    .unwrap_or(i64::MAX / SECOND_NS)
                    .saturating_mul(SECOND_NS);
                let start = now_ns - now_ns.rem_euclid(len);
                (start, start.saturating_add(len))
            }
        }
    }
}

impl std::fmt::Display for Window {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Window::Daily => f.write_str("daily"),
            Window::Monthly => f.write_str("monthly"),
            Window::Every { seconds } => write!(f, "{seconds}s"),
        }
    }
}

impl TryFrom<String> for Window {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        Window::parse(&s)
    }
}

impl From<Window> for String {
    fn from(w: Window) -> String {
        w.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::{days_from_civil, HOUR_NS};

    fn at(y: i64, m: u32, d: u32, hour: i64) -> i64 {
        days_from_civil(y, m, d) * DAY_NS + hour * HOUR_NS
    }

    #[test]
    fn windows_parse_and_print() {
        for (text, want, shown) in [
            ("daily", Window::Daily, "daily"),
            ("DAY", Window::Daily, "daily"),
            ("24h", Window::Daily, "daily"),
            ("monthly", Window::Monthly, "monthly"),
            ("3600", Window::Every { seconds: 3600 }, "3600s"),
            ("30m", Window::Every { seconds: 1800 }, "1800s"),
            ("7d", Window::Every { seconds: 604_800 }, "604800s"),
        ] {
            let w = Window::parse(text).unwrap();
            assert_eq!(w, want, "{text}");
            assert_eq!(w.to_string(), shown);
            assert_eq!(Window::parse(shown).unwrap(), w);
        }
        for bad in ["", "0", "weekly", "5y", "-1h", "99999999999d"] {
            let e = Window::parse(bad).unwrap_err();
            assert!(e.contains("daily, monthly"), "{bad}: {e}");
        }
    }

    #[test]
    fn bounds_hold_the_time_and_roll_over() {
        let cases = [
            (
                Window::Daily,
                at(2026, 3, 14, 13),
                at(2026, 3, 14, 0),
                at(2026, 3, 15, 0),
            ),
            (
                Window::Daily,
                at(2026, 3, 14, 0),
                at(2026, 3, 14, 0),
                at(2026, 3, 15, 0),
            ),
            (
                Window::Monthly,
                at(2026, 2, 28, 23),
                at(2026, 2, 1, 0),
                at(2026, 3, 1, 0),
            ),
            (
                Window::Monthly,
                at(2024, 12, 31, 5),
                at(2024, 12, 1, 0),
                at(2025, 1, 1, 0),
            ),
            (
                Window::Monthly,
                at(2024, 1, 31, 5),
                at(2024, 1, 1, 0),
                at(2024, 2, 1, 0),
            ),
            (
                Window::Every { seconds: 3600 },
                at(2026, 3, 14, 13) + 5,
                at(2026, 3, 14, 13),
                at(2026, 3, 14, 14),
            ),
        ];
        for (w, now, start, end) in cases {
            assert_eq!(w.bounds(now), (start, end), "{w} at {now}");
        }
        // The instant a window ends, the next one starts.
        let (_, end) = Window::Daily.bounds(at(2026, 1, 1, 3));
        assert_eq!(Window::Daily.bounds(end).0, end);
    }
}

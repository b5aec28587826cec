//! Exact money and date values of the price table: rates in integer nano-USD per million tokens,
//! parsed from decimal strings without floats, and `YYYY-MM-DD` dates as UTC nanoseconds.

use std::fmt;

use crate::time::{days_from_civil, days_in_month};
use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

const NANOS_PER_USD: i64 = 1_000_000_000;
/// 9 fractional digits: exactly what nano-USD can hold.
const MAX_FRACTION_DIGITS: usize = 9;
/// No real price comes near this; the cap keeps every later product inside `i128`.
const MAX_WHOLE_USD: i64 = 1_000_000_000;

/// A price in integer nano-USD per million tokens. In JSON it is written as a decimal string of
/// USD per million tokens (`"2.5"` is $2.50 per million tokens), which is parsed exactly.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Rate(i64);

impl Rate {
    pub const ZERO: Rate = Rate(0);

    /// A rate from nano-USD per million tokens; negative values become zero.
    pub fn from_nano_per_million(nano: i64) -> Self {
        Rate(nano.max(0))
    }

    /// Nano-USD per million tokens (also: USD per thousand tokens times 1e6, or nano-USD per
    /// token times 1e6).
    pub fn nano_per_million(self) -> i64 {
        self.0
    }

    /// Parses USD per million tokens written as a plain decimal (`"3"`, `"0.075"`), with at most
    /// nine fractional digits. No exponent, sign or float rounding.
    pub fn parse_usd(text: &str) -> Result<Self, String> {
        let text = text.trim();
        let (whole, fraction) = match text.split_once('.') {
            Some((w, f)) => (w, f),
            None => (text, ""),
        };
        let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        if !digits(whole) || (text.contains('.') && !digits(fraction)) {
            return Err(format!(
                "`{text}` is not a plain decimal number of USD per million tokens; \
                 write it like \"2.5\" or \"0.075\""
            ));
        }
        if fraction.len() > MAX_FRACTION_DIGITS {
            return Err(format!(
                "`{text}` has more than {MAX_FRACTION_DIGITS} decimal places; \
                 round it to whole nano-USD per million tokens"
            ));
        }
        let whole: i64 = whole
            .parse()
            .ok()
            .filter(|w| *w <= MAX_WHOLE_USD)
            .ok_or_else(|| format!("`{text}` USD per million tokens is out of range"))?;
        let mut frac_nanos: i64 = 0;
        for (i, b) in fraction.bytes().enumerate() {
            let place = 10_i64.pow((MAX_FRACTION_DIGITS - 1 - i) as u32);
            frac_nanos += i64::from(b - b'0') * place;
        }
        Ok(Rate(whole * NANOS_PER_USD + frac_nanos))
    }
}

impl fmt::Display for Rate {
    /// USD per million tokens, shortest exact decimal: `2.5`, `0.075`, `10`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let whole = self.0 / NANOS_PER_USD;
        let frac = self.0 % NANOS_PER_USD;
        if frac == 0 {
            return write!(f, "{whole}");
        }
        let digits = format!("{frac:09}");
        write!(f, "{whole}.{}", digits.trim_end_matches('0'))
    }
}

impl Serialize for Rate {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Rate {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct RateVisitor;
        impl Visitor<'_> for RateVisitor {
            type Value = Rate;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("USD per million tokens as a decimal string, e.g. \"2.5\"")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Rate, E> {
                Rate::parse_usd(v).map_err(E::custom)
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Rate, E> {
                Rate::parse_usd(&v.to_string()).map_err(E::custom)
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Rate, E> {
                Rate::parse_usd(&v.to_string()).map_err(E::custom)
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Rate, E> {
                Err(E::custom(format!(
                    "price {v} is a JSON float; write prices as decimal strings, e.g. \"{v}\", \
                     so they are read exactly"
                )))
            }
        }
        deserializer.deserialize_any(RateVisitor)
    }
}

/// A calendar day (UTC) written `YYYY-MM-DD`; a price applies from its first nanosecond.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Day {
    year: i32,
    month: u8,
    day: u8,
}

impl Day {
    pub fn parse(text: &str) -> Result<Self, String> {
        let bad = || format!("`{text}` is not a date; write it as YYYY-MM-DD, e.g. 2025-06-10");
        let b = text.as_bytes();
        if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
            return Err(bad());
        }
        let num = |s: &str| -> Result<u32, String> {
            if s.bytes().all(|c| c.is_ascii_digit()) {
                s.parse().map_err(|_| bad())
            } else {
                Err(bad())
            }
        };
        let year = num(&text[0..4])?;
        let month = num(&text[5..7])?;
        let day = num(&text[8..10])?;
        if !(1..=12).contains(&month) || day == 0 || day > days_in_month(i64::from(year), month) {
            return Err(bad());
        }
        // Four digits and checked ranges: the narrowing conversions cannot fail.
        Ok(Day {
            year: i32::try_from(year).map_err(|_| bad())?,
            month: u8::try_from(month).map_err(|_| bad())?,
            day: u8::try_from(day).map_err(|_| bad())?,
        })
    }

    /// UTC nanoseconds at 00:00 of this day.
    pub fn start_ns(self) -> i64 {
        days_from_civil(i64::from(self.year), self.month.into(), self.day.into())
            .saturating_mul(86_400 * 1_000_000_000)
    }
}

impl fmt::Display for Day {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

impl Serialize for Day {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Day {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Day::parse(&text).map_err(de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check_rate(text: &str, nano: i64, shown: &str) {
        let rate = Rate::parse_usd(text).unwrap();
        assert_eq!(rate.nano_per_million(), nano, "{text}");
        assert_eq!(rate.to_string(), shown, "{text}");
    }

    #[test]
    fn rates_parse_exactly() {
        check_rate("2.5", 2_500_000_000, "2.5");
        check_rate("0.075", 75_000_000, "0.075");
        check_rate("0.0375", 37_500_000, "0.0375");
        check_rate("10", 10_000_000_000, "10");
        check_rate("0", 0, "0");
        check_rate("0.000000001", 1, "0.000000001");
        check_rate("1.10", 1_100_000_000, "1.1");
    }

    #[test]
    fn bad_rates_say_how_to_write_them() {
        for bad in [
            "",
            "-1",
            "1e-6",
            ".5",
            "5.",
            "1.0000000001",
            "abc",
            "1,5",
            "99999999999",
        ] {
            let err = Rate::parse_usd(bad).unwrap_err();
            assert!(err.contains(bad.trim()), "{bad}: {err}");
        }
    }

    #[test]
    fn rates_refuse_json_floats() {
        let err = serde_json::from_str::<Rate>("2.5").unwrap_err().to_string();
        assert!(err.contains("decimal strings"), "{err}");
        assert_eq!(
            serde_json::from_str::<Rate>("\"2.5\"").unwrap().0,
            2_500_000_000
        );
        assert_eq!(serde_json::from_str::<Rate>("3").unwrap().0, 3_000_000_000);
        assert_eq!(
            serde_json::to_string(&Rate(1_250_000_000)).unwrap(),
            "\"1.25\""
        );
    }

    #[test]
    fn days_are_utc_midnights() {
        assert_eq!(Day::parse("1970-01-01").unwrap().start_ns(), 0);
        assert_eq!(
            Day::parse("2026-01-14").unwrap().start_ns(),
            1_768_348_800_000_000_000
        );
        assert_eq!(
            Day::parse("2000-02-29").unwrap().start_ns(),
            951_782_400_000_000_000
        );
        for bad in [
            "2025-02-29",
            "2025-13-01",
            "2025-1-01",
            "20250101",
            "2025-00-10",
            "x",
        ] {
            assert!(Day::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(Day::parse("2025-06-10").unwrap().to_string(), "2025-06-10");
    }
}

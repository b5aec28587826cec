//! Timestamps of native events: RFC 3339 / ISO-8601 strings and epoch numbers, parsed by hand
//! into UTC nanoseconds (days-from-civil arithmetic, no calendar crate).

use serde_json::Value;

const NANOS_PER_SEC: i128 = 1_000_000_000;

/// What a timestamp may look like, for error messages.
const EXPECTED: &str = "expected an RFC 3339 time such as \"2024-05-01T12:00:00.123Z\" or \"2024-05-01T14:00:00+02:00\", or epoch seconds, milliseconds, microseconds or nanoseconds as a number";

/// Parses a `timestamp` field value into UTC nanoseconds since the Unix epoch. Numbers are epoch
/// seconds, milliseconds, microseconds or nanoseconds, told apart by magnitude (seconds below
/// 1e11, i.e. until the year 5138; milliseconds below 1e14; microseconds below 1e17).
pub(crate) fn parse_timestamp(v: &Value) -> Result<i64, String> {
    let got = || match v {
        Value::String(s) => crate::otlp::excerpt(s),
        other => other.to_string(),
    };
    let parsed = match v {
        Value::Number(n) => match n.as_i64() {
            Some(i) => epoch_int(i),
            None => n
                .as_f64()
                .ok_or_else(|| "not a finite number".to_owned())
                .and_then(epoch_float),
        },
        Value::String(s) if is_decimal(s.trim()) => epoch_decimal(s.trim()),
        Value::String(s) => parse_rfc3339(s.trim()),
        _ => Err("not a string or number".to_owned()),
    };
    parsed.map_err(|why| {
        format!(
            "field 'timestamp' is not a valid time ({why}): {EXPECTED}; got {}",
            got()
        )
    })
}

fn is_decimal(s: &str) -> bool {
    !s.is_empty()
        && s.bytes().all(|b| b.is_ascii_digit() || b == b'.')
        && s.bytes().filter(|b| *b == b'.').count() <= 1
}

/// Nanoseconds per unit of an epoch number of this magnitude.
fn unit_nanos(magnitude: f64) -> i128 {
    if magnitude < 1e11 {
        NANOS_PER_SEC
    } else if magnitude < 1e14 {
        1_000_000
    } else if magnitude < 1e17 {
        1_000
    } else {
        1
    }
}

fn epoch_int(i: i64) -> Result<i64, String> {
    if i <= 0 {
        return Err("epoch times must be positive".to_owned());
    }
    to_i64(i128::from(i) * unit_nanos(i as f64))
}

/// A float epoch time. An f64 near today's epoch seconds resolves about 0.2 microseconds, so the
/// fraction is rounded to whole microseconds (`1714564800.123` is exactly .123 s).
fn epoch_float(f: f64) -> Result<i64, String> {
    if !f.is_finite() || f <= 0.0 {
        return Err("epoch times must be positive".to_owned());
    }
    if f >= 9.2e18 {
        return Err("after the year 2262".to_owned());
    }
    let unit = unit_nanos(f);
    let whole = i128::from(f.trunc() as i64) * unit;
    let fraction = if unit >= 1_000 {
        (f.fract() * (unit / 1_000) as f64).round() as i128 * 1_000
    } else {
        f.fract().round() as i128
    };
    to_i64(whole + fraction)
}

/// A decimal string such as `"1714564800.25"`, converted exactly (no float rounding).
fn epoch_decimal(s: &str) -> Result<i64, String> {
    let (int_part, frac_part) = s.split_once('.').unwrap_or((s, ""));
    let int: i64 = match int_part {
        "" => 0,
        digits => digits.parse().map_err(|_| "too many digits".to_owned())?,
    };
    if int <= 0 && frac_part.bytes().all(|b| b == b'0') {
        return Err("epoch times must be positive".to_owned());
    }
    let unit = unit_nanos(int as f64);
    // At most 18 fraction digits keep the arithmetic in i128; further digits are below 1 ns.
    let digits = &frac_part[..frac_part.len().min(18)];
    let scale = 10_i128.pow(digits.len() as u32);
    let fraction = digits.parse::<i128>().unwrap_or(0) * unit / scale;
    to_i64(i128::from(int) * unit + fraction)
}

fn to_i64(ns: i128) -> Result<i64, String> {
    i64::try_from(ns).map_err(|_| "outside the years 1677 to 2262".to_owned())
}

/// Days from 1970-01-01 to the given proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn is_leap(year: i64) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

struct Cursor<'a> {
    s: &'a [u8],
    pos: usize,
}

impl Cursor<'_> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.pos).copied()
    }

    fn eat(&mut self, c: u8) -> bool {
        let hit = self.peek() == Some(c);
        self.pos += usize::from(hit);
        hit
    }

    fn expect(&mut self, c: u8, what: &str) -> Result<(), String> {
        if self.eat(c) {
            Ok(())
        } else {
            Err(format!("expected '{}' {what}", char::from(c)))
        }
    }

    /// Exactly `n` digits.
    fn number(&mut self, n: usize, what: &str) -> Result<i64, String> {
        let digits = self
            .s
            .get(self.pos..self.pos + n)
            .filter(|d| d.iter().all(u8::is_ascii_digit));
        let digits = digits.ok_or_else(|| format!("{what} must be {n} digits"))?;
        self.pos += n;
        Ok(digits
            .iter()
            .fold(0, |acc, d| acc * 10 + i64::from(d - b'0')))
    }

    fn in_range(&mut self, n: usize, what: &str, max: i64) -> Result<i64, String> {
        let v = self.number(n, what)?;
        if v > max {
            return Err(format!("{what} {v} is out of range (0-{max})"));
        }
        Ok(v)
    }
}

/// `YYYY-MM-DD[(T|t| )HH:MM[:SS[.fraction]][Z|z|±HH:MM|±HHMM|±HH]]`. A time without an offset is
/// taken as UTC (as Python's `datetime.utcnow().isoformat()` writes it); a date alone is midnight
/// UTC. Fractions beyond nanoseconds are truncated; a leap second 60 rolls into the next minute.
pub(crate) fn parse_rfc3339(s: &str) -> Result<i64, String> {
    let mut c = Cursor {
        s: s.as_bytes(),
        pos: 0,
    };
    let year = c.number(4, "the year")?;
    c.expect(b'-', "after the year")?;
    let month = c.number(2, "the month")?;
    if !(1..=12).contains(&month) {
        return Err(format!("month {month} is out of range (01-12)"));
    }
    c.expect(b'-', "after the month")?;
    let day = c.number(2, "the day")?;
    if day < 1 || day > days_in_month(year, month) {
        return Err(format!("day {day} does not exist in {year:04}-{month:02}"));
    }
    let (mut hour, mut minute, mut second, mut nanos, mut offset_secs) = (0, 0, 0, 0, 0);
    if matches!(c.peek(), Some(b'T' | b't' | b' ')) {
        c.pos += 1;
        hour = c.in_range(2, "the hour", 23)?;
        c.expect(b':', "after the hour")?;
        minute = c.in_range(2, "the minute", 59)?;
        if c.eat(b':') {
            second = c.in_range(2, "the second", 60)?;
            if c.eat(b'.') || c.eat(b',') {
                let start = c.pos;
                while c.peek().is_some_and(|b| b.is_ascii_digit()) {
                    if c.pos - start < 9 {
                        nanos = nanos * 10 + i64::from(c.s[c.pos] - b'0');
                    }
                    c.pos += 1;
                }
                let len = c.pos - start;
                if len == 0 {
                    return Err("expected digits after the decimal point".to_owned());
                }
                nanos *= 10_i64.pow(9_u32.saturating_sub(len as u32));
            }
        }
        offset_secs = offset(&mut c)?;
    }
    if c.pos != c.s.len() {
        return Err(format!("unexpected text at character {}", c.pos + 1));
    }
    let days = i128::from(days_from_civil(year, month, day));
    let secs = days * 86_400 + i128::from(hour * 3600 + minute * 60 + second - offset_secs);
    to_i64(secs * NANOS_PER_SEC + i128::from(nanos))
}

/// The UTC offset in seconds: `Z`, `±HH:MM`, `±HHMM`, `±HH`, or nothing (UTC).
fn offset(c: &mut Cursor<'_>) -> Result<i64, String> {
    let sign = match c.peek() {
        None => return Ok(0),
        Some(b'Z' | b'z') => {
            c.pos += 1;
            return Ok(0);
        }
        Some(b'+') => 1,
        Some(b'-') => -1,
        Some(_) => {
            return Err(format!(
                "expected Z or a +HH:MM offset at character {}",
                c.pos + 1
            ))
        }
    };
    c.pos += 1;
    let hours = c.in_range(2, "the offset hour", 23)?;
    let minutes = match c.peek() {
        None => 0,
        Some(b':') => {
            c.pos += 1;
            c.in_range(2, "the offset minute", 59)?
        }
        Some(_) => c.in_range(2, "the offset minute", 59)?,
    };
    Ok(sign * (hours * 3600 + minutes * 60))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const SEC: i64 = 1_000_000_000;
    /// 2024-05-01T12:00:00Z
    const MAY_1: i64 = 1_714_564_800 * SEC;

    #[test]
    fn rfc3339_forms() {
        let check = |s: &str, expected: i64| assert_eq!(parse_rfc3339(s), Ok(expected), "{s}");
        check("1970-01-01T00:00:00Z", 0);
        check("2024-05-01T12:00:00Z", MAY_1);
        check("2024-05-01t12:00:00z", MAY_1);
        check("2024-05-01 12:00:00Z", MAY_1);
        check("2024-05-01T12:00Z", MAY_1);
        check("2024-05-01T12:00:00", MAY_1);
        check("2024-05-01T14:00:00+02:00", MAY_1);
        check("2024-05-01T14:00:00+0200", MAY_1);
        check("2024-05-01T14:00:00+02", MAY_1);
        check("2024-05-01T06:30:00-05:30", MAY_1);
        check("2024-05-02T01:00:00+13:00", MAY_1);
        check("2024-05-01", MAY_1 - 12 * 3600 * SEC);
        check("2024-05-01T12:00:00.5Z", MAY_1 + SEC / 2);
        check("2024-05-01T12:00:00,25Z", MAY_1 + SEC / 4);
        check("2024-05-01T12:00:00.123456789Z", MAY_1 + 123_456_789);
        check("2024-05-01T12:00:00.1234567891234Z", MAY_1 + 123_456_789);
        check("2016-12-31T23:59:60Z", 1_483_228_800 * SEC);
        check("1969-12-31T23:59:59Z", -SEC);
    }

    #[test]
    fn leap_years() {
        // 2024-02-29 exists; 2023-02-29 and 1900-02-29 do not; 2000-02-29 does.
        assert_eq!(
            parse_rfc3339("2024-02-29T00:00:00Z"),
            Ok(1_709_164_800 * SEC)
        );
        assert_eq!(
            parse_rfc3339("2024-03-01T00:00:00Z"),
            Ok(1_709_251_200 * SEC)
        );
        assert_eq!(parse_rfc3339("2000-02-29T00:00:00Z"), Ok(951_782_400 * SEC));
        assert!(parse_rfc3339("2023-02-29T00:00:00Z")
            .unwrap_err()
            .contains("day 29 does not exist"));
        assert!(parse_rfc3339("1900-02-29T00:00:00Z").is_err());
        assert_eq!(
            parse_rfc3339("2100-12-31T23:59:59Z"),
            Ok(4_133_980_799 * SEC)
        );
    }

    #[test]
    fn bad_input_says_what_is_wrong() {
        let check = |s: &str, why: &str| {
            let err = parse_rfc3339(s).unwrap_err();
            assert!(err.contains(why), "{s}: {err}");
        };
        check("", "the year must be 4 digits");
        check("24-05-01", "the year must be 4 digits");
        check("2024/05/01", "expected '-' after the year");
        check("2024-13-01T00:00:00Z", "month 13 is out of range");
        check("2024-04-31T00:00:00Z", "day 31 does not exist in 2024-04");
        check("2024-05-01T24:00:00Z", "the hour 24 is out of range");
        check("2024-05-01T12:60:00Z", "the minute 60 is out of range");
        check("2024-05-01T12:00:61Z", "the second 61 is out of range");
        check("2024-05-01T12:00:00.Z", "digits after the decimal point");
        check(
            "2024-05-01T12:00:00+2:00",
            "the offset hour must be 2 digits",
        );
        check("2024-05-01T12:00:00 UTC", "expected Z or a +HH:MM offset");
        check(
            "2024-05-01T12:00:00Zjunk",
            "unexpected text at character 21",
        );
        check("2300-01-01T00:00:00Z", "outside the years 1677 to 2262");
        check("May 1, 2024", "the year must be 4 digits");
    }

    #[test]
    fn epoch_numbers_by_magnitude() {
        let check = |v: Value, expected: i64| assert_eq!(parse_timestamp(&v), Ok(expected), "{v}");
        check(json!(1_714_564_800), MAY_1);
        check(json!(1_714_564_800.5), MAY_1 + SEC / 2);
        check(json!(1_714_564_800_123_i64), MAY_1 + 123_000_000);
        check(json!(1_714_564_800_123_456_i64), MAY_1 + 123_456_000);
        check(json!(1_714_564_800_123_456_789_i64), MAY_1 + 123_456_789);
        check(json!("1714564800"), MAY_1);
        check(json!("1714564800.25"), MAY_1 + SEC / 4);
        check(json!("1714564800.123456789"), MAY_1 + 123_456_789);
        check(json!("1714564800123.5"), MAY_1 + 123_500_000);
        check(json!(1_714_564_800.123), MAY_1 + 123_000_000);
        check(json!(1_714_564_800_123.25), MAY_1 + 123_250_000);
        check(json!("2024-05-01T12:00:00Z"), MAY_1);
    }

    #[test]
    fn bad_timestamps_name_the_field_and_the_forms() {
        for v in [
            json!(-5),
            json!("0.0"),
            json!(0),
            json!(true),
            json!("yesterday"),
            json!({}),
            json!(1e300),
        ] {
            let err = parse_timestamp(&v).unwrap_err();
            assert!(
                err.starts_with("field 'timestamp' is not a valid time ("),
                "{v}: {err}"
            );
            assert!(err.contains("RFC 3339"), "{err}");
        }
        assert!(parse_timestamp(&json!("yesterday"))
            .unwrap_err()
            .ends_with("got \"yesterday\""));
    }
}

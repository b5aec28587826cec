//! RFC 3339 / ISO-8601 text to and from UTC nanoseconds, by hand (no calendar crate): the one
//! parser every receiver, the API and normalization use.

use super::civil::{civil_from_days, days_from_civil, days_in_month};

const NANOS_PER_SEC: i128 = 1_000_000_000;

/// Formats UTC nanoseconds since the epoch as RFC 3339 with nanoseconds, e.g.
/// `2026-01-14T10:30:00.123456789Z`.
pub fn format_rfc3339(ns: i64) -> String {
    let secs = ns.div_euclid(1_000_000_000);
    let nanos = ns.rem_euclid(1_000_000_000);
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{nanos:09}Z",
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60
    )
}

fn to_i64(ns: i128) -> Result<i64, String> {
    i64::try_from(ns).map_err(|_| "outside the years 1677 to 2262".to_owned())
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
pub fn parse_rfc3339(s: &str) -> Result<i64, String> {
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
    if day < 1 || day > i64::from(days_in_month(year, month as u32)) {
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
    let days = i128::from(days_from_civil(year, month as u32, day as u32));
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

    const SEC: i64 = 1_000_000_000;
    /// 2024-05-01T12:00:00Z
    const MAY_1: i64 = 1_714_564_800 * SEC;

    #[test]
    fn formats_known_instants() {
        assert_eq!(format_rfc3339(0), "1970-01-01T00:00:00.000000000Z");
        assert_eq!(
            format_rfc3339(1_768_386_600_123_456_789),
            "2026-01-14T10:30:00.123456789Z"
        );
        assert_eq!(
            format_rfc3339(951_782_400_000_000_000),
            "2000-02-29T00:00:00.000000000Z"
        );
        assert_eq!(format_rfc3339(-1), "1969-12-31T23:59:59.999999999Z");
    }

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
}

//! Timestamps of native events: RFC 3339 / ISO-8601 strings (parsed by core's one parser) and
//! epoch numbers, into UTC nanoseconds.

use serde_json::Value;
use sightline_core::time::parse_rfc3339;

const NANOS_PER_SEC: i128 = 1_000_000_000;

/// What a timestamp may look like, for error messages.
const EXPECTED: &str = "expected an RFC 3339 time such as \"2024-05-01T12:00:00.123Z\" or \"2024-05-01T14:00:00+02:00\", or epoch seconds, milliseconds, microseconds or nanoseconds as a number";

/// Parses a `timestamp` field value into UTC nanoseconds since the Unix epoch. Numbers are epoch
/// seconds, milliseconds, microseconds or nanoseconds, told apart by magnitude (seconds below
/// 1e11, i.e. until the year 5138; milliseconds below 1e14; microseconds below 1e17).
pub(crate) fn parse_timestamp(v: &Value) -> Result<i64, String> {
    let got = || match v {
        Value::String(s) => crate::ingest::otlp::excerpt(s),
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const SEC: i64 = 1_000_000_000;
    /// 2024-05-01T12:00:00Z
    const MAY_1: i64 = 1_714_564_800 * SEC;

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

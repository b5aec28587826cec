//! Numbers, money, durations, times and errors as people read them on a page. Money stays
//! integer nano-USD until it becomes text here.

use sightline_core::time::format_rfc3339;

use crate::api::shapes::Observation;

const NANO_PER_USD: i128 = 1_000_000_000;

/// Nano-USD as dollars: `$1,234`, `$12.34`, `$0.0123`, `$0.000045`, `$0`; four significant
/// digits below a dollar, cents above, whole dollars from $10,000.
pub fn usd(nano: i64) -> String {
    let n = i128::from(nano);
    let (sign, n) = if n < 0 { ("-", -n) } else { ("", n) };
    if n == 0 {
        return "$0".into();
    }
    if n >= 10_000 * NANO_PER_USD {
        let dollars = (n + NANO_PER_USD / 2) / NANO_PER_USD;
        return format!("{sign}${}", group(dollars));
    }
    if n >= NANO_PER_USD {
        let cents = (n + 5_000_000) / 10_000_000;
        return format!("{sign}${}.{:02}", group(cents / 100), cents % 100);
    }
    // Below a dollar: keep four significant digits of the nine decimals.
    let digits = n.to_string().len() as u32; // 1..=9
    let keep = 4.min(digits);
    let drop = digits - keep;
    let scale = 10i128.pow(drop);
    let rounded = (n + scale / 2) / scale * scale;
    if rounded >= NANO_PER_USD {
        return format!("{sign}$1.00");
    }
    let text = format!("{rounded:09}");
    let trimmed = text.trim_end_matches('0');
    format!("{sign}$0.{trimmed}")
}

/// `optional` nano-USD, or an em dash when unknown.
pub fn usd_opt(nano: Option<i64>) -> String {
    nano.map(usd).unwrap_or_else(|| "—".into())
}

/// An integer with thousands separators.
fn group(n: i128) -> String {
    let s = n.to_string();
    let mut out = String::with_capacity(s.len() + s.len() / 3);
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A count: `950`, `12,345`, `1.2M`.
pub fn count(n: i64) -> String {
    let a = n.unsigned_abs();
    if a >= 10_000_000 {
        format!("{:.1}M", n as f64 / 1e6)
    } else {
        group(i128::from(n))
    }
}

/// A compact count for tight places (chart axes, badges): `950`, `12.3k`, `1.2M`.
pub fn short(n: f64) -> String {
    let a = n.abs();
    if a >= 1e9 {
        format!("{:.1}G", n / 1e9)
    } else if a >= 1e6 {
        format!("{:.1}M", n / 1e6)
    } else if a >= 1e4 {
        format!("{:.0}k", n / 1e3)
    } else if a >= 1e3 {
        format!("{:.1}k", n / 1e3)
    } else if a >= 10.0 || a == a.trunc() {
        format!("{n:.0}")
    } else {
        format!("{n:.2}")
    }
}

/// A duration: `850µs`, `12ms`, `1.23s`, `2m 03s`, `1h 05m`.
pub fn duration(ns: i64) -> String {
    let ns = ns.max(0);
    if ns < 1_000_000 {
        return format!("{}µs", ns / 1_000);
    }
    if ns < 1_000_000_000 {
        let ms = ns as f64 / 1e6;
        return if ms < 10.0 {
            format!("{ms:.1}ms")
        } else {
            format!("{ms:.0}ms")
        };
    }
    if ns < 60_000_000_000 {
        return format!("{:.2}s", ns as f64 / 1e9);
    }
    let secs = ns / 1_000_000_000;
    if secs < 3_600 {
        return format!("{}m {:02}s", secs / 60, secs % 60);
    }
    format!("{}h {:02}m", secs / 3_600, (secs % 3_600) / 60)
}

/// Milliseconds (as the API's latency fields give them) as a duration.
pub fn millis(ms: f64) -> String {
    duration((ms * 1e6) as i64)
}

/// A rate in [0, 1] as a percentage: `0%`, `2.5%`, `100%`.
pub fn percent(rate: f64) -> String {
    let p = rate * 100.0;
    if p == 0.0 || p >= 10.0 {
        format!("{p:.0}%")
    } else {
        format!("{p:.1}%")
    }
}

/// UTC time of day, `18:26:45`, with the date when `ns` is not in the UTC day of `now_ns`.
pub fn time(ns: i64, now_ns: i64) -> String {
    let text = format_rfc3339(ns);
    let same_day = text.get(..10) == format_rfc3339(now_ns).get(..10);
    match (text.get(..10), text.get(11..19)) {
        (Some(date), Some(clock)) if !same_day => format!("{} {clock}", &date[5..]),
        (_, Some(clock)) => clock.to_owned(),
        _ => text,
    }
}

/// The ISO form for `<time datetime>` (the browser shows it in local time).
pub fn iso(ns: i64) -> String {
    format_rfc3339(ns)
}

/// How long ago, roughly: `just now`, `45s ago`, `12m ago`, `3h ago`, `2d ago`.
pub fn ago(ns: i64, now_ns: i64) -> String {
    let s = (now_ns - ns) / 1_000_000_000;
    match s {
        s if s < 5 => "just now".into(),
        s if s < 60 => format!("{s}s ago"),
        s if s < 3_600 => format!("{}m ago", s / 60),
        s if s < 86_400 => format!("{}h ago", s / 3_600),
        s => format!("{}d ago", s / 86_400),
    }
}

/// The first `n` characters of `s`, with an ellipsis when cut.
pub fn clip(s: &str, n: usize) -> String {
    match s.char_indices().nth(n) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_owned(),
    }
}

/// A trace or span id shortened for display (the full id stays in links and titles).
pub fn short_id(id: &str) -> &str {
    id.get(..8).unwrap_or(id)
}

/// What went wrong in `o`, in one line.
pub fn error_line(o: &Observation) -> String {
    let e = o.error.as_ref();
    match (
        e.and_then(|e| e.error_type.as_deref()),
        e.and_then(|e| e.message.as_deref())
            .or(o.status_message.as_deref()),
    ) {
        (Some(t), Some(m)) => format!("{t}: {m}"),
        (Some(t), None) => t.to_owned(),
        (None, Some(m)) => m.to_owned(),
        (None, None) => "failed".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_reads_like_money() {
        for (nano, text) in [
            (0, "$0"),
            (1, "$0.000000001"),
            (45_000, "$0.000045"),
            (6_668_750, "$0.006669"),
            (12_345_678, "$0.01235"),
            (999_999_999, "$1.00"),
            (1_000_000_000, "$1.00"),
            (12_345_000_000, "$12.35"),
            (1_234_567_000_000, "$1,234.57"),
            (12_345_678_000_000, "$12,346"),
            (-2_500_000_000, "-$2.50"),
        ] {
            assert_eq!(usd(nano), text, "{nano}");
        }
        assert_eq!(usd_opt(None), "—");
    }

    #[test]
    fn durations_counts_and_rates() {
        assert_eq!(duration(850_000), "850µs");
        assert_eq!(duration(1_500_000), "1.5ms");
        assert_eq!(duration(502_203_569), "502ms");
        assert_eq!(duration(1_272_707_574), "1.27s");
        assert_eq!(duration(123_000_000_000), "2m 03s");
        assert_eq!(duration(3_900_000_000_000), "1h 05m");
        assert_eq!(millis(820.0), "820ms");
        assert_eq!(count(1_234_567), "1,234,567");
        assert_eq!(count(12_345_678), "12.3M");
        assert_eq!(short(12_345.0), "12k");
        assert_eq!(short(1_234.0), "1.2k");
        assert_eq!(short(0.25), "0.25");
        assert_eq!(percent(0.025), "2.5%");
        assert_eq!(percent(0.5), "50%");
        assert_eq!(percent(0.0), "0%");
        assert_eq!(clip("héllo world", 5), "héllo…");
        assert_eq!(clip("hi", 5), "hi");
    }

    #[test]
    fn times_show_the_date_only_on_other_days() {
        let now = 1_796_408_805_000_000_000; // 2026-12-04T18:26:45Z
        assert_eq!(time(now - 60_000_000_000, now), "18:25:45");
        assert_eq!(time(now - 86_400_000_000_000, now), "12-03 18:26:45");
        assert_eq!(ago(now - 3_000_000_000, now), "just now");
        assert_eq!(ago(now - 7_200_000_000_000, now), "2h ago");
    }
}

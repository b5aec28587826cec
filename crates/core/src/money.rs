//! Money is integer nano-USD (1e-9 USD) everywhere; this is the one place it is turned into
//! text (exact decimals for machines, rounded dollars for people) or read from float USD.

/// Nano-USD in one US dollar.
pub const NANO_PER_USD: i64 = 1_000_000_000;

/// `nano` nano-USD as an exact decimal string of USD with no trailing zeros (`1.5`,
/// `0.000004`, `-2`): what JSON and Prometheus show.
pub fn usd_exact(nano: i128) -> String {
    decimal_e9(nano)
}

/// An integer count of billionths (nano-USD, nanoseconds) as the exact decimal of the whole
/// unit, with no trailing zeros: `1_500_000_000` is `1.5`.
pub fn decimal_e9(n: i128) -> String {
    let sign = if n < 0 { "-" } else { "" };
    let n = n.unsigned_abs();
    let per = NANO_PER_USD as u128;
    let (whole, frac) = (n / per, n % per);
    if frac == 0 {
        return format!("{sign}{whole}");
    }
    let digits = format!("{frac:09}");
    format!("{sign}{whole}.{}", digits.trim_end_matches('0'))
}

/// `nano` nano-USD for people: `$12.34` from one dollar up, else up to six decimals without
/// trailing zeros (`$0.0012`), `<$0.000001` for a positive amount below that, `$0` for zero.
pub fn usd_display(nano: i64) -> String {
    if nano == 0 {
        return "$0".to_string();
    }
    if nano < 0 {
        return format!("-{}", usd_display(nano.saturating_neg()));
    }
    if nano < 1_000 {
        return "<$0.000001".to_string();
    }
    let dollars = nano / NANO_PER_USD;
    let frac = nano % NANO_PER_USD;
    if dollars >= 1 {
        return format!("${dollars}.{:02}", frac / 10_000_000);
    }
    let micros = format!("{:06}", frac / 1_000);
    format!("$0.{}", micros.trim_end_matches('0'))
}

/// US dollars (as senders report them) to integer nano-USD, rounding half away from zero;
/// `None` when negative, not finite, or too large for an `i64`.
pub fn usd_to_nano(usd: f64) -> Option<i64> {
    let nano = (usd * 1e9).round();
    (usd.is_finite() && usd >= 0.0 && nano < 9.0e18).then_some(nano as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_text_keeps_every_digit() {
        for (nano, want) in [
            (0, "0"),
            (1_500_000_000, "1.5"),
            (4_000, "0.000004"),
            (1, "0.000000001"),
            (-2_000_000_000, "-2"),
            (-250_000_000, "-0.25"),
            (12_345_678_901, "12.345678901"),
            (i128::from(i64::MIN), "-9223372036.854775808"),
            (i128::from(i64::MAX) * 3, "27670116110.564327421"),
        ] {
            assert_eq!(usd_exact(nano), want, "{nano}");
        }
    }

    #[test]
    fn display_rounds_for_people() {
        for (nano, want) in [
            (0, "$0"),
            (999, "<$0.000001"),
            (1_200, "$0.000001"),
            (1_200_000, "$0.0012"),
            (50_000_000, "$0.05"),
            (12_345_678_901, "$12.34"),
            (-1_200_000, "-$0.0012"),
        ] {
            assert_eq!(usd_display(nano), want, "{nano}");
        }
    }

    #[test]
    fn float_usd_rounds_to_the_nearest_nano() {
        assert_eq!(usd_to_nano(0.0000025), Some(2_500));
        assert_eq!(usd_to_nano(1.5), Some(1_500_000_000));
        assert_eq!(usd_to_nano(-1.0), None);
        assert_eq!(usd_to_nano(f64::NAN), None);
        assert_eq!(usd_to_nano(1e10), None);
    }
}

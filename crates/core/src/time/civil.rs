//! Calendar arithmetic on the proleptic Gregorian calendar (Howard Hinnant's algorithms): the
//! one place days since 1970-01-01 and (year, month, day) are converted into each other.

/// Nanoseconds in one UTC day.
pub const DAY_NS: i64 = 86_400 * 1_000_000_000;

/// Days from 1970-01-01 to the given date (negative before it).
pub fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let (month, day) = (i64::from(month), i64::from(day));
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Days since 1970-01-01 to (year, month, day).
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

pub fn is_leap(year: i64) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

/// Days in `month` (1-12) of `year`.
pub fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// UTC nanoseconds at 00:00 of the day that holds `ns`.
pub fn day_start_ns(ns: i64) -> i64 {
    ns.div_euclid(DAY_NS) * DAY_NS
}

/// UTC nanoseconds at 00:00 of the first day of the month that holds `ns`.
pub fn month_start_ns(ns: i64) -> i64 {
    let (y, m, _) = civil_from_days(ns.div_euclid(DAY_NS));
    days_from_civil(y, m, 1) * DAY_NS
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_every_day_of_four_centuries() {
        for days in -146_097..146_097 * 2 {
            let (y, m, d) = civil_from_days(days);
            assert!((1..=12).contains(&m) && d >= 1 && d <= days_in_month(y, m));
            assert_eq!(days_from_civil(y, m, d), days, "{y}-{m}-{d}");
        }
    }

    #[test]
    fn known_days() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        assert_eq!(civil_from_days(-1), (1969, 12, 31));
        assert!(is_leap(2000) && is_leap(2024) && !is_leap(1900) && !is_leap(2023));
        assert_eq!(days_in_month(2024, 2), 29);
        assert_eq!(days_in_month(2100, 2), 28);
    }

    #[test]
    fn day_and_month_starts() {
        let feb29 = days_from_civil(2024, 2, 29) * DAY_NS + 13 * 3_600_000_000_000;
        assert_eq!(day_start_ns(feb29), days_from_civil(2024, 2, 29) * DAY_NS);
        assert_eq!(month_start_ns(feb29), days_from_civil(2024, 2, 1) * DAY_NS);
        assert_eq!(day_start_ns(-1), -DAY_NS);
    }
}

//! Time, in UTC nanoseconds (`i64`) everywhere: the clock, calendar arithmetic, and RFC 3339
//! text. Each is written once here and used by every other crate.

mod civil;
mod clock;
mod rfc3339;

pub use civil::{
    civil_from_days, day_start_ns, days_from_civil, days_in_month, is_leap, month_start_ns, DAY_NS,
};
pub use clock::{Clock, ManualClock, SystemClock};
pub use rfc3339::{format_rfc3339, parse_rfc3339};

/// Nanoseconds in one second.
pub const SECOND_NS: i64 = 1_000_000_000;
/// Nanoseconds in one hour.
pub const HOUR_NS: i64 = 3_600 * SECOND_NS;

//! US equity options' regular session: 09:30 to 16:00 New York time,
//! Monday to Friday. Exits are managed only then (there is no one to trade
//! with otherwise). Exchange holidays are not modelled here: on one the
//! gateway simply has no quotes, and an exit waits for the next session.

use chrono::{DateTime, Datelike, NaiveTime, Utc, Weekday};
use chrono_tz::America::New_York;

/// Whether `at` falls in a regular session.
pub fn regular_session(at: DateTime<Utc>) -> bool {
    let local = at.with_timezone(&New_York);
    let open = NaiveTime::from_hms_opt(9, 30, 0).expect("valid time");
    let close = NaiveTime::from_hms_opt(16, 0, 0).expect("valid time");
    !matches!(local.weekday(), Weekday::Sat | Weekday::Sun)
        && local.time() >= open
        && local.time() < close
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone as _;

    #[test]
    fn the_session_is_new_york_time_on_weekdays() {
        let utc = |d, h, m| Utc.with_ymd_and_hms(2026, 11, d, h, m, 0).unwrap();
        // Monday 23 November, EST (UTC-5): 09:30 = 14:30 UTC.
        assert!(!regular_session(utc(23, 14, 29)));
        assert!(regular_session(utc(23, 14, 30)));
        assert!(regular_session(utc(23, 20, 59)));
        assert!(!regular_session(utc(23, 21, 0)));
        // Saturday.
        assert!(!regular_session(utc(28, 15, 0)));
        // Summer time (EDT, UTC-4): 09:30 = 13:30 UTC.
        let july = Utc.with_ymd_and_hms(2026, 7, 1, 13, 30, 0).unwrap();
        assert!(regular_session(july));
    }
}

use super::*;
use crate::clock::ManualClock;
use chrono::TimeZone as _;

fn d(y: i32, m: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, day).unwrap()
}

fn at(y: i32, m: u32, day: u32, h: u32, min: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, day, h, min, 0).unwrap()
}

#[test]
fn dte_counts_new_york_calendar_days() {
    let expiry = d(2026, 12, 18);
    let clock = ManualClock::new(at(2026, 11, 23, 14, 30));
    assert_eq!(days_to_expiry(&clock, expiry), 25);
    // 23:30 in New York on expiry day is 04:30 UTC the next day: still DTE 0.
    clock.set(at(2026, 12, 19, 4, 30));
    assert_eq!(days_to_expiry(&clock, expiry), 0);
    // Midnight in New York (05:00 UTC in winter) starts the next day.
    clock.set(at(2026, 12, 19, 5, 0));
    assert_eq!(days_to_expiry(&clock, expiry), -1);
    // In summer New York is UTC-4: 03:59 UTC is still the previous day.
    clock.set(at(2026, 7, 17, 3, 59));
    assert_eq!(eastern_date(clock.now()), d(2026, 7, 16));
    assert_eq!(days_to_expiry(&clock, d(2026, 7, 17)), 1);
}

#[test]
fn third_fridays() {
    assert_eq!(third_friday(2026, 12), Some(d(2026, 12, 18)));
    assert_eq!(third_friday(2026, 1), Some(d(2026, 1, 16)));
    // A month starting on a Friday: 1st, 8th, 15th.
    assert_eq!(third_friday(2027, 1), Some(d(2027, 1, 15)));
    assert_eq!(third_friday(2026, 13), None);
    assert_eq!(third_friday(2026, 0), None);
}

#[test]
fn holiday_fridays_move_the_expiry_to_thursday() {
    // Good Friday 2025 was April 18, the third Friday.
    assert_eq!(monthly_expiry(2025, 4), Some(d(2025, 4, 17)));
    // Juneteenth 2026 is Friday June 19, the third Friday.
    assert_eq!(monthly_expiry(2026, 6), Some(d(2026, 6, 18)));
    // Juneteenth 2027 is a Saturday, observed Friday June 18 (third Friday).
    assert_eq!(monthly_expiry(2027, 6), Some(d(2027, 6, 17)));
    // Before 2022 Juneteenth was not an exchange holiday.
    assert_eq!(monthly_expiry(2020, 6), Some(d(2020, 6, 19)));
    assert_eq!(monthly_expiry(2026, 4), Some(d(2026, 4, 17)));
    assert!(is_monthly_expiry(d(2026, 6, 18)));
    assert!(!is_monthly_expiry(d(2026, 6, 19)));
}

#[test]
fn easter_matches_known_dates() {
    for (y, m, day) in [
        (2024, 3, 31),
        (2025, 4, 20),
        (2026, 4, 5),
        (2038, 4, 25),
        (2285, 3, 22),
    ] {
        assert_eq!(easter_sunday(y), Some(d(y, m, day)), "{y}");
    }
}

#[test]
fn next_monthly_expiry_includes_today() {
    let clock = ManualClock::new(at(2026, 12, 18, 15, 0));
    assert_eq!(next_monthly_expiry(&clock), Some(d(2026, 12, 18)));
    clock.set(at(2026, 12, 19, 15, 0));
    assert_eq!(next_monthly_expiry(&clock), Some(d(2027, 1, 15)));
    assert_eq!(
        next_monthly_expiry_from(d(2026, 6, 18)),
        Some(d(2026, 6, 18))
    );
    assert_eq!(
        next_monthly_expiry_from(d(2026, 6, 19)),
        Some(d(2026, 7, 17))
    );
}

#[test]
fn expiries_within_a_dte_window() {
    let clock = ManualClock::new(at(2026, 11, 23, 15, 0));
    // 2026-12-18 is 25 days out, 2027-01-15 is 53, 2027-02-19 is 88.
    assert_eq!(
        monthly_expiries_within(&clock, 21, 60),
        vec![d(2026, 12, 18), d(2027, 1, 15)]
    );
    assert_eq!(
        monthly_expiries_within(&clock, 26, 52),
        Vec::<NaiveDate>::new()
    );
    assert_eq!(
        monthly_expiries_within(&clock, 60, 21),
        Vec::<NaiveDate>::new()
    );
    assert_eq!(
        monthly_expiries_within(&clock, 0, 100),
        vec![d(2026, 12, 18), d(2027, 1, 15), d(2027, 2, 19)]
    );
}

//! Option expiry calendar: days to expiry and monthly (third-Friday)
//! expirations, on US/Eastern dates.
//!
//! US equity options expire on New York dates, so "days to expiry" counts
//! calendar days from today's date in New York, not in UTC (at 21:00 in New
//! York it is already tomorrow in UTC). Each public function reads the
//! [`Clock`]; a private `..._from(today)` holds the logic so tests pin the
//! date without a clock.

use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc, Weekday};
use chrono_tz::America::New_York;

use crate::clock::Clock;

/// The New York calendar date at `at`.
pub fn eastern_date(at: DateTime<Utc>) -> NaiveDate {
    at.with_timezone(&New_York).date_naive()
}

/// Calendar days from today (New York) to `expiry`: 0 on expiry day,
/// negative once past. The DTE of the scanner and of exit rules.
pub fn days_to_expiry(clock: &dyn Clock, expiry: NaiveDate) -> i64 {
    days_to_expiry_from(eastern_date(clock.now()), expiry)
}

fn days_to_expiry_from(today: NaiveDate, expiry: NaiveDate) -> i64 {
    (expiry - today).num_days()
}

/// The third Friday of a month; `None` for a month outside 1-12 or a year
/// chrono cannot represent.
pub fn third_friday(year: i32, month: u32) -> Option<NaiveDate> {
    NaiveDate::from_weekday_of_month_opt(year, month, Weekday::Fri, 3)
}

/// The standard monthly expiration of a month: the third Friday, or the
/// Thursday before when that Friday is an exchange holiday (Good Friday, or
/// Juneteenth as observed from 2022).
pub fn monthly_expiry(year: i32, month: u32) -> Option<NaiveDate> {
    let friday = third_friday(year, month)?;
    Some(if is_friday_holiday(friday) {
        friday - Duration::days(1)
    } else {
        friday
    })
}

/// Whether `date` is its month's standard monthly expiration.
pub fn is_monthly_expiry(date: NaiveDate) -> bool {
    monthly_expiry(date.year(), date.month()) == Some(date)
}

/// The first monthly expiration on or after today (New York); `None` only
/// past the end of chrono's calendar.
pub fn next_monthly_expiry(clock: &dyn Clock) -> Option<NaiveDate> {
    next_monthly_expiry_from(eastern_date(clock.now()))
}

fn next_monthly_expiry_from(today: NaiveDate) -> Option<NaiveDate> {
    monthly_expiries_from(today).next()
}

/// Monthly expirations whose days to expiry lie in `dte_min..=dte_max`, in
/// date order: which months a scan with those bounds needs.
pub fn monthly_expiries_within(clock: &dyn Clock, dte_min: i64, dte_max: i64) -> Vec<NaiveDate> {
    monthly_expiries_within_from(eastern_date(clock.now()), dte_min, dte_max)
}

fn monthly_expiries_within_from(today: NaiveDate, dte_min: i64, dte_max: i64) -> Vec<NaiveDate> {
    monthly_expiries_from(today)
        .take_while(|e| days_to_expiry_from(today, *e) <= dte_max)
        .filter(|e| days_to_expiry_from(today, *e) >= dte_min)
        .collect()
}

/// Monthly expirations on or after `today`, in order (ends only where
/// chrono's calendar ends).
fn monthly_expiries_from(today: NaiveDate) -> impl Iterator<Item = NaiveDate> {
    let months = (0i32..).map(move |k| {
        let index = today.year() * 12 + today.month0() as i32 + k;
        (index.div_euclid(12), index.rem_euclid(12) as u32 + 1)
    });
    months
        .map_while(|(y, m)| monthly_expiry(y, m))
        .filter(move |e| *e >= today)
}

fn is_friday_holiday(friday: NaiveDate) -> bool {
    let good_friday = easter_sunday(friday.year()).map(|e| e - Duration::days(2));
    let juneteenth_observed = (friday.year() >= 2022)
        .then(|| NaiveDate::from_ymd_opt(friday.year(), 6, 19))
        .flatten()
        .map(|d| match d.weekday() {
            Weekday::Sat => d - Duration::days(1),
            Weekday::Sun => d + Duration::days(1),
            _ => d,
        });
    Some(friday) == good_friday || Some(friday) == juneteenth_observed
}

/// Gregorian Easter Sunday (the anonymous Gregorian computus).
fn easter_sunday(year: i32) -> Option<NaiveDate> {
    let a = year.rem_euclid(19);
    let b = year.div_euclid(100);
    let c = year.rem_euclid(100);
    let (d, e) = (b / 4, b % 4);
    let f = (b + 8) / 25;
    let g = (b - f + 1) / 3;
    let h = (19 * a + b - d - g + 15).rem_euclid(30);
    let (i, k) = (c / 4, c % 4);
    let l = (32 + 2 * e + 2 * i - h - k).rem_euclid(7);
    let m = (a + 11 * h + 22 * l) / 451;
    let month = (h + l - 7 * m + 114) / 31;
    let day = (h + l - 7 * m + 114) % 31 + 1;
    NaiveDate::from_ymd_opt(year, month as u32, day as u32)
}

#[cfg(test)]
#[path = "expiry_tests.rs"]
mod tests;

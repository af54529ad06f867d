//! The US equity calendar the simulated market runs on: New York local time
//! (with US daylight-saving rules, computed rather than looked up so no
//! time-zone database is needed), trading days, the regular session
//! (09:30-16:00 America/New_York) and option expiry dates.
//!
//! Trading days are weekdays that are not NYSE full-day holidays (New
//! Year's Day, Martin Luther King Jr. Day, Presidents' Day, Good Friday,
//! Memorial Day, Juneteenth, Independence Day, Labor Day, Thanksgiving,
//! Christmas), each computed from its rule with the usual observance (a
//! Saturday holiday is observed on the Friday before, a Sunday one on the
//! Monday after; New Year's Day on a Saturday is not observed). Early closes
//! (13:00 sessions) are not modelled. An expiry that falls on a holiday
//! Friday moves to the Thursday before, as listed options do.

use chrono::{
    DateTime, Datelike, Duration, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc, Weekday,
};

/// Seconds in one regular session (6.5 hours).
pub const SESSION_SECONDS: i64 = 23_400;

/// Offset of New York from UTC at `utc`: -4 h in daylight-saving time (from
/// 02:00 local on the second Sunday of March to 02:00 local on the first
/// Sunday of November), -5 h otherwise.
pub fn ny_offset_hours(utc: DateTime<Utc>) -> i64 {
    let year = utc.year();
    let dst_start_local = nth_weekday(year, 3, Weekday::Sun, 2)
        .and_hms_opt(2, 0, 0)
        .expect("valid time");
    let dst_end_local = nth_weekday(year, 11, Weekday::Sun, 1)
        .and_hms_opt(2, 0, 0)
        .expect("valid time");
    // 02:00 EST = 07:00 UTC; 02:00 EDT = 06:00 UTC.
    let start_utc = Utc.from_utc_datetime(&(dst_start_local + Duration::hours(5)));
    let end_utc = Utc.from_utc_datetime(&(dst_end_local + Duration::hours(4)));
    if utc >= start_utc && utc < end_utc {
        -4
    } else {
        -5
    }
}

/// New York wall-clock time at `utc`.
pub fn to_ny(utc: DateTime<Utc>) -> NaiveDateTime {
    utc.naive_utc() + Duration::hours(ny_offset_hours(utc))
}

/// The UTC instant of New York wall-clock time `local` (for the times this
/// crate uses, 09:30 and 16:00, there is no DST ambiguity).
pub fn from_ny(local: NaiveDateTime) -> DateTime<Utc> {
    // Try the EST reading, then check which offset applies there.
    let guess = Utc.from_utc_datetime(&(local + Duration::hours(5)));
    let off = ny_offset_hours(guess);
    Utc.from_utc_datetime(&(local - Duration::hours(off)))
}

/// The `n`-th (1-based) `weekday` of `month` in `year`.
pub fn nth_weekday(year: i32, month: u32, weekday: Weekday, n: u32) -> NaiveDate {
    let first = NaiveDate::from_ymd_opt(year, month, 1).expect("valid month");
    let shift = (7 + weekday.num_days_from_monday() - first.weekday().num_days_from_monday()) % 7;
    first + Duration::days(i64::from(shift + 7 * (n - 1)))
}

/// Whether `date` is a trading day (a weekday that is not a holiday).
pub fn is_trading_day(date: NaiveDate) -> bool {
    !matches!(date.weekday(), Weekday::Sat | Weekday::Sun) && !is_holiday(date)
}

/// Easter Sunday of `year` (anonymous Gregorian algorithm).
pub fn easter(year: i32) -> NaiveDate {
    let a = year % 19;
    let b = year / 100;
    let c = year % 100;
    let d = b / 4;
    let e = b % 4;
    let f = (b + 8) / 25;
    let g = (b - f + 1) / 3;
    let h = (19 * a + b - d - g + 15) % 30;
    let i = c / 4;
    let k = c % 4;
    let l = (32 + 2 * e + 2 * i - h - k) % 7;
    let m = (a + 11 * h + 22 * l) / 451;
    let month = (h + l - 7 * m + 114) / 31;
    let day = (h + l - 7 * m + 114) % 31 + 1;
    NaiveDate::from_ymd_opt(year, month as u32, day as u32).expect("Easter is a valid date")
}

/// The weekday a fixed-date holiday is observed on.
fn observed(date: NaiveDate) -> NaiveDate {
    match date.weekday() {
        Weekday::Sat => date - Duration::days(1),
        Weekday::Sun => date + Duration::days(1),
        _ => date,
    }
}

/// Whether `date` is an NYSE full-day holiday (as observed).
pub fn is_holiday(date: NaiveDate) -> bool {
    let y = date.year();
    let fixed = |m: u32, d: u32| NaiveDate::from_ymd_opt(y, m, d).expect("valid holiday date");
    let new_year = fixed(1, 1);
    let new_year_observed = if new_year.weekday() == Weekday::Sat {
        None
    } else {
        Some(observed(new_year))
    };
    let last_monday_may = nth_weekday(y, 6, Weekday::Mon, 1) - Duration::days(7);
    let mut days = vec![
        nth_weekday(y, 1, Weekday::Mon, 3),
        nth_weekday(y, 2, Weekday::Mon, 3),
        easter(y) - Duration::days(2),
        last_monday_may,
        observed(fixed(7, 4)),
        nth_weekday(y, 9, Weekday::Mon, 1),
        nth_weekday(y, 11, Weekday::Thu, 4),
        observed(fixed(12, 25)),
    ];
    days.extend(new_year_observed);
    if y >= 2022 {
        days.push(observed(fixed(6, 19)));
    }
    days.contains(&date)
}

/// The expiry date of the week whose Friday is `friday`: the Friday, or the
/// trading day before it when the Friday is a holiday.
pub fn expiry_for_friday(friday: NaiveDate) -> NaiveDate {
    if is_holiday(friday) {
        prev_trading_day(friday)
    } else {
        friday
    }
}

/// Whether `date` is a standard monthly expiry (the third Friday, or the
/// Thursday before it when that Friday is a holiday).
pub fn is_monthly_expiry(date: NaiveDate) -> bool {
    date == expiry_for_friday(nth_weekday(date.year(), date.month(), Weekday::Fri, 3))
}

/// The trading day after `date`.
pub fn next_trading_day(date: NaiveDate) -> NaiveDate {
    let mut d = date + Duration::days(1);
    while !is_trading_day(d) {
        d += Duration::days(1);
    }
    d
}

/// The trading day before `date`.
pub fn prev_trading_day(date: NaiveDate) -> NaiveDate {
    let mut d = date - Duration::days(1);
    while !is_trading_day(d) {
        d -= Duration::days(1);
    }
    d
}

/// Session open (09:30 New York) of `date`, as a UTC instant.
pub fn session_open(date: NaiveDate) -> DateTime<Utc> {
    from_ny(date.and_time(NaiveTime::from_hms_opt(9, 30, 0).expect("valid time")))
}

/// Session close (16:00 New York) of `date`, as a UTC instant. Options
/// expire at this instant on their expiry date.
pub fn session_close(date: NaiveDate) -> DateTime<Utc> {
    from_ny(date.and_time(NaiveTime::from_hms_opt(16, 0, 0).expect("valid time")))
}

/// Whether the regular session is open at `utc` (09:30 inclusive to 16:00
/// exclusive, New York time, on a trading day).
pub fn in_regular_session(utc: DateTime<Utc>) -> bool {
    let local = to_ny(utc);
    let date = local.date();
    is_trading_day(date) && utc >= session_open(date) && utc < session_close(date)
}

/// The New York calendar date of `utc`.
pub fn ny_date(utc: DateTime<Utc>) -> NaiveDate {
    to_ny(utc).date()
}

/// Whether `date` is the third Friday of its month (a standard monthly expiry).
pub fn is_third_friday(date: NaiveDate) -> bool {
    date == nth_weekday(date.year(), date.month(), Weekday::Fri, 3)
}

/// The first Friday on or after `date`.
pub fn friday_on_or_after(date: NaiveDate) -> NaiveDate {
    let shift =
        (7 + Weekday::Fri.num_days_from_monday() - date.weekday().num_days_from_monday()) % 7;
    date + Duration::days(i64::from(shift))
}

/// Option expiries listed on `today`: every Friday for the next
/// `weekly_weeks` weeks, then third Fridays until `months` months out (each
/// moved to Thursday when the Friday is a holiday). An expiry equal to
/// `today` is listed (it trades until the close).
pub fn listed_expiries(today: NaiveDate, weekly_weeks: u32, months: u32) -> Vec<NaiveDate> {
    let mut out = Vec::new();
    let first = friday_on_or_after(today);
    let weekly_end = today + Duration::weeks(i64::from(weekly_weeks));
    let mut d = first;
    while d <= weekly_end {
        let e = expiry_for_friday(d);
        if e >= today {
            out.push(e);
        }
        d += Duration::weeks(1);
    }
    let (mut y, mut m) = (today.year(), today.month());
    for _ in 0..=months {
        let third = expiry_for_friday(nth_weekday(y, m, Weekday::Fri, 3));
        if third >= today
            && !out.contains(&third)
            && third <= today + Duration::days(i64::from(months) * 31)
        {
            out.push(third);
        }
        if m == 12 {
            y += 1;
            m = 1;
        } else {
            m += 1;
        }
    }
    out.sort();
    out
}

/// `YYYYMMDD`, the date form TWS uses for expiries and daily bars.
pub fn yyyymmdd(date: NaiveDate) -> String {
    date.format("%Y%m%d").to_string()
}

/// Parses `YYYYMMDD` (also accepts `YYYY-MM-DD`).
pub fn parse_yyyymmdd(text: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(text, "%Y%m%d")
        .or_else(|_| NaiveDate::parse_from_str(text, "%Y-%m-%d"))
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn dst_switches_on_us_rules() {
        // 2026: DST from March 8 to November 1.
        assert_eq!(
            session_open(d(2026, 3, 6)).to_rfc3339(),
            "2026-03-06T14:30:00+00:00"
        );
        assert_eq!(
            session_open(d(2026, 3, 9)).to_rfc3339(),
            "2026-03-09T13:30:00+00:00"
        );
        assert_eq!(
            session_close(d(2026, 10, 30)).to_rfc3339(),
            "2026-10-30T20:00:00+00:00"
        );
        assert_eq!(
            session_close(d(2026, 11, 2)).to_rfc3339(),
            "2026-11-02T21:00:00+00:00"
        );
    }

    #[test]
    fn regular_session_bounds() {
        let day = d(2026, 11, 20); // a Friday
        assert!(!in_regular_session(
            session_open(day) - Duration::seconds(1)
        ));
        assert!(in_regular_session(session_open(day)));
        assert!(in_regular_session(
            session_close(day) - Duration::seconds(1)
        ));
        assert!(!in_regular_session(session_close(day)));
        assert!(!in_regular_session(
            session_open(d(2026, 11, 21)) + Duration::hours(1)
        ));
    }

    #[test]
    fn third_friday_and_expiries() {
        assert_eq!(nth_weekday(2026, 12, Weekday::Fri, 3), d(2026, 12, 18));
        assert!(is_third_friday(d(2027, 1, 15)));
        let ex = listed_expiries(d(2026, 11, 23), 8, 12);
        assert_eq!(ex[0], d(2026, 11, 27));
        assert!(ex.contains(&d(2027, 11, 19)), "a year of monthlies: {ex:?}");
        assert!(ex.windows(2).all(|w| w[0] < w[1]));
        assert!(is_third_friday(*ex.last().unwrap()));
        // Christmas 2026 is a Friday: that week expires on Thursday the 24th.
        assert!(ex.contains(&d(2026, 12, 24)) && !ex.contains(&d(2026, 12, 25)));
        assert!(ex.iter().all(|e| is_trading_day(*e)));
        assert!(
            ex.iter()
                .all(|e| e.weekday() == Weekday::Fri || is_holiday(*e + Duration::days(1)))
        );
    }

    #[test]
    fn nyse_holidays_follow_their_rules() {
        let h2026 = [
            (1, 1),
            (1, 19),
            (2, 16),
            (4, 3),
            (5, 25),
            (6, 19),
            (7, 3),
            (9, 7),
            (11, 26),
            (12, 25),
        ];
        let h2027 = [
            (1, 1),
            (1, 18),
            (2, 15),
            (3, 26),
            (5, 31),
            (6, 18),
            (7, 5),
            (9, 6),
            (11, 25),
            (12, 24),
        ];
        for (y, list) in [(2026, h2026), (2027, h2027)] {
            let found: Vec<NaiveDate> = (1..=365)
                .filter_map(|n| NaiveDate::from_yo_opt(y, n))
                .filter(|x| is_holiday(*x))
                .collect();
            let expected: Vec<NaiveDate> = list.iter().map(|(m, day)| d(y, *m, *day)).collect();
            assert_eq!(found, expected, "{y}");
        }
        assert_eq!(easter(2026), d(2026, 4, 5));
        assert!(
            !is_holiday(d(2022, 1, 1)) && !is_holiday(d(2021, 12, 31)),
            "Saturday New Year not observed"
        );
        assert!(!is_trading_day(d(2026, 11, 26)));
        assert_eq!(next_trading_day(d(2026, 11, 25)), d(2026, 11, 27));
        assert!(is_monthly_expiry(d(2026, 12, 18)) && !is_monthly_expiry(d(2026, 12, 24)));
    }

    #[test]
    fn trading_day_steps_skip_weekends() {
        assert_eq!(next_trading_day(d(2026, 11, 20)), d(2026, 11, 23));
        assert_eq!(prev_trading_day(d(2026, 11, 23)), d(2026, 11, 20));
        assert_eq!(parse_yyyymmdd("20261218"), Some(d(2026, 12, 18)));
        assert_eq!(yyyymmdd(d(2026, 12, 18)), "20261218");
    }
}

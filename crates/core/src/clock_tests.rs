use super::*;
use chrono::TimeZone as _;

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 23, 13, 30, 0).unwrap()
}

#[test]
fn manual_clock_moves_only_when_told() {
    let c = ManualClock::new(t0());
    assert_eq!(c.now(), t0());
    std::thread::sleep(Duration::from_millis(5));
    assert_eq!(c.now(), t0());
    c.advance(chrono::Duration::minutes(390));
    assert_eq!(
        c.now(),
        Utc.with_ymd_and_hms(2026, 11, 23, 20, 0, 0).unwrap()
    );
    c.advance(chrono::Duration::minutes(-30));
    assert_eq!(
        c.now(),
        Utc.with_ymd_and_hms(2026, 11, 23, 19, 30, 0).unwrap()
    );
    c.set(t0());
    assert_eq!(c.now(), t0());
    assert_eq!(
        c.real_duration_for(Duration::from_secs(60)),
        Duration::from_secs(60)
    );
    assert_eq!(
        c.real_duration_until(t0() + chrono::Duration::seconds(90)),
        Duration::from_secs(90)
    );
    assert_eq!(
        c.real_duration_until(t0() - chrono::Duration::seconds(90)),
        Duration::ZERO
    );
    // An overflowing advance leaves the time where it was instead of panicking.
    c.advance(chrono::Duration::MAX);
    assert_eq!(c.now(), t0());
}

#[test]
fn system_clock_follows_the_wall() {
    let before = Utc::now();
    let now = SystemClock.now();
    assert!(now >= before && now <= Utc::now());
}

#[test]
fn accelerated_clock_runs_at_its_speed() {
    let c = AcceleratedClock::new(t0(), 3600.0).unwrap();
    let real = Instant::now();
    let a = c.now();
    std::thread::sleep(Duration::from_millis(50));
    let b = c.now();
    let real_ms = real.elapsed().as_secs_f64() * 1000.0;
    let simulated_ms = (b - a).num_milliseconds() as f64;
    // At least 50 ms of real time passed between the reads, at most `real_ms`.
    assert!(simulated_ms >= 50.0 * 3600.0 * 0.99, "{simulated_ms} ms");
    assert!(simulated_ms <= real_ms * 3600.0 * 1.01, "{simulated_ms} ms");
    assert_eq!(
        c.real_duration_for(Duration::from_secs(3600)),
        Duration::from_secs(1)
    );
    let ahead = c.real_duration_until(c.now() + chrono::Duration::hours(2));
    assert!(ahead <= Duration::from_secs(2) && ahead > Duration::from_millis(1900));
}

#[test]
fn accelerated_clock_is_monotone_across_threads_and_rebases() {
    let c = std::sync::Arc::new(AcceleratedClock::new(t0(), 60.0).unwrap());
    let readers: Vec<_> = (0..2)
        .map(|_| {
            let c = c.clone();
            std::thread::spawn(move || {
                let mut last = c.now();
                for _ in 0..20_000 {
                    let now = c.now();
                    assert!(now >= last, "{now} went back from {last}");
                    last = now;
                }
            })
        })
        .collect();
    for speed in [1.0, 1000.0, 0.5, 60.0] {
        let before = c.now();
        c.set_speed(speed).unwrap();
        assert!(c.now() >= before);
        assert_eq!(c.speed(), speed);
    }
    for r in readers {
        r.join().unwrap();
    }
}

#[test]
fn accelerated_clock_jumps_only_forward() {
    let c = AcceleratedClock::new(t0(), 1.0).unwrap();
    let later = t0() + chrono::Duration::hours(17);
    c.jump_to(later).unwrap();
    let now = c.now();
    assert!(now >= later && now < later + chrono::Duration::seconds(5));
    let err = c.jump_to(t0()).unwrap_err();
    assert!(matches!(err, ClockError::Backwards { to, .. } if to == t0()));
    assert!(c.now() >= later, "a refused jump leaves the clock alone");
}

#[test]
fn speeds_out_of_range_are_refused() {
    for bad in [0.0, -1.0, f64::NAN, f64::INFINITY, 0.0009, 2e6] {
        assert!(
            matches!(
                AcceleratedClock::new(t0(), bad),
                Err(ClockError::BadSpeed(_))
            ),
            "{bad}"
        );
    }
    let c = AcceleratedClock::new(t0(), 1_000_000.0).unwrap();
    assert!(c.set_speed(f64::NAN).is_err());
    assert_eq!(c.speed(), 1_000_000.0);
    // Extreme spans saturate instead of panicking.
    let slow = AcceleratedClock::new(t0(), 0.001).unwrap();
    assert_eq!(slow.real_duration_for(Duration::MAX), Duration::MAX);
}

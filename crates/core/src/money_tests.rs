use super::*;
use proptest::prelude::*;

fn p(s: &str) -> Price {
    s.parse().unwrap()
}

fn tick(s: &str) -> Tick {
    Tick::new(s.parse().unwrap()).unwrap()
}

#[test]
fn buys_round_down_and_sells_round_up() {
    assert_eq!(p("1.237").round_for(Side::Buy, Tick::NICKEL), p("1.2"));
    assert_eq!(p("1.237").round_for(Side::Sell, Tick::NICKEL), p("1.25"));
    // A credit combo limit is negative: a buy of -0.42 asks for more credit.
    assert_eq!(p("-0.42").round_for(Side::Buy, Tick::NICKEL), p("-0.45"));
    assert_eq!(p("-0.42").round_for(Side::Sell, Tick::NICKEL), p("-0.4"));
    // Already on the grid: unchanged either way.
    assert_eq!(p("2.15").round_for(Side::Buy, Tick::NICKEL), p("2.15"));
    assert_eq!(p("2.15").round_for(Side::Sell, Tick::NICKEL), p("2.15"));
}

#[test]
fn nearest_rounds_half_away_from_zero() {
    assert_eq!(
        p("1.225").round_to(Tick::NICKEL, TickRounding::Nearest),
        p("1.25")
    );
    assert_eq!(
        p("1.2249").round_to(Tick::NICKEL, TickRounding::Nearest),
        p("1.2")
    );
    assert_eq!(
        p("-1.225").round_to(Tick::NICKEL, TickRounding::Nearest),
        p("-1.25")
    );
}

#[test]
fn floats_from_models_need_an_explicit_rounding() {
    assert_eq!(
        Price::from_f64(2.999, Tick::PENNY, TickRounding::Up).unwrap(),
        p("3")
    );
    assert_eq!(
        Price::from_f64(1.1, Tick::PENNY, TickRounding::Down).unwrap(),
        p("1.1")
    );
    assert!(matches!(
        Price::from_f64(f64::NAN, Tick::PENNY, TickRounding::Up),
        Err(MoneyError::NotFinite(_))
    ));
    assert!(matches!(
        Price::from_f64(f64::INFINITY, Tick::PENNY, TickRounding::Up),
        Err(MoneyError::NotFinite(_))
    ));
    assert!(matches!(
        Price::from_f64(1e16, Tick::PENNY, TickRounding::Up),
        Err(MoneyError::OutOfRange { .. })
    ));
    assert_eq!(
        Money::from_f64(1234.5678, TickRounding::Nearest).unwrap(),
        "1234.57".parse().unwrap()
    );
}

#[test]
fn ticks_are_positive_and_bounded() {
    assert!(Tick::new(Decimal::ZERO).is_err());
    assert!(Tick::new("-0.01".parse().unwrap()).is_err());
    assert!(Tick::new("1000.01".parse().unwrap()).is_err());
    assert_eq!(tick("0.050"), Tick::NICKEL);
    assert_eq!(Tick::for_option_price(p("2.99")), Tick::PENNY);
    assert_eq!(Tick::for_option_price(p("3.00")), Tick::NICKEL);
    assert!(p("1.35").is_on_tick(Tick::NICKEL));
    assert!(!p("1.36").is_on_tick(Tick::NICKEL));
}

#[test]
fn text_input_is_bounded_and_errors_name_the_value() {
    assert_eq!(p("1e-2"), p("0.01"));
    let err = "12abc".parse::<Price>().unwrap_err();
    assert_eq!(err.to_string(), "`12abc` is not a decimal number");
    let err = "1000000000000001".parse::<Money>().unwrap_err();
    assert!(err.to_string().contains("1000000000000001"), "{err}");
    assert!("1000000000000000".parse::<Money>().is_ok());
    // The largest accepted inputs multiply without overflow.
    let big = p("-1000000000000000");
    assert_eq!(
        big.notional(u32::MAX, 100).value(),
        Decimal::from(-100_000_000_000_000_000i128) * Decimal::from(u32::MAX)
    );
}

#[test]
fn serde_writes_strings_and_reads_strings_or_numbers() {
    let json = serde_json::to_string(&p("1.250")).unwrap();
    assert_eq!(json, "\"1.25\"");
    assert_eq!(
        serde_json::from_str::<Price>("\"1.25\"").unwrap(),
        p("1.25")
    );
    assert_eq!(serde_json::from_str::<Price>("1.1").unwrap(), p("1.1"));
    assert_eq!(
        serde_json::from_str::<Money>("-7").unwrap(),
        "-7".parse().unwrap()
    );
    let err = serde_json::from_str::<Money>("\"x\"").unwrap_err();
    assert!(
        err.to_string().contains("`x` is not a decimal number"),
        "{err}"
    );
    assert!(serde_json::from_str::<Money>("1e300").is_err());
    assert_eq!(serde_json::from_str::<Tick>("0.05").unwrap(), Tick::NICKEL);
    assert!(serde_json::from_str::<Tick>("0").is_err());
}

#[test]
fn money_arithmetic_is_exact() {
    let fees: Money = ["0.65", "0.65", "1.0527"]
        .iter()
        .map(|s| s.parse::<Money>().unwrap())
        .sum();
    assert_eq!(fees.to_string(), "2.3527");
    assert_eq!(fees.round_cents().to_string(), "2.35");
    assert_eq!(p("2.15").notional(3, 100), "645".parse().unwrap());
    assert_eq!((-fees).abs(), fees);
}

fn ticks() -> impl Strategy<Value = Tick> {
    prop::sample::select(vec!["0.01", "0.05", "0.1", "0.25", "1", "0.005"])
        .prop_map(|s| Tick::new(s.parse().unwrap()).unwrap())
}

proptest! {
    #[test]
    fn rounding_lands_on_the_grid_within_one_tick(
        raw in -100_000_000i64..100_000_000, scale in 0u32..6, tick in ticks()
    ) {
        let value = Price::new(Decimal::new(raw, scale));
        let down = value.round_to(tick, TickRounding::Down);
        let up = value.round_to(tick, TickRounding::Up);
        let near = value.round_to(tick, TickRounding::Nearest);
        prop_assert!(down.is_on_tick(tick) && up.is_on_tick(tick) && near.is_on_tick(tick));
        prop_assert!(down <= value && value <= up);
        prop_assert!((up - down).value() <= tick.size());
        prop_assert!(near == down || near == up);
        prop_assert!((near - value).abs().value() * Decimal::TWO <= tick.size());
    }

    #[test]
    fn side_rounding_never_worsens_the_traders_price(
        raw in -100_000_000i64..100_000_000, scale in 0u32..6, tick in ticks()
    ) {
        let value = Price::new(Decimal::new(raw, scale));
        prop_assert!(value.round_for(Side::Buy, tick) <= value, "a buy pays no more");
        prop_assert!(value.round_for(Side::Sell, tick) >= value, "a sell receives no less");
    }

    #[test]
    fn rounding_is_idempotent_and_text_round_trips(
        raw in -100_000_000i64..100_000_000, scale in 0u32..6, tick in ticks()
    ) {
        let value = Price::new(Decimal::new(raw, scale));
        for r in [TickRounding::Down, TickRounding::Up, TickRounding::Nearest] {
            let once = value.round_to(tick, r);
            prop_assert_eq!(once.round_to(tick, r), once);
        }
        prop_assert_eq!(value.to_string().parse::<Price>().unwrap(), value);
        let json = serde_json::to_string(&value).unwrap();
        prop_assert_eq!(serde_json::from_str::<Price>(&json).unwrap(), value);
    }

    #[test]
    fn model_floats_round_within_a_tick_of_the_float(
        value in -10_000.0f64..10_000.0, tick in ticks()
    ) {
        let down = Price::from_f64(value, tick, TickRounding::Down).unwrap();
        let up = Price::from_f64(value, tick, TickRounding::Up).unwrap();
        prop_assert!(down.to_f64() <= value + 1e-9 && up.to_f64() >= value - 1e-9);
        prop_assert!((up - down).value() <= tick.size());
    }
}

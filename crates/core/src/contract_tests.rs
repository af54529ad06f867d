use super::*;
use std::collections::HashSet;

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

fn aapl_call(strike: &str) -> OptionContract {
    OptionContract::builder()
        .underlying("AAPL")
        .expiry(date(2026, 12, 18))
        .strike(strike.parse().unwrap())
        .right(Right::Call)
        .build()
        .unwrap()
}

#[test]
fn defaults_are_a_us_equity_option() {
    let c = aapl_call("150");
    assert_eq!(
        (c.multiplier(), c.exchange(), c.currency(), c.con_id()),
        (100, "SMART", "USD", None)
    );
}

#[test]
fn prints_and_parses_occ_symbols() {
    assert_eq!(aapl_call("150").to_string(), "AAPL  261218C00150000");
    assert_eq!(aapl_call("152.5").occ_symbol(), "AAPL  261218C00152500");
    let put = OptionContract::builder()
        .underlying("BRK B")
        .expiry(date(2027, 1, 15))
        .strike("0.5".parse().unwrap())
        .right(Right::Put)
        .build()
        .unwrap();
    assert_eq!(put.occ_symbol(), "BRKB  270115P00000500");
    let parsed: OptionContract = "AAPL  261218C00152500".parse().unwrap();
    assert_eq!(parsed, aapl_call("152.5"));
    let unpadded: OptionContract = "SPY261218P00600000".parse().unwrap();
    assert_eq!(unpadded.underlying(), "SPY");
    assert_eq!(unpadded.strike(), "600".parse().unwrap());
    assert_eq!(unpadded.right(), Right::Put);
}

#[test]
fn bad_occ_symbols_say_why() {
    for (text, reason) in [
        ("AAPL", "expected a root"),
        ("AAPL  261318C00150000", "not a calendar date"),
        ("AAPL  261218X00150000", "C or P"),
        ("AAPL  2612l8C00150000", "digits"),
        ("AAPL  261218C0015000é", "expected a root"),
    ] {
        let err = text.parse::<OptionContract>().unwrap_err();
        assert!(err.to_string().contains(reason), "{text}: {err}");
    }
    let err = "aapl  261218C00150000"
        .parse::<OptionContract>()
        .unwrap_err();
    assert!(
        matches!(
            err,
            ContractError::BadText {
                field: "underlying",
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn identity_ignores_routing_and_con_id() {
    let plain = aapl_call("150");
    let resolved = aapl_call("150").with_con_id(ConId(265_598));
    let routed = OptionContract::builder()
        .underlying("AAPL")
        .expiry(date(2026, 12, 18))
        .strike("150.000".parse().unwrap())
        .right(Right::Call)
        .exchange("CBOE")
        .build()
        .unwrap();
    assert_eq!(plain, resolved);
    assert_eq!(plain, routed);
    let set: HashSet<_> = [plain.clone(), resolved, routed].into_iter().collect();
    assert_eq!(set.len(), 1);
    assert_ne!(plain, aapl_call("155"));
    assert!(aapl_call("150") < aapl_call("155"));
    assert!(plain.same_series(&aapl_call("155")));
}

#[test]
fn builder_names_what_is_wrong() {
    let base = || {
        OptionContract::builder()
            .underlying("AAPL")
            .expiry(date(2026, 12, 18))
            .right(Right::Call)
    };
    assert_eq!(
        base().build().unwrap_err(),
        ContractError::Missing("strike")
    );
    let strike = |s: &str| {
        base()
            .strike(s.parse().unwrap())
            .build()
            .unwrap_err()
            .to_string()
    };
    assert!(strike("0").contains("above 0"));
    assert!(strike("-5").contains("above 0"));
    assert!(strike("100000").contains("below 100000"));
    assert!(strike("1.2345").contains("three decimals"));
    assert!(base().strike("1.2340".parse().unwrap()).build().is_ok());
    let err = base()
        .strike("100".parse().unwrap())
        .multiplier(0)
        .build()
        .unwrap_err();
    assert_eq!(err, ContractError::BadMultiplier);
    let err = base()
        .strike("100".parse().unwrap())
        .currency("usd")
        .build()
        .unwrap_err();
    assert!(err.to_string().contains("currency `usd`"), "{err}");
    let err = base()
        .strike("100".parse().unwrap())
        .expiry(date(2100, 1, 15))
        .build()
        .unwrap_err();
    assert_eq!(err, ContractError::BadExpiry(date(2100, 1, 15)));
    let err = OptionContract::builder().build().unwrap_err();
    assert_eq!(err, ContractError::Missing("underlying"));
}

#[test]
fn serde_round_trips_and_checks_on_the_way_in() {
    let c = aapl_call("152.5").with_con_id(ConId(42));
    let json = serde_json::to_string(&c).unwrap();
    assert!(
        json.contains("\"strike\":\"152.5\"") && json.contains("\"con_id\":42"),
        "{json}"
    );
    let back: OptionContract = serde_json::from_str(&json).unwrap();
    assert_eq!((back.clone(), back.con_id()), (c, Some(ConId(42))));
    let bad = json.replace("\"152.5\"", "\"-1\"");
    let err = serde_json::from_str::<OptionContract>(&bad).unwrap_err();
    assert!(err.to_string().contains("above 0"), "{err}");
    let stock = StockContract::new("MSFT")
        .unwrap()
        .with_con_id(ConId(272_093));
    let json = serde_json::to_string(&stock).unwrap();
    let back: StockContract = serde_json::from_str(&json).unwrap();
    assert_eq!(
        (back.symbol(), back.con_id()),
        ("MSFT", Some(ConId(272_093)))
    );
    assert!(StockContract::new("").is_err());
    assert!(StockContract::new(" MSFT").is_err());
    assert_eq!(StockContract::new("BRK B").unwrap().to_string(), "BRK B");
}

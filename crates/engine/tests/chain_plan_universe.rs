//! The chain plan loses no result: for every symbol of the simulated
//! universe, several seeds and both directions, a scan of only the planned
//! options ranks exactly the spreads a scan of every listed option ranks.

mod support;

use support::market_chain::{market, plan_case};
use vspread_core::SpreadKind;

const BULLISH: [SpreadKind; 2] = [SpreadKind::BullCall, SpreadKind::BullPut];
const BEARISH: [SpreadKind; 2] = [SpreadKind::BearPut, SpreadKind::BearCall];

#[test]
fn planned_scans_equal_full_scans_across_the_universe() {
    let mut cases = 0;
    let mut with_results = 0;
    for seed in [1, 7, 11] {
        let m = market(seed);
        for stock in m.stocks() {
            for kinds in [BULLISH, BEARISH] {
                let case = plan_case(&m, &stock.symbol, &kinds);
                assert_eq!(
                    support::market_chain::spreads_of(&case.planned),
                    support::market_chain::spreads_of(&case.full),
                    "seed {seed}, {} {kinds:?}",
                    stock.symbol
                );
                assert!(case.plan.options.len() <= case.listed_rows);
                cases += 1;
                with_results += usize::from(!case.full.rows.is_empty());
            }
        }
    }
    // The comparison means something only if most cases find spreads.
    assert!(with_results * 4 >= cases * 3, "{with_results} of {cases}");
}

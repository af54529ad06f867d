//! Quote requests per scan with the model-guided plan versus requesting
//! every strike of every expiry in the DTE window (target: at most a
//! quarter), over the simulated universe, both directions, three seeds;
//! and how long planning one chain takes.
//!
//! `cargo bench -p vspread-engine --bench chain_plan_requests`

#[path = "../tests/support/market_chain.rs"]
mod market_chain;

use std::time::Instant;

use market_chain::{market, plan_case};
use vspread_core::SpreadKind;

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

fn main() {
    let directions = [
        ("bullish", [SpreadKind::BullCall, SpreadKind::BullPut]),
        ("bearish", [SpreadKind::BearPut, SpreadKind::BearCall]),
    ];
    let mut vs_every_strike = Vec::new();
    let mut vs_listed = Vec::new();
    let (mut planned, mut naive, mut listed) = (0usize, 0usize, 0usize);
    let mut plan_ms = Vec::new();
    for seed in [1, 7, 11] {
        let m = market(seed);
        for stock in m.stocks() {
            for (_, kinds) in &directions {
                let started = Instant::now();
                let case = plan_case(&m, &stock.symbol, kinds);
                plan_ms.push(started.elapsed().as_secs_f64() * 1e3);
                assert_eq!(
                    market_chain::spreads_of(&case.planned),
                    market_chain::spreads_of(&case.full),
                    "the plan lost a result"
                );
                let n = case.plan.options.len();
                vs_every_strike.push(n as f64 / case.plan.naive_requests as f64);
                vs_listed.push(n as f64 / case.listed_rows as f64);
                planned += n;
                naive += case.plan.naive_requests;
                listed += case.listed_rows;
            }
        }
    }
    let cases = vs_every_strike.len();
    println!("chain plan over {cases} cases (20 symbols x 2 directions x 3 seeds)");
    println!(
        "quote requests vs every strike of the window: median {:.3}, max {:.3}, total {planned} / {naive} = {:.3}",
        median(&mut vs_every_strike),
        vs_every_strike.iter().cloned().fold(0.0, f64::max),
        planned as f64 / naive as f64
    );
    println!(
        "quote requests vs options listed in the window: median {:.3}, total {planned} / {listed} = {:.3}",
        median(&mut vs_listed),
        planned as f64 / listed as f64
    );
    println!(
        "plan + both scans per case: median {:.2} ms",
        median(&mut plan_ms)
    );
}

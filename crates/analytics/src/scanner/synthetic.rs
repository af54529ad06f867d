//! A synthetic option chain for benchmarks and demos: about 2,400 rows per
//! underlying, weekly and monthly expiries, realistic strike grids, prices
//! and greeks from Black-Scholes with skew, bid/ask spreads that widen for
//! cheap and far out-of-the-money options. Deterministic for a seed.

use std::io::{self, Write};

use vspread_core::Right;

use crate::black_scholes::{greeks, price};

/// xorshift64*: tiny, fast and deterministic.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
    fn range(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.unit()
    }
}

fn symbol(i: usize) -> String {
    let mut s = String::new();
    let mut n = i + 26 * 26; // at least three letters
    while n > 0 {
        s.insert(0, (b'A' + (n % 26) as u8) as char);
        n /= 26;
    }
    s
}

/// Days from 2026-11-20 (a Friday) to each expiry: eight weeklies, then
/// monthlies (every fourth Friday as a stand-in) out to about a year.
fn expiries() -> Vec<(u32, i64)> {
    let base = (2026, 11, 20);
    let mut days: Vec<i64> = (1..=8).map(|w| w * 7).collect();
    days.extend((3..=13).map(|m| m * 28));
    days.into_iter()
        .map(|d| {
            let (mut y, mut m, mut day) = (base.0, base.1, base.2 + d);
            loop {
                let len = match m {
                    2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
                    2 => 28,
                    4 | 6 | 9 | 11 => 30,
                    _ => 31,
                };
                if day <= len {
                    break;
                }
                day -= len;
                m += 1;
                if m > 12 {
                    m = 1;
                    y += 1;
                }
            }
            ((y * 10000 + m * 100 + day as i32) as u32, d)
        })
        .collect()
}

fn strike_step(spot: f64) -> f64 {
    match spot {
        s if s < 25.0 => 0.5,
        s if s < 100.0 => 1.0,
        s if s < 250.0 => 2.5,
        s if s < 1000.0 => 5.0,
        _ => 10.0,
    }
}

fn round_to(x: f64, tick: f64) -> f64 {
    (x / tick).round() * tick
}

/// Writes a chain of `underlyings` underlyings as CSV; returns the row count.
pub fn write_synthetic_chain(
    w: &mut impl Write,
    underlyings: usize,
    seed: u64,
) -> io::Result<usize> {
    let n = underlyings;
    let mut rng = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
    writeln!(
        w,
        "underlying,underlying_price,expiry,dte,strike,right,bid,ask,delta,iv,open_interest,volume"
    )?;
    let expiries = expiries();
    let mut rows = 0usize;
    for u in 0..n {
        let sym = symbol(u);
        let spot = round_to((rng.range(2.5_f64.ln(), 7.0_f64.ln())).exp() * 10.0, 0.01);
        let base_vol = rng.range(0.15, 0.8);
        let step = strike_step(spot);
        for &(expiry, dte) in &expiries {
            let t = dte.max(1) as f64 / 365.0;
            let term = base_vol * (1.0 + 0.15 * (0.25 / t).sqrt().min(2.0));
            // Strikes within about 2.5 standard deviations, on the step grid.
            let half = (spot * term * t.sqrt() * 2.5).max(step * 5.0);
            let lo = (((spot - half) / step).floor() * step).max(step);
            let hi = ((spot + half) / step).ceil() * step;
            let mut k = lo;
            while k <= hi + 1e-9 {
                let strike = round_to(k, 0.01);
                let m = (strike / spot).ln();
                let vol = (term * (1.0 - 0.6 * m + 1.2 * m * m)).clamp(0.05, 3.0);
                for right in [Right::Call, Right::Put] {
                    let fair = price(right, spot, strike, t, vol, 0.0);
                    let g = greeks(right, spot, strike, t, vol, 0.0);
                    let tick = if fair < 3.0 { 0.01 } else { 0.05 };
                    let otm = (strike / spot - 1.0).abs();
                    let width =
                        (0.02 + 0.03 * fair + 0.1 * otm * fair).max(tick) * rng.range(0.8, 1.6);
                    let bid = round_to((fair - width / 2.0).max(0.0), tick);
                    let ask = round_to(fair + width / 2.0, tick).max(bid + tick);
                    let oi = (rng.unit().powi(2) * 20_000.0 * (-otm * 8.0).exp()) as i64;
                    let volume = (oi as f64 * rng.range(0.0, 0.2)) as i64;
                    writeln!(
                        w,
                        "{sym},{spot:.2},{expiry},{dte},{strike},{},{bid:.2},{ask:.2},{:.4},{:.4},{oi},{volume}",
                        right.code(),
                        g.delta.clamp(-1.0, 1.0),
                        vol
                    )?;
                    rows += 1;
                }
                k += step;
            }
        }
    }
    Ok(rows)
}

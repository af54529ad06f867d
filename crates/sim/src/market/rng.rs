//! Seeded randomness for the market model: a SplitMix64 stream (one `u64` of
//! state, so it serialises trivially and replays identically on every
//! platform) and stateless hashes for values that must depend only on an
//! identity (a contract and a day), never on the order of calls.

use serde::{Deserialize, Serialize};

/// A SplitMix64 pseudo-random stream.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rng {
    state: u64,
}

impl Rng {
    /// A stream seeded from `seed` mixed with `stream` (so two streams of the
    /// same seed are independent).
    pub fn new(seed: u64, stream: u64) -> Self {
        Rng {
            state: mix(seed ^ mix(stream.wrapping_add(0x5851_F42D_4C95_7F2D))),
        }
    }

    /// Next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        mix(self.state)
    }

    /// Uniform in `(0, 1)` (never exactly 0 or 1).
    pub fn uniform(&mut self) -> f64 {
        ((self.next_u64() >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    }

    /// Standard normal (Box-Muller; one value per call, the pair's second half
    /// discarded so the state stays a single word).
    pub fn normal(&mut self) -> f64 {
        let u1 = self.uniform();
        let u2 = self.uniform();
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }
}

/// The SplitMix64 finaliser: a bijective 64-bit mix.
pub fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Hash of several words (order matters).
pub fn hash(parts: &[u64]) -> u64 {
    parts
        .iter()
        .fold(0x243F_6A88_85A3_08D3u64, |acc, &p| mix(acc ^ mix(p)))
}

/// Uniform in `(0, 1)` from a hash of `parts`.
pub fn hash_unit(parts: &[u64]) -> f64 {
    ((hash(parts) >> 11) as f64 + 0.5) / (1u64 << 53) as f64
}

/// A stable 64-bit code for a short string (FNV-1a).
pub fn str_code(text: &str) -> u64 {
    text.bytes().fold(0xCBF2_9CE4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01B3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_replay_and_differ() {
        let a: Vec<u64> = (0..5)
            .map({
                let mut r = Rng::new(7, 1);
                move |_| r.next_u64()
            })
            .collect();
        let b: Vec<u64> = (0..5)
            .map({
                let mut r = Rng::new(7, 1);
                move |_| r.next_u64()
            })
            .collect();
        let c: Vec<u64> = (0..5)
            .map({
                let mut r = Rng::new(8, 1);
                move |_| r.next_u64()
            })
            .collect();
        assert_eq!(a, b);
        assert_ne!(a, c);
    }

    #[test]
    fn normals_have_unit_moments() {
        let mut r = Rng::new(1, 2);
        let n = 50_000;
        let xs: Vec<f64> = (0..n).map(|_| r.normal()).collect();
        let mean = xs.iter().sum::<f64>() / n as f64;
        let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n as f64;
        assert!(mean.abs() < 0.02, "mean {mean}");
        assert!((var - 1.0).abs() < 0.03, "var {var}");
    }
}

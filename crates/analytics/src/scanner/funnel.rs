//! The filter funnel: for each kind, how many candidates each filter
//! removed, in the spec's order, so a user sees why a chain yields nothing.

use std::fmt;

use vspread_core::SpreadKind;

/// The filters, in the order the scan applies them (the spec's table order;
/// `Price` is the spec's "dropped unless price > 1e-6 and width - price >
/// 1e-6" rule).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Filter {
    Kinds,
    Dte,
    Width,
    OpenInterest,
    LegSpread,
    ShortDelta,
    Price,
    DebitCreditRatio,
    Pop,
    Score,
}

impl Filter {
    pub const ALL: [Filter; 10] = [
        Filter::Kinds,
        Filter::Dte,
        Filter::Width,
        Filter::OpenInterest,
        Filter::LegSpread,
        Filter::ShortDelta,
        Filter::Price,
        Filter::DebitCreditRatio,
        Filter::Pop,
        Filter::Score,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Filter::Kinds => "kinds",
            Filter::Dte => "dte_min/dte_max",
            Filter::Width => "width_min/width_max",
            Filter::OpenInterest => "min_open_interest",
            Filter::LegSpread => "max_leg_spread_pct",
            Filter::ShortDelta => "short_delta_min/max",
            Filter::Price => "price > 0 and < width",
            Filter::DebitCreditRatio => "max_debit_to_width / min_credit_to_width",
            Filter::Pop => "min_pop",
            Filter::Score => "min_score",
        }
    }

    /// The config keys that set it (none for the spec's fixed price rule).
    pub fn keys(self) -> &'static [&'static str] {
        match self {
            Filter::Kinds => &["scanner.kinds"],
            Filter::Dte => &["scanner.dte_min", "scanner.dte_max"],
            Filter::Width => &["scanner.width_min", "scanner.width_max"],
            Filter::OpenInterest => &["scanner.min_open_interest"],
            Filter::LegSpread => &["scanner.max_leg_spread_pct"],
            Filter::ShortDelta => &["scanner.short_delta_min", "scanner.short_delta_max"],
            Filter::Price => &[],
            Filter::DebitCreditRatio => {
                &["scanner.max_debit_to_width", "scanner.min_credit_to_width"]
            }
            Filter::Pop => &["scanner.min_pop"],
            Filter::Score => &["scanner.min_score"],
        }
    }
}

/// Counts for one kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct KindFunnel {
    /// Every candidate of this kind in the chain.
    pub candidates: u64,
    /// Removed by each filter, indexed like [`Filter::ALL`].
    pub removed: [u64; 10],
    /// Passed every filter.
    pub passed: u64,
    /// In the output after `top_per_underlying` and `max_results`.
    pub kept: u64,
}

/// Counts for all four kinds, indexed like [`SpreadKind::ALL`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Funnel {
    pub kinds: [KindFunnel; 4],
    /// Candidate pairs whose filters were actually evaluated (pairs outside
    /// the width bounds or in excluded groups are counted, never touched).
    pub pairs_evaluated: u64,
}

pub(crate) fn kind_index(kind: SpreadKind) -> usize {
    kind as usize
}

impl Funnel {
    pub fn kind(&self, kind: SpreadKind) -> &KindFunnel {
        &self.kinds[kind_index(kind)]
    }

    pub(crate) fn add(&mut self, other: &Funnel) {
        for (a, b) in self.kinds.iter_mut().zip(&other.kinds) {
            a.candidates += b.candidates;
            for (x, y) in a.removed.iter_mut().zip(&b.removed) {
                *x += y;
            }
            a.passed += b.passed;
            a.kept += b.kept;
        }
        self.pairs_evaluated += other.pairs_evaluated;
    }

    /// Every candidate of every kind.
    pub fn candidates(&self) -> u64 {
        self.kinds.iter().map(|k| k.candidates).sum()
    }
}

impl fmt::Display for Funnel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:<42}", "filter funnel (candidates removed)")?;
        for k in SpreadKind::ALL {
            write!(f, "{:>14}", k.name())?;
        }
        writeln!(f)?;
        write!(f, "{:<42}", "candidates")?;
        for k in &self.kinds {
            write!(f, "{:>14}", k.candidates)?;
        }
        writeln!(f)?;
        for (i, filter) in Filter::ALL.iter().enumerate() {
            write!(f, "{:<42}", format!("- {}", filter.name()))?;
            for k in &self.kinds {
                write!(f, "{:>14}", k.removed[i])?;
            }
            writeln!(f)?;
        }
        write!(f, "{:<42}", "passed every filter")?;
        for k in &self.kinds {
            write!(f, "{:>14}", k.passed)?;
        }
        writeln!(f)?;
        write!(f, "{:<42}", "kept (top_per_underlying, max_results)")?;
        for k in &self.kinds {
            write!(f, "{:>14}", k.kept)?;
        }
        writeln!(f)
    }
}

//! Chain rows, the row rules that need more than one row, and the grouped,
//! column-oriented layout the scan runs on.

use std::collections::HashMap;

use rayon::prelude::*;
use vspread_core::Right;

/// One option of a chain, already checked field by field. Borrowed, so the
/// CSV reader hands rows over without allocating.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OptionRow<'a> {
    pub underlying: &'a str,
    pub underlying_price: f64,
    /// `YYYYMMDD` as a number (sorts like the text).
    pub expiry: u32,
    pub dte: i64,
    pub strike: f64,
    pub right: Right,
    pub bid: f64,
    pub ask: f64,
    pub delta: f64,
    pub iv: f64,
    pub open_interest: i64,
    pub volume: i64,
}

impl OptionRow<'_> {
    /// The spec's rules for one row's values, in the table's column order:
    /// non-empty underlying, a real `YYYYMMDD` expiry, finite numbers,
    /// integers below 10^18 and each column's range. The CSV reader applies
    /// the same rules column by column while parsing; rows built from live
    /// quotes go through this check in [`ChainBuilder::push`].
    pub fn check(&self) -> Result<(), RowProblem> {
        if self.underlying.is_empty() {
            return Err(problem("underlying", "empty"));
        }
        rules::underlying_price(self.underlying_price)?;
        if !rules::real_date(self.expiry) {
            return Err(problem(
                "expiry",
                format!("{} is not a YYYYMMDD date", self.expiry),
            ));
        }
        rules::dte(self.dte)?;
        rules::strike(self.strike)?;
        rules::bid(self.bid)?;
        rules::ask(self.ask, self.bid)?;
        rules::delta(self.delta, self.right)?;
        rules::iv(self.iv)?;
        rules::open_interest(self.open_interest)?;
        rules::volume(self.volume)
    }
}

pub(crate) fn problem(column: &'static str, reason: impl Into<String>) -> RowProblem {
    RowProblem {
        column,
        reason: reason.into(),
    }
}

/// Each column's range rule, shared by the CSV reader and [`OptionRow::check`].
pub(crate) mod rules {
    use vspread_core::Right;

    use super::{RowProblem, problem};

    /// Integer columns take magnitudes below this.
    pub const INTEGER_LIMIT: i64 = 1_000_000_000_000_000_000;

    fn finite(column: &'static str, x: f64) -> Result<f64, RowProblem> {
        if x.is_finite() {
            Ok(x)
        } else {
            Err(problem(column, format!("{x} is not finite")))
        }
    }

    fn positive(column: &'static str, x: f64) -> Result<(), RowProblem> {
        if finite(column, x)? > 0.0 {
            Ok(())
        } else {
            Err(problem(column, format!("{x} is not > 0")))
        }
    }

    fn non_negative_integer(column: &'static str, n: i64) -> Result<(), RowProblem> {
        if n.unsigned_abs() >= INTEGER_LIMIT.unsigned_abs() {
            Err(problem(
                column,
                format!("{n} is too large (at most 18 digits)"),
            ))
        } else if n < 0 {
            Err(problem(column, format!("{n} is negative")))
        } else {
            Ok(())
        }
    }

    pub fn underlying_price(x: f64) -> Result<(), RowProblem> {
        positive("underlying_price", x)
    }

    /// `YYYYMMDD` as a number names a real calendar date.
    pub fn real_date(n: u32) -> bool {
        let (year, month, day) = (n / 10_000, n / 100 % 100, n % 100);
        let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
        let days = match month {
            1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
            4 | 6 | 9 | 11 => 30,
            2 if leap => 29,
            2 => 28,
            _ => return false,
        };
        (1..=9999).contains(&year) && (1..=days).contains(&day)
    }

    pub fn dte(n: i64) -> Result<(), RowProblem> {
        non_negative_integer("dte", n)
    }

    pub fn strike(x: f64) -> Result<(), RowProblem> {
        positive("strike", x)
    }

    pub fn bid(x: f64) -> Result<(), RowProblem> {
        if finite("bid", x)? >= 0.0 {
            Ok(())
        } else {
            Err(problem("bid", format!("{x} is negative")))
        }
    }

    pub fn ask(ask: f64, bid: f64) -> Result<(), RowProblem> {
        if finite("ask", ask)? >= bid {
            Ok(())
        } else {
            Err(problem("ask", format!("{ask} is below the bid {bid}")))
        }
    }

    pub fn delta(delta: f64, right: Right) -> Result<(), RowProblem> {
        finite("delta", delta)?;
        let (range, ok) = match right {
            Right::Call => ("[0, 1] for a call", (0.0..=1.0).contains(&delta)),
            Right::Put => ("[-1, 0] for a put", (-1.0..=0.0).contains(&delta)),
        };
        if ok {
            Ok(())
        } else {
            Err(problem("delta", format!("{delta} is outside {range}")))
        }
    }

    pub fn iv(x: f64) -> Result<(), RowProblem> {
        positive("iv", x)
    }

    pub fn open_interest(n: i64) -> Result<(), RowProblem> {
        non_negative_integer("open_interest", n)
    }

    pub fn volume(n: i64) -> Result<(), RowProblem> {
        non_negative_integer("volume", n)
    }
}

/// Why a row was skipped.
#[derive(Debug, Clone, PartialEq)]
pub struct RowProblem {
    /// The first failing column, in the spec's table order.
    pub column: &'static str,
    pub reason: String,
}

/// A skipped row and where it was.
#[derive(Debug, Clone, PartialEq)]
pub struct BadRow {
    /// 1-based line in the file (the header is line 1); for rows pushed in
    /// memory, whatever position the caller passed.
    pub line: usize,
    pub problem: RowProblem,
}

/// One (expiry, right) of an underlying, sorted by strike, as columns.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Group {
    pub expiry: u32,
    pub dte: i64,
    pub right: Right,
    /// Each option's line (CSV) or position (live chain) as pushed: its
    /// identity, carried into the scan's rows.
    pub line: Vec<usize>,
    pub strike: Vec<f64>,
    pub bid: Vec<f64>,
    pub ask: Vec<f64>,
    pub delta: Vec<f64>,
    pub iv: Vec<f64>,
    pub open_interest: Vec<i64>,
}

/// All groups of one underlying, by expiry then right.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Underlying {
    pub symbol: String,
    pub price: f64,
    pub groups: Vec<Group>,
}

/// A checked chain in scan layout.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Chain {
    pub(crate) underlyings: Vec<Underlying>,
}

impl Chain {
    /// Number of options in the chain.
    pub fn len(&self) -> usize {
        self.underlyings
            .iter()
            .flat_map(|u| &u.groups)
            .map(|g| g.strike.len())
            .sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Number of underlyings.
    pub fn underlying_count(&self) -> usize {
        self.underlyings.len()
    }
}

/// A group as its rows arrive: columns in arrival order, and each leg's
/// line. Rows come by strike in practice, so [`GroupBuild::build`]
/// usually hands the columns over as they are.
#[derive(Debug, Default)]
struct GroupBuild {
    line: Vec<usize>,
    strike: Vec<f64>,
    bid: Vec<f64>,
    ask: Vec<f64>,
    delta: Vec<f64>,
    iv: Vec<f64>,
    open_interest: Vec<i64>,
}

impl GroupBuild {
    fn push(&mut self, line: usize, row: &OptionRow<'_>) {
        self.line.push(line);
        self.strike.push(row.strike);
        self.bid.push(row.bid);
        self.ask.push(row.ask);
        self.delta.push(row.delta);
        self.iv.push(row.iv);
        self.open_interest.push(row.open_interest);
    }

    /// The group sorted by strike; among equal strikes the first seen is
    /// kept and the others go to `repeats`.
    fn build(self, expiry: u32, dte: i64, right: Right, repeats: &mut Vec<BadRow>) -> Group {
        if self.strike.windows(2).all(|w| w[0] < w[1]) {
            return Group {
                expiry,
                dte,
                right,
                line: self.line,
                strike: self.strike,
                bid: self.bid,
                ask: self.ask,
                delta: self.delta,
                iv: self.iv,
                open_interest: self.open_interest,
            };
        }
        let mut order: Vec<usize> = (0..self.strike.len()).collect();
        // Stable: among equal strikes the first seen comes first.
        order.sort_by(|&a, &b| self.strike[a].total_cmp(&self.strike[b]));
        let mut kept: Vec<usize> = Vec::with_capacity(order.len());
        for i in order {
            match kept.last() {
                Some(&first) if self.strike[first] == self.strike[i] => repeats.push(BadRow {
                    line: self.line[i],
                    problem: RowProblem {
                        column: "strike",
                        reason: format!(
                            "repeats line {}: same underlying, expiry, strike and right",
                            self.line[first]
                        ),
                    },
                }),
                _ => kept.push(i),
            }
        }
        let pick = |column: &[f64]| kept.iter().map(|&i| column[i]).collect();
        Group {
            expiry,
            dte,
            right,
            line: kept.iter().map(|&i| self.line[i]).collect(),
            strike: pick(&self.strike),
            bid: pick(&self.bid),
            ask: pick(&self.ask),
            delta: pick(&self.delta),
            iv: pick(&self.iv),
            open_interest: kept.iter().map(|&i| self.open_interest[i]).collect(),
        }
    }
}

/// A group remembered between rows: its key, index and its expiry's dte.
type CachedGroup = ((u32, Right), usize, i64);

#[derive(Debug)]
struct UnderlyingBuild {
    symbol: String,
    price: f64,
    dte_of_expiry: HashMap<u32, i64>,
    group_index: HashMap<(u32, Right), usize>,
    groups: Vec<((u32, Right), GroupBuild)>,
}

/// Accepts rows in file order, enforces the cross-row rules (the first row
/// seen wins), and builds the [`Chain`].
#[derive(Debug, Default)]
pub struct ChainBuilder {
    index: HashMap<String, usize>,
    underlyings: Vec<UnderlyingBuild>,
    /// Rows come grouped by underlying in practice: remember the last one.
    last: Option<usize>,
    /// And by expiry, with calls and puts interleaved: per right, the last
    /// group of the last underlying, its index and the dte of its expiry.
    last_group: [Option<CachedGroup>; 2],
}

impl ChainBuilder {
    pub fn new() -> Self {
        Self::default()
    }

    /// A builder expecting about `rows` rows.
    pub fn with_capacity(rows: usize) -> Self {
        Self {
            index: HashMap::with_capacity(rows / 1000 + 16),
            ..Self::default()
        }
    }

    /// Adds a row, in the order rows arrive (`line` is whatever position
    /// the caller wants reports to name). Refuses it if it breaks a rule of
    /// its own ([`OptionRow::check`]) or disagrees with an earlier row on
    /// `underlying_price` (per underlying) or `dte` (per underlying and
    /// expiry). Repeats of (underlying, expiry, strike, right) are found in
    /// [`ChainBuilder::build`], which reports all but the first.
    pub fn push(&mut self, line: usize, row: &OptionRow<'_>) -> Result<(), RowProblem> {
        row.check()?;
        self.push_checked(line, row)
    }

    /// [`ChainBuilder::push`] for a row whose own rules were already
    /// checked (the CSV reader checks them while parsing).
    pub(crate) fn push_checked(
        &mut self,
        line: usize,
        row: &OptionRow<'_>,
    ) -> Result<(), RowProblem> {
        let i = match self.last {
            Some(i) if self.underlyings[i].symbol == row.underlying => i,
            _ => match self.index.get(row.underlying) {
                Some(&i) => i,
                None => {
                    self.underlyings.push(UnderlyingBuild {
                        symbol: row.underlying.to_string(),
                        price: row.underlying_price,
                        dte_of_expiry: HashMap::new(),
                        group_index: HashMap::new(),
                        groups: Vec::new(),
                    });
                    let i = self.underlyings.len() - 1;
                    self.index.insert(row.underlying.to_string(), i);
                    i
                }
            },
        };
        if self.last != Some(i) {
            self.last_group = [None, None];
        }
        self.last = Some(i);
        let u = &mut self.underlyings[i];
        if row.underlying_price != u.price {
            return Err(RowProblem {
                column: "underlying_price",
                reason: format!(
                    "{} disagrees with {} seen first for {}",
                    row.underlying_price, u.price, u.symbol
                ),
            });
        }
        let key = (row.expiry, row.right);
        let slot = usize::from(row.right == Right::Put);
        let (group, dte) = match self.last_group[slot] {
            Some((k, g, dte)) if k == key => (g, dte),
            _ => {
                let dte = *u.dte_of_expiry.entry(row.expiry).or_insert(row.dte);
                let next = u.groups.len();
                let g = *u.group_index.entry(key).or_insert(next);
                if g == next {
                    u.groups.push((key, GroupBuild::default()));
                }
                (g, dte)
            }
        };
        if dte != row.dte {
            return Err(RowProblem {
                column: "dte",
                reason: format!(
                    "{} disagrees with {} seen first for {} {}",
                    row.dte, dte, u.symbol, row.expiry
                ),
            });
        }
        self.last_group[slot] = Some((key, group, dte));
        u.groups[group].1.push(line, row);
        Ok(())
    }

    /// The chain, grouped and sorted, and the rows refused as repeats.
    /// Underlyings are independent here, so they are built in parallel.
    pub fn build(self) -> (Chain, Vec<BadRow>) {
        let built: Vec<(Underlying, Vec<BadRow>)> = self
            .underlyings
            .into_par_iter()
            .map(UnderlyingBuild::build)
            .collect();
        let mut repeats = Vec::new();
        let underlyings = built
            .into_iter()
            .map(|(u, mut r)| {
                repeats.append(&mut r);
                u
            })
            .collect();
        repeats.sort_by_key(|r| r.line);
        (Chain { underlyings }, repeats)
    }
}

impl UnderlyingBuild {
    fn build(self) -> (Underlying, Vec<BadRow>) {
        let mut repeats = Vec::new();
        let dte_of_expiry = self.dte_of_expiry;
        let mut groups: Vec<Group> = self
            .groups
            .into_iter()
            .map(|((expiry, right), group)| {
                let dte = dte_of_expiry.get(&expiry).copied().unwrap_or(0);
                group.build(expiry, dte, right, &mut repeats)
            })
            .collect();
        groups.sort_by_key(|g| (g.expiry, g.right));
        let underlying = Underlying {
            symbol: self.symbol,
            price: self.price,
            groups,
        };
        (underlying, repeats)
    }
}

//! The chain CSV reader: header mapping, field-by-field row rules in the
//! spec's column order, and bad-row reports. Works on the file's bytes in
//! place: fields are byte slices and no field is copied.
//!
//! The file is cut into runs of whole lines parsed in parallel; each line
//! goes first to the fused parser (`fast_row`), which takes the common
//! shapes in one pass, and whatever it declines to the general one (this
//! module's `parse_row` over `fields`), which names the first failing
//! column. Rows then reach the [`ChainBuilder`] in file order.

use std::fmt;

use rayon::prelude::*;
use vspread_core::Right;

use super::chain::{BadRow, Chain, ChainBuilder, OptionRow, RowProblem, problem, rules};
use fields::{date, float, integer, show};

mod fast_row;
mod fields;

/// The required columns, in the spec's table order (which is also the order
/// in which a row's fields are checked).
pub const COLUMNS: [&str; 12] = [
    "underlying",
    "underlying_price",
    "expiry",
    "dte",
    "strike",
    "right",
    "bid",
    "ask",
    "delta",
    "iv",
    "open_interest",
    "volume",
];

/// Why a chain could not be read at all (the scan does not run).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InputError {
    #[error("the file is empty: expected a header row naming the columns")]
    Empty,
    #[error("line {line}: the header is not text (not a CSV file?)")]
    NotText { line: usize },
    #[error("line {line}: the header lacks the column{} {}", if missing.len() == 1 { "" } else { "s" }, missing.join(", "))]
    MissingColumns { line: usize, missing: Vec<String> },
    #[error("line {line}: the header names the column {column} twice")]
    DuplicateColumn { line: usize, column: String },
}

/// A chain as read: the rows that passed and the ones that did not.
#[derive(Debug)]
pub struct ChainRead {
    pub chain: Chain,
    /// Every skipped row, by line.
    pub bad_rows: Vec<BadRow>,
    /// Data rows in the file (blank lines excluded), good and bad.
    pub rows: usize,
}

impl fmt::Display for BadRow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "line {}, column {}: {}",
            self.line, self.problem.column, self.problem.reason
        )
    }
}

/// The first non-blank line: its number (from 1), its text without `\r`,
/// and where the line after it starts (past the end if it is the last).
fn first_line(bytes: &[u8]) -> Option<(usize, &[u8], usize)> {
    let mut at = 0;
    let mut number = 0;
    while at <= bytes.len() {
        let end = memchr::memchr(b'\n', &bytes[at..]).map_or(bytes.len(), |i| at + i);
        number += 1;
        let line = strip_cr(&bytes[at..end]);
        if !is_blank(line) {
            return Some((number, line, end + 1));
        }
        at = end + 1;
    }
    None
}

fn strip_cr(line: &[u8]) -> &[u8] {
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// Where each spec column sits in the header, and how many fields rows have.
struct Layout {
    /// Per spec column (in [`COLUMNS`] order), its field index.
    position: [usize; 12],
    /// Per header field, the spec column it holds or [`fast_row::EXTRA`].
    column_of: Vec<u8>,
}

impl Layout {
    fn of_header(line: usize, header: &[u8]) -> Result<Self, InputError> {
        let header = std::str::from_utf8(header).map_err(|_| InputError::NotText { line })?;
        let header = header.strip_prefix('\u{feff}').unwrap_or(header);
        let names: Vec<&str> = header.split(',').map(str::trim).collect();
        let mut position = [usize::MAX; 12];
        for (col, name) in COLUMNS.iter().enumerate() {
            let mut found = names.iter().enumerate().filter(|(_, n)| *n == name);
            if let Some((i, _)) = found.next() {
                position[col] = i;
            }
            if found.next().is_some() {
                return Err(InputError::DuplicateColumn {
                    line,
                    column: (*name).to_string(),
                });
            }
        }
        let missing: Vec<String> = COLUMNS
            .iter()
            .zip(position)
            .filter(|(_, p)| *p == usize::MAX)
            .map(|(n, _)| (*n).to_string())
            .collect();
        if !missing.is_empty() {
            return Err(InputError::MissingColumns { line, missing });
        }
        let mut column_of = vec![fast_row::EXTRA; names.len()];
        for (col, &at) in position.iter().enumerate() {
            column_of[at] = col as u8;
        }
        Ok(Self {
            position,
            column_of,
        })
    }

    /// One data row: the fused parser for the common shapes, the general
    /// one (which names the first failing column) for anything it declines.
    fn parse<'a>(&self, line: &'a [u8]) -> Result<OptionRow<'a>, RowProblem> {
        if let Some(row) = fast_row::parse_fast(line, &self.column_of) {
            return Ok(row);
        }
        let fields: Vec<&[u8]> = line.split(|&b| b == b',').collect();
        let width = self.column_of.len();
        if fields.len() == width {
            parse_row(&fields, &self.position)
        } else {
            Err(field_count_problem(fields.len(), width, &self.position))
        }
    }
}

/// A run of whole lines parsed on its own: each non-blank line's index in
/// the run (from 0) and its row or problem, and how many lines it spans.
/// Reused from wave to wave, so its buffer is allocated once.
#[derive(Default)]
struct ParsedRun<'a> {
    rows: Vec<(usize, Result<OptionRow<'a>, RowProblem>)>,
    lines: usize,
}

impl<'a> ParsedRun<'a> {
    fn parse(&mut self, run: &'a [u8], layout: &Layout) {
        self.rows.clear();
        let mut start = 0;
        let mut lines = 0;
        let mut take = |line: &'a [u8], index: usize| {
            let line = strip_cr(line);
            if !is_blank(line) {
                self.rows.push((index, layout.parse(line)));
            }
        };
        for end in memchr::memchr_iter(b'\n', run) {
            take(&run[start..end], lines);
            lines += 1;
            start = end + 1;
        }
        // The file's last line, if it has no newline.
        if start < run.len() {
            take(&run[start..], lines);
            lines += 1;
        }
        self.lines = lines;
    }
}

/// `bytes` cut into runs of about `size` bytes, each ending just after a
/// newline (the last at the end of `bytes`).
fn runs(bytes: &[u8], size: usize) -> Vec<&[u8]> {
    let mut out = Vec::with_capacity(bytes.len() / size + 1);
    let mut at = 0;
    while at < bytes.len() {
        let target = (at + size).min(bytes.len());
        let end = memchr::memchr(b'\n', &bytes[target..]).map_or(bytes.len(), |i| target + i + 1);
        out.push(&bytes[at..end]);
        at = end;
    }
    out
}

/// Reads a chain CSV from its bytes. Lines are numbered from 1 as split at
/// `\n` (a trailing `\r` is dropped; blank lines are skipped but counted).
///
/// Rows are parsed in parallel, run by run, and fed to the builder in file
/// order (its cross-row rules depend on it) while the next runs parse: on
/// a million-row chain, parsing is most of a whole `vspread scan`. Runs go
/// in waves, so memory stays flat however long the file is.
pub fn read_chain(bytes: &[u8]) -> Result<ChainRead, InputError> {
    read_chain_in_runs(bytes, 256 << 10)
}

/// [`read_chain`] with runs of about `run_size` bytes (tests use small
/// ones to put run boundaries everywhere).
fn read_chain_in_runs(bytes: &[u8], run_size: usize) -> Result<ChainRead, InputError> {
    const WAVE: usize = 16;
    let (header_line, header, body_start) = first_line(bytes).ok_or(InputError::Empty)?;
    let layout = Layout::of_header(header_line, header)?;
    let body = bytes.get(body_start..).unwrap_or_default();

    let mut builder = ChainBuilder::with_capacity(bytes.len() / 64);
    let mut bad_rows = Vec::new();
    let mut rows = 0;
    let mut next_line = header_line + 1;
    let mut feed = |parsed: &mut [ParsedRun<'_>]| {
        for run in parsed {
            for (index, row) in run.rows.drain(..) {
                let line = next_line + index;
                rows += 1;
                if let Err(problem) = row.and_then(|row| builder.push_checked(line, &row)) {
                    bad_rows.push(BadRow { line, problem });
                }
            }
            next_line += run.lines;
        }
    };
    // Two sets of buffers: one wave parses into one while the wave before
    // is fed from the other.
    let mut parsing: Vec<ParsedRun<'_>> = (0..WAVE).map(|_| ParsedRun::default()).collect();
    let mut feeding: Vec<ParsedRun<'_>> = (0..WAVE).map(|_| ParsedRun::default()).collect();
    let mut parsed = 0;
    for wave in runs(body, run_size).chunks(WAVE) {
        rayon::join(
            || {
                wave.par_iter()
                    .zip(&mut parsing[..])
                    .for_each(|(run, out)| out.parse(run, &layout));
            },
            || feed(&mut feeding[..parsed]),
        );
        std::mem::swap(&mut parsing, &mut feeding);
        parsed = wave.len();
    }
    feed(&mut feeding[..parsed]);

    let (chain, repeats) = builder.build();
    bad_rows.extend(repeats);
    bad_rows.sort_by_key(|b| b.line);
    Ok(ChainRead {
        chain,
        bad_rows,
        rows,
    })
}

fn is_blank(line: &[u8]) -> bool {
    line.iter().all(u8::is_ascii_whitespace)
}

/// A row with the wrong number of fields fails at the first required
/// column it lacks (or, with too many fields, at the first column).
fn field_count_problem(found: usize, width: usize, position: &[usize; 12]) -> RowProblem {
    let column = COLUMNS
        .iter()
        .zip(position)
        .find(|(_, p)| **p >= found)
        .map_or(COLUMNS[0], |(n, _)| *n);
    RowProblem {
        column,
        reason: format!("the row has {found} fields, the header {width}"),
    }
}

fn parse_row<'a>(f: &[&'a [u8]], p: &[usize; 12]) -> Result<OptionRow<'a>, RowProblem> {
    let field = |col: usize| f[p[col]];
    let underlying =
        std::str::from_utf8(field(0)).map_err(|_| problem("underlying", "not text"))?;
    if underlying.is_empty() {
        return Err(problem("underlying", "empty"));
    }
    let underlying_price = float(field(1), "underlying_price")?;
    rules::underlying_price(underlying_price)?;
    let expiry = date(field(2))?;
    let dte = integer(field(3), "dte")?;
    rules::dte(dte)?;
    let strike = float(field(4), "strike")?;
    rules::strike(strike)?;
    let right = match field(5) {
        b"C" => Right::Call,
        b"P" => Right::Put,
        other => return Err(problem("right", format!("{} is not C or P", show(other)))),
    };
    let bid = float(field(6), "bid")?;
    rules::bid(bid)?;
    let ask = float(field(7), "ask")?;
    rules::ask(ask, bid)?;
    let delta = float(field(8), "delta")?;
    rules::delta(delta, right)?;
    let iv = float(field(9), "iv")?;
    rules::iv(iv)?;
    let open_interest = integer(field(10), "open_interest")?;
    rules::open_interest(open_interest)?;
    let volume = integer(field(11), "volume")?;
    rules::volume(volume)?;
    Ok(OptionRow {
        underlying,
        underlying_price,
        expiry,
        dte,
        strike,
        right,
        bid,
        ask,
        delta,
        iv,
        open_interest,
        volume,
    })
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    const DATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/data");

    /// The reader as the spec reads: line by line in file order, every row
    /// through the general parser, one builder.
    fn read_line_by_line(bytes: &[u8]) -> Result<ChainRead, InputError> {
        let (header_line, header, _) = first_line(bytes).ok_or(InputError::Empty)?;
        let layout = Layout::of_header(header_line, header)?;
        let mut builder = ChainBuilder::new();
        let (mut bad_rows, mut rows) = (Vec::new(), 0);
        for (i, line) in bytes.split(|&b| b == b'\n').enumerate().skip(header_line) {
            let line = strip_cr(line);
            if is_blank(line) {
                continue;
            }
            rows += 1;
            let fields: Vec<&[u8]> = line.split(|&b| b == b',').collect();
            let width = layout.column_of.len();
            let row = if fields.len() == width {
                parse_row(&fields, &layout.position)
            } else {
                Err(field_count_problem(fields.len(), width, &layout.position))
            };
            if let Err(problem) = row.and_then(|row| builder.push_checked(i + 1, &row)) {
                bad_rows.push(BadRow {
                    line: i + 1,
                    problem,
                });
            }
        }
        let (chain, repeats) = builder.build();
        bad_rows.extend(repeats);
        bad_rows.sort_by_key(|b| b.line);
        Ok(ChainRead {
            chain,
            bad_rows,
            rows,
        })
    }

    fn assert_same(bytes: &[u8], run_size: usize) {
        let got = read_chain_in_runs(bytes, run_size);
        let want = read_line_by_line(bytes);
        match (got, want) {
            (Ok(got), Ok(want)) => {
                assert_eq!(got.rows, want.rows, "data rows");
                assert_eq!(got.bad_rows, want.bad_rows, "bad rows");
                assert_eq!(got.chain, want.chain, "chain");
            }
            (got, want) => assert_eq!(got.err(), want.err()),
        }
    }

    #[test]
    fn runs_end_after_a_newline_and_cover_the_bytes() {
        for text in [&b""[..], b"\n", b"a", b"a\n", b"a\nb", b"ab\r\n\ncd\n\n"] {
            for size in [1, 2, 3, 100] {
                let runs = runs(text, size);
                assert_eq!(runs.concat(), text);
                for run in &runs[..runs.len().saturating_sub(1)] {
                    assert_eq!(run.last(), Some(&b'\n'));
                }
            }
        }
    }

    #[test]
    fn lines_are_numbered_alike_in_any_runs() {
        let header = COLUMNS.join(",");
        let row = "AAA,100,20261218,14,95,C,1.2,1.3,0.6,0.3,500,10";
        for text in [
            header.clone(),
            format!("{header}\n"),
            format!("\n\n{header}\n{row}"),
            format!("{header}\r\n{row}\r\n\r\n  \n{row}\n"),
            format!("{header}\n\n{row}\nbad\n\n{row}"),
        ] {
            for size in [1, 2, 5, 64, 1 << 20] {
                assert_same(text.as_bytes(), size);
            }
        }
    }

    #[test]
    fn the_sample_chain_reads_alike_in_any_runs() {
        let bytes = std::fs::read(format!("{DATA}/chain_small.csv")).unwrap();
        let read = read_chain(&bytes).unwrap();
        assert!(!read.bad_rows.is_empty(), "the sample has bad rows");
        for size in [1, 100, 4096, 1 << 20] {
            assert_same(&bytes, size);
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(400))]

        /// Whatever the edits, reading in parallel runs with the fused
        /// parser gives what reading line by line with the general parser
        /// gives: the same chain, the same bad rows with the same reasons.
        #[test]
        fn edited_chains_read_as_line_by_line(
            edits in proptest::collection::vec(
                (any::<prop::sample::Index>(), prop::sample::select(&b"0123456789.,-+eE\r\n CP x"[..]), 0u8..3),
                0..12,
            ),
            size in prop::sample::select(vec![1usize, 33, 700, 1 << 20]),
        ) {
            let mut bytes = std::fs::read(format!("{DATA}/chain_small.csv")).unwrap();
            bytes.truncate(12_000);
            for (at, byte, op) in edits {
                let i = at.index(bytes.len());
                match op {
                    0 => bytes[i] = byte,
                    1 => { bytes.remove(i); }
                    _ => bytes.insert(i, byte),
                }
            }
            assert_same(&bytes, size);
        }
    }
}

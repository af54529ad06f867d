//! The chain CSV reader: header mapping, field-by-field row rules in the
//! spec's column order, and bad-row reports. Works on the file's bytes in
//! place: fields are byte slices and no field is copied.

use std::fmt;

use rayon::prelude::*;
use vspread_core::Right;

use super::chain::{BadRow, Chain, ChainBuilder, OptionRow, RowProblem, problem, rules};

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

/// Reads a chain CSV from its bytes.
/// The lines of `bytes` split at `\n` (as `split` would: a trailing
/// newline gives a last empty line), numbered from 1. Newlines are found
/// with SIMD (`memchr`): on a million-row chain, splitting byte by byte was
/// the largest sequential step of the whole `vspread scan`.
fn numbered_lines(bytes: &[u8]) -> impl Iterator<Item = (usize, &[u8])> {
    let mut start = 0;
    memchr::memchr_iter(b'\n', bytes)
        .chain(std::iter::once(bytes.len()))
        .enumerate()
        .map(move |(i, end)| {
            let line = &bytes[start..end];
            start = end + 1;
            (i + 1, line)
        })
}

pub fn read_chain(bytes: &[u8]) -> Result<ChainRead, InputError> {
    let mut lines = numbered_lines(bytes)
        .map(|(i, l)| (i, l.strip_suffix(b"\r").unwrap_or(l)))
        .filter(|(_, l)| !is_blank(l));
    let (header_line, header) = lines.next().ok_or(InputError::Empty)?;
    let header =
        std::str::from_utf8(header).map_err(|_| InputError::NotText { line: header_line })?;
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
                line: header_line,
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
        return Err(InputError::MissingColumns {
            line: header_line,
            missing,
        });
    }

    let width = names.len();
    // Field checks are independent per row: run them in parallel over a
    // block of lines, then feed the builder in file order (the cross-row
    // rules depend on it). Blocks reuse their buffers, so memory stays flat
    // however long the file is.
    const BLOCK: usize = 1 << 16;
    let mut block: Vec<(usize, &[u8])> = Vec::with_capacity(BLOCK);
    let mut parsed: Vec<Result<OptionRow<'_>, RowProblem>> = Vec::with_capacity(BLOCK);
    let mut builder = ChainBuilder::with_capacity(bytes.len() / 64);
    let mut bad_rows = Vec::new();
    let mut rows = 0;
    loop {
        block.clear();
        block.extend(lines.by_ref().take(BLOCK));
        if block.is_empty() {
            break;
        }
        rows += block.len();
        block
            .par_iter()
            .map_init(
                || Vec::with_capacity(width + 1),
                |fields: &mut Vec<&[u8]>, (_, text)| {
                    fields.clear();
                    fields.extend(text.split(|&b| b == b','));
                    if fields.len() == width {
                        parse_row(fields, &position)
                    } else {
                        Err(field_count_problem(fields.len(), width, &position))
                    }
                },
            )
            .collect_into_vec(&mut parsed);
        for ((line, _), row) in block.iter().zip(parsed.drain(..)) {
            if let Err(problem) = row.and_then(|row| builder.push_checked(*line, &row)) {
                bad_rows.push(BadRow {
                    line: *line,
                    problem,
                });
            }
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

fn show(field: &[u8]) -> String {
    let text = String::from_utf8_lossy(field);
    if text.chars().count() > 40 {
        format!("{:?}...", text.chars().take(40).collect::<String>())
    } else {
        format!("{text:?}")
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

/// True for a plain decimal literal: optional sign, digits with an optional
/// point (at least one digit), optional exponent. No spaces, underscores,
/// `inf` or `nan`.
fn is_decimal_literal(s: &[u8]) -> bool {
    let mut i = 0;
    if matches!(s.first(), Some(b'+' | b'-')) {
        i += 1;
    }
    let mut digits = 0;
    while i < s.len() && s[i].is_ascii_digit() {
        i += 1;
        digits += 1;
    }
    if i < s.len() && s[i] == b'.' {
        i += 1;
        while i < s.len() && s[i].is_ascii_digit() {
            i += 1;
            digits += 1;
        }
    }
    if digits == 0 {
        return false;
    }
    if i < s.len() && (s[i] == b'e' || s[i] == b'E') {
        i += 1;
        if matches!(s.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        let start = i;
        while i < s.len() && s[i].is_ascii_digit() {
            i += 1;
        }
        if i == start {
            return false;
        }
    }
    i == s.len()
}

fn float(field: &[u8], column: &'static str) -> Result<f64, RowProblem> {
    if field.is_empty() {
        return Err(problem(column, "empty"));
    }
    // The fast path accepts only sign, digits and one point: valid literals.
    if let Some(value) = fast_decimal(field) {
        return Ok(value);
    }
    if !is_decimal_literal(field) {
        return Err(problem(column, format!("{} is not a number", show(field))));
    }
    // The literal is ASCII, so this is valid UTF-8, and Rust's parser is
    // correctly rounded.
    let text = std::str::from_utf8(field).map_err(|_| problem(column, "not text"))?;
    let value: f64 = text
        .parse()
        .map_err(|_| problem(column, format!("{} is not a number", show(field))))?;
    if !value.is_finite() {
        return Err(problem(column, format!("{} is not finite", show(field))));
    }
    Ok(value)
}

/// Clinger's fast path for the short decimals chains are made of: with at
/// most 15 significant digits and no exponent, `digits / 10^k` is one
/// correctly rounded division of two exactly representable numbers, so the
/// result equals the correctly rounded parse. Anything else returns `None`
/// and goes to the general parser.
fn fast_decimal(s: &[u8]) -> Option<f64> {
    const POW10: [f64; 16] = [
        1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
    ];
    let (negative, body) = match s.first()? {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    let mut mantissa: u64 = 0;
    let mut digits = 0usize;
    let mut fraction = 0usize;
    let mut seen_point = false;
    for &c in body {
        match c {
            b'0'..=b'9' => {
                mantissa = mantissa * 10 + u64::from(c - b'0');
                digits += 1;
                fraction += usize::from(seen_point);
                if digits > 15 {
                    return None;
                }
            }
            b'.' if !seen_point => seen_point = true,
            _ => return None,
        }
    }
    if digits == 0 {
        return None;
    }
    let value = mantissa as f64 / POW10[fraction];
    Some(if negative { -value } else { value })
}

fn integer(field: &[u8], column: &'static str) -> Result<i64, RowProblem> {
    if field.is_empty() {
        return Err(problem(column, "empty"));
    }
    let (negative, digits) = match field[0] {
        b'-' => (true, &field[1..]),
        b'+' => (false, &field[1..]),
        _ => (false, field),
    };
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return Err(problem(
            column,
            format!("{} is not an integer", show(field)),
        ));
    }
    let mut value: i64 = 0;
    for d in digits {
        value = value * 10 + i64::from(d - b'0');
        if value >= rules::INTEGER_LIMIT {
            return Err(problem(
                column,
                format!("{} is too large (at most 18 digits)", show(field)),
            ));
        }
    }
    Ok(if negative { -value } else { value })
}

fn date(field: &[u8]) -> Result<u32, RowProblem> {
    let bad = || problem("expiry", format!("{} is not a YYYYMMDD date", show(field)));
    if field.len() != 8 || !field.iter().all(u8::is_ascii_digit) {
        return Err(bad());
    }
    let n = field
        .iter()
        .fold(0u32, |acc, d| acc * 10 + u32::from(d - b'0'));
    if rules::real_date(n) {
        Ok(n)
    } else {
        Err(bad())
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn lines_split_and_number_as_split_does() {
        for text in [
            &b""[..],
            b"\n",
            b"a",
            b"a\n",
            b"a\nb",
            b"a\r\n\nb\n\n",
            b"\n\na",
        ] {
            let want: Vec<(usize, &[u8])> = text
                .split(|&b| b == b'\n')
                .enumerate()
                .map(|(i, l)| (i + 1, l))
                .collect();
            let got: Vec<(usize, &[u8])> = super::numbered_lines(text).collect();
            assert_eq!(got, want, "{:?}", String::from_utf8_lossy(text));
        }
    }

    use super::*;

    #[test]
    fn decimal_literals() {
        for ok in [
            "1", "-1", "+1.5", "0.25", ".5", "5.", "1e5", "1.5E-3", "007",
        ] {
            assert!(is_decimal_literal(ok.as_bytes()), "{ok}");
        }
        for bad in [
            "", "-", ".", "1e", "1e+", "inf", "nan", "1_000", " 1", "1 ", "0x10", "1.2.3", "N/A",
            "e5",
        ] {
            assert!(!is_decimal_literal(bad.as_bytes()), "{bad}");
        }
    }

    #[test]
    fn the_fast_path_agrees_with_the_general_parser() {
        for text in [
            "0",
            "1",
            "-0.5",
            "26.40",
            "0.0001",
            "123456789.012345",
            "1461.99",
            "7.",
            ".25",
            "+3.14159",
        ] {
            let want: f64 = text.parse().unwrap();
            assert_eq!(fast_decimal(text.as_bytes()), Some(want), "{text}");
        }
        // Leading zeros do not count toward the 15 digits of precision, but
        // the fast path stays conservative and leaves long inputs alone.
        assert_eq!(fast_decimal(b"1234567890123456"), None);
        assert_eq!(fast_decimal(b"1e5"), None);
        let mut x: u64 = 0x1234_5678;
        for _ in 0..100_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let text = format!(
                "{}.{:0width$}",
                x % 100_000,
                (x >> 20) % 10_000,
                width = (x % 5) as usize
            );
            let want: f64 = text.parse().unwrap();
            assert_eq!(fast_decimal(text.as_bytes()), Some(want), "{text}");
        }
    }

    #[test]
    fn dates_must_exist() {
        assert_eq!(date(b"20261218").unwrap(), 20261218);
        assert!(date(b"20240229").is_ok());
        for bad in [
            "20230229",
            "20261301",
            "20261200",
            "2026121",
            "2026-12-1",
            "00001218",
            "20261131",
        ] {
            assert!(date(bad.as_bytes()).is_err(), "{bad}");
        }
    }

    #[test]
    fn integers_take_digits_only() {
        assert_eq!(integer(b"42", "dte").unwrap(), 42);
        assert!(integer(b"7.0", "dte").is_err());
        assert!(integer(b"1e3", "dte").is_err());
        assert!(integer(b"999999999999999999", "dte").is_ok());
        assert!(integer(b"1000000000000000000", "dte").is_err());
    }
}

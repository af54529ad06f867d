//! The row parser for the shapes chains are made of: plain decimals of at
//! most 15 significant digits, unsigned integers of at most 18 digits,
//! 8-digit dates, `C` or `P`. It walks a line once, converting each field
//! as it finds its end, with no field list and no error text. It declines
//! (`None`) anything else: a field of another shape, the wrong number of
//! fields, a row breaking a rule. The general parser then reads that row
//! and names what is wrong, so reports are the same whichever parser saw
//! the row first; what this one accepts, it reads to the values the
//! general one would.

use vspread_core::Right;

use super::super::chain::OptionRow;
use super::fields::decimal_prefix;

/// A header field that is none of the spec's columns.
pub(super) const EXTRA: u8 = u8::MAX;

/// Reads `line` whose fields hold, in order, the spec columns
/// `column_of` names (indices into [`super::COLUMNS`], or [`EXTRA`]).
pub(super) fn parse_fast<'a>(line: &'a [u8], column_of: &[u8]) -> Option<OptionRow<'a>> {
    let mut row = OptionRow {
        underlying: "",
        underlying_price: 0.0,
        expiry: 0,
        dte: 0,
        strike: 0.0,
        right: Right::Call,
        bid: 0.0,
        ask: 0.0,
        delta: 0.0,
        iv: 0.0,
        open_interest: 0,
        volume: 0,
    };
    let mut fields = Fields { line, at: 0 };
    for &column in column_of {
        match column {
            0 => row.underlying = std::str::from_utf8(fields.text()?).ok()?,
            1 => row.underlying_price = fields.decimal()?,
            2 => row.expiry = fields.date()?,
            3 => row.dte = fields.unsigned()?,
            4 => row.strike = fields.decimal()?,
            5 => {
                row.right = match fields.text()? {
                    b"C" => Right::Call,
                    b"P" => Right::Put,
                    _ => return None,
                }
            }
            6 => row.bid = fields.decimal()?,
            7 => row.ask = fields.decimal()?,
            8 => row.delta = fields.decimal()?,
            9 => row.iv = fields.decimal()?,
            10 => row.open_interest = fields.unsigned()?,
            11 => row.volume = fields.unsigned()?,
            _ => {
                fields.text()?;
            }
        }
    }
    if !fields.done() {
        return None;
    }
    row.check().ok()?;
    Some(row)
}

/// A line's comma-separated fields, taken front to back.
struct Fields<'a> {
    line: &'a [u8],
    /// Start of the next field; past the end once the last is taken.
    at: usize,
}

impl<'a> Fields<'a> {
    /// The rest of the line from the next field on.
    fn rest(&self) -> Option<&'a [u8]> {
        self.line.get(self.at..)
    }

    /// Moves past a field of `len` bytes and its comma.
    fn skip(&mut self, len: usize) {
        self.at += len + 1;
    }

    /// True once the last field has been taken.
    fn done(&self) -> bool {
        self.at > self.line.len()
    }

    fn text(&mut self) -> Option<&'a [u8]> {
        let rest = self.rest()?;
        let len = rest.iter().position(|&b| b == b',').unwrap_or(rest.len());
        self.skip(len);
        Some(&rest[..len])
    }

    fn decimal(&mut self) -> Option<f64> {
        let (value, len) = decimal_prefix(self.rest()?)?;
        self.skip(len);
        Some(value)
    }

    /// 1 to 18 digits: below `rules::INTEGER_LIMIT` (10^18) by construction.
    fn unsigned(&mut self) -> Option<i64> {
        let (value, len) = self.digits(18)?;
        self.skip(len);
        i64::try_from(value).ok()
    }

    /// 8 digits (whether they name a real date, [`OptionRow::check`] says
    /// with the row's other rules).
    fn date(&mut self) -> Option<u32> {
        let (value, len) = self.digits(8)?;
        if len != 8 {
            return None;
        }
        self.skip(len);
        u32::try_from(value).ok()
    }

    /// The next field as 1 to `max` digits: its value and length.
    fn digits(&self, max: usize) -> Option<(u64, usize)> {
        let rest = self.rest()?;
        let mut value: u64 = 0;
        let mut len = 0;
        while let Some(&c) = rest.get(len) {
            match c {
                b'0'..=b'9' if len < max => value = value * 10 + u64::from(c - b'0'),
                b',' => break,
                _ => return None,
            }
            len += 1;
        }
        (len > 0).then_some((value, len))
    }
}

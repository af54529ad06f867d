//! Field parsers of the chain CSV: each takes one field's bytes and gives
//! its value or the reason it is not one, in the words a bad-row report
//! uses. The fused row parser ([`super::fast_row`]) takes the common
//! shapes without them; everything it declines comes here.

use super::super::chain::{RowProblem, problem, rules};

pub(super) fn show(field: &[u8]) -> String {
    let text = String::from_utf8_lossy(field);
    if text.chars().count() > 40 {
        format!("{:?}...", text.chars().take(40).collect::<String>())
    } else {
        format!("{text:?}")
    }
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

pub(super) fn float(field: &[u8], column: &'static str) -> Result<f64, RowProblem> {
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
pub(super) fn fast_decimal(s: &[u8]) -> Option<f64> {
    match decimal_prefix(s)? {
        (value, len) if len == s.len() => Some(value),
        _ => None,
    }
}

/// [`fast_decimal`] of the field at the start of `s`, which ends at the
/// first comma or at the end of `s`: its value and its length. `None` if
/// the field is not of the fast path's shape.
#[inline]
pub(super) fn decimal_prefix(s: &[u8]) -> Option<(f64, usize)> {
    const POW10: [f64; 16] = [
        1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
    ];
    let (negative, sign) = match s.first()? {
        b'-' => (true, 1),
        b'+' => (false, 1),
        _ => (false, 0),
    };
    // Digits, then an optional point and digits: two tight loops. The
    // mantissa may wrap on absurdly long fields; those are refused below
    // by their digit count before it is used.
    let mut mantissa: u64 = 0;
    let mut i = sign;
    while let Some(d) = s.get(i).map(|c| c.wrapping_sub(b'0')).filter(|d| *d <= 9) {
        mantissa = mantissa.wrapping_mul(10).wrapping_add(u64::from(d));
        i += 1;
    }
    let mut digits = i - sign;
    let mut fraction = 0;
    if s.get(i) == Some(&b'.') {
        i += 1;
        let start = i;
        while let Some(d) = s.get(i).map(|c| c.wrapping_sub(b'0')).filter(|d| *d <= 9) {
            mantissa = mantissa.wrapping_mul(10).wrapping_add(u64::from(d));
            i += 1;
        }
        fraction = i - start;
        digits += fraction;
    }
    if digits == 0 || digits > 15 || !matches!(s.get(i), None | Some(b',')) {
        return None;
    }
    let value = mantissa as f64 / POW10[fraction];
    Some((if negative { -value } else { value }, i))
}

pub(super) fn integer(field: &[u8], column: &'static str) -> Result<i64, RowProblem> {
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

pub(super) fn date(field: &[u8]) -> Result<u32, RowProblem> {
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
        for other in [
            "", ".", "+", "-", "1.2.3", "1..2", "12a", " 1", "1 ", "0x1", "1,5",
        ] {
            assert_eq!(fast_decimal(other.as_bytes()), None, "{other}");
        }
        assert_eq!(decimal_prefix(b"1.5,2"), Some((1.5, 3)));
        assert_eq!(decimal_prefix(b"-7,"), Some((-7.0, 2)));
        assert_eq!(decimal_prefix(b",1"), None);
        assert_eq!(decimal_prefix(&[b'9'; 40]), None);
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

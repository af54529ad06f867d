//! Output of a scan: CSV (the spec's columns), JSON, and a table for people.
//!
//! Floats print as the shortest text that round-trips, laid out like
//! Python's `repr` (`74.0`, `1.2599999999999998`, `1e-07`), which is what the
//! spec's sample output uses.

use std::io::{self, Write};

use super::OUTPUT_COLUMNS;
use super::scan::SpreadRow;

/// Shortest round-trip text of `x`, in Python `repr` layout.
pub fn format_float(x: f64) -> String {
    if x.is_nan() {
        return "nan".into();
    }
    if x.is_infinite() {
        return if x > 0.0 { "inf" } else { "-inf" }.into();
    }
    if x == 0.0 {
        return if x.is_sign_negative() { "-0.0" } else { "0.0" }.into();
    }
    // `{:e}` gives the shortest round-trip digits: "-1.2599999999999998e0".
    let sci = format!("{x:e}");
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let (sign, mantissa) = match mantissa.strip_prefix('-') {
        Some(m) => ("-", m),
        None => ("", mantissa),
    };
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    if (-4..16).contains(&exp) {
        let point = exp + 1; // digits before the decimal point
        let text = if point <= 0 {
            format!("0.{}{}", "0".repeat((-point) as usize), digits)
        } else if point as usize >= digits.len() {
            format!("{}{}.0", digits, "0".repeat(point as usize - digits.len()))
        } else {
            let (a, b) = digits.split_at(point as usize);
            format!("{a}.{b}")
        };
        format!("{sign}{text}")
    } else {
        let (first, rest) = digits.split_at(1);
        let m = if rest.is_empty() {
            first.to_string()
        } else {
            format!("{first}.{rest}")
        };
        format!(
            "{sign}{m}e{}{:02}",
            if exp < 0 { '-' } else { '+' },
            exp.abs()
        )
    }
}

fn fields(r: &SpreadRow) -> [String; 15] {
    [
        r.underlying.clone(),
        r.kind.name().to_string(),
        r.expiry.to_string(),
        r.dte.to_string(),
        format_float(r.long_strike),
        format_float(r.short_strike),
        format_float(r.width),
        format_float(r.price),
        format_float(r.natural),
        format_float(r.max_profit),
        format_float(r.max_loss),
        format_float(r.breakeven),
        format_float(r.pop),
        format_float(r.ev),
        format_float(r.score),
    ]
}

/// The spec's CSV: header, then one line per row.
pub fn write_csv(out: &mut impl Write, rows: &[SpreadRow]) -> io::Result<()> {
    writeln!(out, "{}", OUTPUT_COLUMNS.join(","))?;
    for r in rows {
        writeln!(out, "{}", fields(r).join(","))?;
    }
    Ok(())
}

/// The same fields as a JSON array of objects (numbers as JSON numbers).
pub fn write_json(out: &mut impl Write, rows: &[SpreadRow]) -> io::Result<()> {
    writeln!(out, "[")?;
    for (n, r) in rows.iter().enumerate() {
        let f = fields(r);
        let mut parts = Vec::with_capacity(15);
        for (i, (name, value)) in OUTPUT_COLUMNS.iter().zip(f.iter()).enumerate() {
            let v = match i {
                0..=2 => format!("\"{}\"", value.replace('\\', "\\\\").replace('"', "\\\"")),
                _ => value.clone(),
            };
            parts.push(format!("\"{name}\": {v}"));
        }
        let comma = if n + 1 < rows.len() { "," } else { "" };
        writeln!(out, "  {{{}}}{comma}", parts.join(", "))?;
    }
    writeln!(out, "]")
}

/// A table for people: aligned columns, money to cents, probabilities in %.
pub fn write_table(out: &mut impl Write, rows: &[SpreadRow]) -> io::Result<()> {
    writeln!(
        out,
        "{:>4} {:<8} {:<9} {:<8} {:>4} {:>9} {:>9} {:>7} {:>8} {:>8} {:>8} {:>8} {:>9} {:>6} {:>8} {:>7}",
        "#",
        "under",
        "kind",
        "expiry",
        "dte",
        "long",
        "short",
        "width",
        "price",
        "natural",
        "maxprof",
        "maxloss",
        "breakeven",
        "pop%",
        "ev",
        "score"
    )?;
    for (i, r) in rows.iter().enumerate() {
        writeln!(
            out,
            "{:>4} {:<8} {:<9} {:<8} {:>4} {:>9} {:>9} {:>7.2} {:>8.3} {:>8.3} {:>8.3} {:>8.3} {:>9.3} {:>6.1} {:>8.4} {:>7.4}",
            i + 1,
            r.underlying,
            r.kind.name(),
            r.expiry,
            r.dte,
            format_float(r.long_strike),
            format_float(r.short_strike),
            r.width,
            r.price,
            r.natural,
            r.max_profit,
            r.max_loss,
            r.breakeven,
            r.pop * 100.0,
            r.ev,
            r.score
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_print_like_python_repr() {
        let cases = [
            (74.0, "74.0"),
            (1.2599999999999998, "1.2599999999999998"),
            (0.1, "0.1"),
            (1e-7, "1e-07"),
            (0.0001, "0.0001"),
            (0.00001234, "1.234e-05"),
            (-2.5, "-2.5"),
            (1e16, "1e+16"),
            (123456789012345.0, "123456789012345.0"),
            (0.0, "0.0"),
        ];
        for (x, want) in cases {
            assert_eq!(format_float(x), want, "{x:e}");
            assert_eq!(format_float(x).parse::<f64>().unwrap(), x);
        }
    }
}

//! The page around the charts: escaping, the document shell with its
//! inline style, tables. The markup is well-formed XML (every element
//! closed, every attribute quoted), so a test can parse the page with an
//! XML parser, and a browser opens it offline: no script, no external
//! resource.

use std::fmt::Write as _;

/// Escapes text for an HTML element or a quoted attribute.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            // Control characters are not allowed in XML 1.0.
            c if (c as u32) < 0x20 && !matches!(c, '\n' | '\t' | '\r') => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = r#"
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2rem auto; max-width: 64rem; color: #1d2330; background: #fff; padding: 0 1rem; }
h1 { font-size: 1.5rem; margin-bottom: 0.2rem; }
h2 { font-size: 1.15rem; margin-top: 2.2rem; border-bottom: 1px solid #d5d9e0; padding-bottom: 0.2rem; }
p.meta { color: #5b6475; margin-top: 0; }
table { border-collapse: collapse; margin: 0.6rem 0; font-size: 0.9rem; }
th, td { padding: 0.25rem 0.7rem; border-bottom: 1px solid #e6e9ee; text-align: left; vertical-align: top; }
th { background: #f4f6f9; font-weight: 600; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
.pass { color: #17753a; font-weight: 600; }
.fail { color: #b3261e; font-weight: 600; }
.na { color: #7a5c00; font-weight: 600; }
figure { margin: 0.6rem 0; }
figcaption { font-size: 0.85rem; color: #5b6475; }
svg text { font-size: 11px; fill: #3b4252; }
.empty { color: #7a8394; font-style: italic; }
"#;

/// A whole page: `title` and `body` (already markup).
pub fn page(title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html xmlns=\"http://www.w3.org/1999/xhtml\" lang=\"en\">\n<head>\n<meta charset=\"utf-8\"/>\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"/>\n<title>{}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n{body}</body>\n</html>\n",
        escape(title)
    )
}

/// One table cell.
pub enum Cell {
    Text(String),
    /// Right-aligned.
    Num(String),
    /// Text with a class (`pass`, `fail`, `na`).
    Class(&'static str, String),
}

impl Cell {
    pub fn text(s: impl Into<String>) -> Self {
        Cell::Text(s.into())
    }

    pub fn num(s: impl Into<String>) -> Self {
        Cell::Num(s.into())
    }
}

/// A table with `id`, its header row and rows; every cell escaped.
pub fn table(id: &str, header: &[&str], rows: &[Vec<Cell>]) -> String {
    let mut out = format!("<table id=\"{}\">\n<thead><tr>", escape(id));
    for h in header {
        let _ = write!(out, "<th>{}</th>", escape(h));
    }
    out.push_str("</tr></thead>\n<tbody>\n");
    for row in rows {
        out.push_str("<tr>");
        for cell in row {
            match cell {
                Cell::Text(t) => {
                    let _ = write!(out, "<td>{}</td>", escape(t));
                }
                Cell::Num(t) => {
                    let _ = write!(out, "<td class=\"num\">{}</td>", escape(t));
                }
                Cell::Class(class, t) => {
                    let _ = write!(out, "<td class=\"{class}\">{}</td>", escape(t));
                }
            }
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</tbody>\n</table>\n");
    out
}

/// A section: a heading with `id` and its content.
pub fn section(id: &str, heading: &str, content: &str) -> String {
    format!(
        "<section id=\"{}\">\n<h2>{}</h2>\n{content}</section>\n",
        escape(id),
        escape(heading)
    )
}

/// A paragraph saying there is nothing to show.
pub fn empty(text: &str) -> String {
    format!("<p class=\"empty\">{}</p>\n", escape(text))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_quotes_and_control_characters() {
        assert_eq!(
            escape("<b a=\"x\">&'\u{1}"),
            "&lt;b a=&quot;x&quot;&gt;&amp;&#39;\u{FFFD}"
        );
    }
}

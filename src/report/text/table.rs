//! Plain-text tables that line up with Chinese text (double-width glyphs).

use unicode_width::UnicodeWidthStr;

/// A table: a header row and data rows.
#[derive(Debug, Default)]
pub struct Table {
    header: Vec<String>,
    rows: Vec<Vec<String>>,
    right: Vec<bool>,
}

impl Table {
    /// A table with these column titles; columns listed in `right` are
    /// right-aligned (numbers).
    pub fn new(header: &[&str], right: &[usize]) -> Self {
        let mut r = vec![false; header.len()];
        for &i in right {
            r[i] = true;
        }
        Table {
            header: header.iter().map(|s| s.to_string()).collect(),
            rows: Vec::new(),
            right: r,
        }
    }

    /// Whether it has no data row.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Adds a data row.
    pub fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    /// Renders with two spaces between columns, indented by `indent`.
    pub fn render(&self, indent: &str) -> String {
        let n = self.header.len();
        let mut w = vec![0usize; n];
        for r in std::iter::once(&self.header).chain(&self.rows) {
            for (i, c) in r.iter().enumerate().take(n) {
                w[i] = w[i].max(c.width());
            }
        }
        let mut out = String::new();
        for r in std::iter::once(&self.header).chain(&self.rows) {
            let mut line = String::from(indent);
            for (i, c) in r.iter().enumerate().take(n) {
                let pad = " ".repeat(w[i] - c.width());
                if self.right[i] {
                    line.push_str(&pad);
                    line.push_str(c);
                } else {
                    line.push_str(c);
                    if i + 1 < n {
                        line.push_str(&pad);
                    }
                }
                if i + 1 < n {
                    line.push_str("  ");
                }
            }
            out.push_str(line.trim_end());
            out.push('\n');
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aligns_double_width_text() {
        let mut t = Table::new(&["产品", "金额"], &[1]);
        t.row(vec!["工信通".into(), "200万".into()]);
        t.row(vec!["ab".into(), "1".into()]);
        let s = t.render("");
        let lines: Vec<&str> = s.lines().collect();
        assert_eq!(lines[0], "产品     金额");
        assert_eq!(lines[1], "工信通  200万");
        assert_eq!(lines[2], "ab          1");
    }
}

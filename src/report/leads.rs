//! A campaign's leads as files a bank takes: CSV (UTF-8 with a byte-order
//! mark, so Excel reads the Chinese) and XLSX, one row per lead, every
//! heading and value in Chinese.

use rust_xlsxwriter::{Format, Workbook};

use crate::matching::leads::Lead;

/// The columns, in order.
pub const HEADINGS: [&str; 13] = [
    "线索编号",
    "产品",
    "合作银行",
    "企业名称",
    "统一社会信用代码",
    "所在地区",
    "企业规模",
    "联系人",
    "联系电话",
    "可贷金额（元）",
    "年化成本（元）",
    "奖补内容",
    "符合原因",
];

/// A cell: text, or money to the fen.
enum Value {
    Text(String),
    Money(Option<crate::kernel::money::Yuan>),
}

fn row(l: &Lead) -> [Value; 13] {
    let text = |s: Option<&str>| Value::Text(s.unwrap_or("").to_string());
    let contact = l.contact.as_ref();
    [
        Value::Text(l.id.clone()),
        Value::Text(l.product_name.clone()),
        Value::Text(l.bank_id.clone().unwrap_or_else(|| "（未分配）".into())),
        Value::Text(l.firm.clone()),
        text(l.credit_code.as_deref()),
        Value::Text(
            l.region_code
                .as_deref()
                .map(crate::enterprise::region::describe)
                .unwrap_or_default(),
        ),
        text(l.size_class.map(|s| s.name_zh())),
        text(contact.and_then(|c| c.person.as_deref())),
        text(contact.and_then(|c| c.phone.as_deref())),
        Value::Money(l.amount),
        Value::Money(l.annual_cost),
        text(l.benefit.as_deref()),
        Value::Text(l.reasons.clone()),
    ]
}

/// The head of a lead CSV: a byte-order mark (so Excel reads the Chinese)
/// and the headings.
pub fn csv_head() -> String {
    format!("\u{FEFF}{}\r\n", HEADINGS.join(","))
}

/// One lead as a CSV line: money to the fen (`3000000.00`), fields quoted
/// where they must be.
pub fn csv_line(l: &Lead) -> String {
    let field = |s: &str| {
        if s.contains([',', '"', '\n', '\r']) {
            format!("\"{}\"", s.replace('"', "\"\""))
        } else {
            s.to_string()
        }
    };
    let cells: Vec<String> = row(l)
        .iter()
        .map(|v| match v {
            Value::Text(s) => field(s),
            Value::Money(m) => m.map(|m| m.to_fen_string()).unwrap_or_default(),
        })
        .collect();
    let mut line = cells.join(",");
    line.push_str("\r\n");
    line
}

/// Most leads one sheet holds: a sheet has 1,048,576 rows, one of them
/// the headings.
pub const SHEET_ROWS: usize = 1_048_575;

/// An XLSX lead file written as the leads come, sheet by sheet, each
/// sheet's rows kept on disk rather than in memory (the writer's constant
/// memory mode), so a registry of millions fits.
pub struct XlsxLeads {
    wb: Workbook,
    sheets: usize,
    rows: usize,
    per_sheet: usize,
    money: Format,
}

fn xlsx_err(e: rust_xlsxwriter::XlsxError) -> String {
    format!("cannot write the workbook: {e}")
}

impl XlsxLeads {
    /// A workbook with its first sheet, 线索, headed.
    pub fn new() -> Result<XlsxLeads, String> {
        XlsxLeads::with_sheets_of(SHEET_ROWS)
    }

    /// The same, a sheet holding `per_sheet` leads (tests).
    fn with_sheets_of(per_sheet: usize) -> Result<XlsxLeads, String> {
        let mut wb = Workbook::new();
        // (level 2 of 9: most of a large export's time is the compression;
        // 2,280,000 leads take 13.9 s and 153 MB against 22.8 s and 114 MB
        // at the default 6)
        wb.set_zip_compression_level(2);
        let mut out = XlsxLeads {
            wb,
            sheets: 0,
            rows: 0,
            per_sheet,
            money: money_format(),
        };
        out.add_sheet()?;
        Ok(out)
    }

    fn add_sheet(&mut self) -> Result<(), String> {
        self.sheets += 1;
        let name = match self.sheets {
            1 => "线索".to_string(),
            n => format!("线索{n}"),
        };
        let ws = self
            .wb
            .add_worksheet_with_constant_memory()
            .map_err(xlsx_err)?;
        ws.set_name(name).map_err(xlsx_err)?;
        head(ws).map_err(xlsx_err)?;
        self.rows = 0;
        Ok(())
    }

    /// Adds leads after those already written.
    pub fn push(&mut self, leads: &[Lead]) -> Result<(), String> {
        for l in leads {
            if self.rows == self.per_sheet {
                self.add_sheet()?;
            }
            self.rows += 1;
            let ws = self
                .wb
                .worksheet_from_index(self.sheets - 1)
                .map_err(xlsx_err)?;
            write_row(ws, self.rows as u32, l, &self.money).map_err(xlsx_err)?;
        }
        Ok(())
    }

    /// Writes the workbook to `path`.
    pub fn save(mut self, path: &std::path::Path) -> Result<(), String> {
        self.wb.save(path).map_err(xlsx_err)
    }
}

/// The headings in bold and frozen, the columns' widths.
fn head(ws: &mut rust_xlsxwriter::Worksheet) -> Result<(), rust_xlsxwriter::XlsxError> {
    let bold = Format::new().set_bold();
    for (c, h) in HEADINGS.iter().enumerate() {
        ws.write_string_with_format(0, c as u16, *h, &bold)?;
    }
    for (c, w) in [14, 22, 10, 28, 20, 18, 8, 10, 16, 14, 14, 24, 60]
        .iter()
        .enumerate()
    {
        ws.set_column_width(c as u16, *w)?;
    }
    ws.set_freeze_panes(1, 0)?;
    Ok(())
}

/// One lead on row `r`.
fn write_row(
    ws: &mut rust_xlsxwriter::Worksheet,
    r: u32,
    l: &Lead,
    money: &Format,
) -> Result<(), rust_xlsxwriter::XlsxError> {
    for (c, v) in row(l).into_iter().enumerate() {
        let c = c as u16;
        match v {
            Value::Text(s) if s.is_empty() => {}
            Value::Text(s) => {
                ws.write_string(r, c, s)?;
            }
            Value::Money(Some(m)) => {
                let v: f64 = m.to_fen_string().parse().unwrap_or(0.0);
                ws.write_number_with_format(r, c, v, money)?;
            }
            Value::Money(None) => {}
        }
    }
    Ok(())
}

/// Money cells: numbers to the fen with thousands separators.
fn money_format() -> Format {
    Format::new().set_num_format("#,##0.00")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernel::money::Yuan;

    fn lead(i: usize) -> Lead {
        Lead {
            id: format!("C-JXB-{i:06}"),
            line: i as u64,
            product_id: "gongxintong".into(),
            product_name: "工信通".into(),
            bank_id: Some("JXB".into()),
            firm: format!("企业{i}，有限公司"),
            credit_code: None,
            region_code: Some("360102".into()),
            size_class: None,
            contact: None,
            amount: Some(Yuan::wan(300)),
            annual_cost: Some(Yuan::parse("103500.5").unwrap()),
            benefit: None,
            reasons: "企业规模为小型\"合格\"".into(),
        }
    }

    /// A sheet full, the next sheet takes the rest, each headed; the file
    /// reads back as written.
    #[test]
    fn leads_past_a_sheet_go_on_the_next() {
        use calamine::{Reader, Xlsx, open_workbook};
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("l.xlsx");
        let mut x = XlsxLeads::with_sheets_of(2).unwrap();
        let leads: Vec<Lead> = (1..=5).map(lead).collect();
        x.push(&leads[..3]).unwrap();
        x.push(&leads[3..]).unwrap();
        x.save(&path).unwrap();
        let mut wb: Xlsx<_> = open_workbook(&path).unwrap();
        assert_eq!(wb.sheet_names(), ["线索", "线索2", "线索3"]);
        let rows: Vec<Vec<String>> = ["线索", "线索2", "线索3"]
            .iter()
            .flat_map(|s| {
                let r = wb.worksheet_range(s).unwrap();
                assert_eq!(r.rows().next().unwrap()[0].to_string(), "线索编号");
                r.rows()
                    .skip(1)
                    .map(|r| r.iter().map(|c| c.to_string()).collect())
                    .collect::<Vec<_>>()
            })
            .collect();
        assert_eq!(rows.len(), 5);
        assert_eq!(rows[4][0], "C-JXB-000005");
        assert_eq!(rows[0][10], "103500.5");
        // the CSV of the same leads: quoted where it must be (a quote; a
        // full-width comma is text)
        let line = csv_line(&leads[0]);
        assert_eq!(
            line,
            "C-JXB-000001,工信通,JXB,企业1，有限公司,,东湖区（南昌市）,,,,3000000.00,103500.50,,\"企业规模为小型\"\"合格\"\"\"\r\n"
        );
    }
}

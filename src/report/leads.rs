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

/// The leads as CSV: a byte-order mark, the headings, a row per lead;
/// money to the fen (`3000000.00`), fields quoted where they must be.
pub fn csv(leads: &[Lead]) -> String {
    let field = |s: &str| {
        if s.contains([',', '"', '\n', '\r']) {
            format!("\"{}\"", s.replace('"', "\"\""))
        } else {
            s.to_string()
        }
    };
    let mut out = String::from("\u{FEFF}");
    out.push_str(&HEADINGS.join(","));
    out.push_str("\r\n");
    for l in leads {
        let cells: Vec<String> = row(l)
            .iter()
            .map(|v| match v {
                Value::Text(s) => field(s),
                Value::Money(m) => m.map(|m| m.to_fen_string()).unwrap_or_default(),
            })
            .collect();
        out.push_str(&cells.join(","));
        out.push_str("\r\n");
    }
    out
}

/// The leads as an XLSX workbook: one sheet, 线索, headings in bold and
/// frozen, money as numbers to the fen.
pub fn xlsx(leads: &[Lead]) -> Result<Vec<u8>, String> {
    let err = |e: rust_xlsxwriter::XlsxError| format!("cannot write the workbook: {e}");
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet();
    ws.set_name("线索").map_err(err)?;
    let bold = Format::new().set_bold();
    let money = Format::new().set_num_format("#,##0.00");
    for (c, h) in HEADINGS.iter().enumerate() {
        ws.write_string_with_format(0, c as u16, *h, &bold)
            .map_err(err)?;
    }
    for (c, w) in [14, 22, 10, 28, 20, 18, 8, 10, 16, 14, 14, 24, 60]
        .iter()
        .enumerate()
    {
        ws.set_column_width(c as u16, *w).map_err(err)?;
    }
    ws.set_freeze_panes(1, 0).map_err(err)?;
    for (r, l) in leads.iter().enumerate() {
        let r = u32::try_from(r + 1).map_err(|_| "more leads than a sheet holds".to_string())?;
        for (c, v) in row(l).into_iter().enumerate() {
            let c = c as u16;
            match v {
                Value::Text(s) if s.is_empty() => {}
                Value::Text(s) => {
                    ws.write_string(r, c, s).map_err(err)?;
                }
                Value::Money(Some(m)) => {
                    let v: f64 = m.to_fen_string().parse().unwrap_or(0.0);
                    ws.write_number_with_format(r, c, v, &money).map_err(err)?;
                }
                Value::Money(None) => {}
            }
        }
    }
    wb.save_to_buffer().map_err(err)
}

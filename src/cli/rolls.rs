//! `smefin pool rolls` as text: the estimated monthly roll rates with their
//! counts and intervals, the default chances by state, the expected claims.

use chrono::NaiveDate;

use crate::ledger::rolls::{HORIZONS, RollRates, STATES};
use crate::report::text::table::Table;

/// The states in Chinese, in [`STATES`] order.
const NAMES: [&str; 6] = [
    "正常",
    "逾期1-30天",
    "逾期31-60天",
    "逾期61天至代偿条件",
    "达到代偿条件或核销",
    "结清",
];

fn pct(x: f64) -> String {
    format!("{:.1}%", 100.0 * x)
}

/// The text of roll rates `r` of pool `pool` as of `as_of`.
pub fn text(pool: &str, as_of: NaiveDate, r: &RollRates) -> String {
    let mut out = format!(
        "{pool} 月度迁徙率，截至 {as_of}（{} 个月末之间的迁徙；先验每状态 {} 笔）\n",
        r.month_ends.len().saturating_sub(1),
        r.prior.strength
    );
    let mut header = vec!["月初状态", "观测笔数"];
    header.extend(NAMES);
    let mut t = Table::new(&header, &[1, 2, 3, 4, 5, 6, 7]);
    for (i, row) in r.rates.iter().enumerate() {
        let mut cells = vec![NAMES[i].to_string(), r.observed[i].to_string()];
        cells.extend(row.iter().map(|x| {
            format!(
                "{} [{}–{}] ({})",
                pct(x.estimate),
                pct(x.low),
                pct(x.high),
                x.count
            )
        }));
        t.row(cells);
    }
    out.push_str(&t.render(""));
    out.push_str("\n每格：估计 [95%区间] (迁徙笔数)。\n\n");
    let mut t = Table::new(
        &[
            "当前状态",
            "在贷余额",
            "3个月内达到代偿条件",
            "6个月内",
            "12个月内",
        ],
        &[1, 2, 3, 4],
    );
    for (i, p) in r.default_within.iter().enumerate() {
        t.row(vec![
            NAMES[i].to_string(),
            r.outstanding[i].human(),
            pct(p[0]),
            pct(p[1]),
            pct(p[2]),
        ]);
    }
    out.push_str(&t.render(""));
    out.push_str(&format!(
        "\n预计代偿（现有贷款，未计摊还与新增）：{}\n",
        HORIZONS
            .iter()
            .zip(&r.expected_claims)
            .map(|(h, y)| format!("{h}个月内 {}", y.human()))
            .collect::<Vec<_>>()
            .join("；")
    ));
    debug_assert_eq!(STATES.len(), NAMES.len());
    out
}

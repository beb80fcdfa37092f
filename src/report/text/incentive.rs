//! An incentive statement as text.

use super::table::Table;
use crate::incentive::Statement;
use crate::kernel::money::Yuan;
use crate::kernel::percent;

fn opt(y: Option<Yuan>) -> String {
    y.map_or("—".into(), |y| y.to_fen_string())
}

/// The readable statement.
pub fn render(s: &Statement) -> String {
    let mut o = format!(
        "普惠小微贷款余额增量激励 · {} · 激励比例 {}",
        s.period,
        percent::rate(s.rate)
    );
    if let Some(b) = s.budget {
        o.push_str(&format!(
            " · 预算 {}{}",
            b.human(),
            if s.scaled {
                "（已按比例压降）"
            } else {
                ""
            }
        ));
    }
    o.push('\n');
    let mut t = Table::new(
        &[
            "银行",
            "类型",
            "上季末余额",
            "本季末余额",
            "增量",
            "激励",
            "说明",
        ],
        &[2, 3, 4, 5],
    );
    for l in &s.lines {
        let mut note = l.note.clone();
        for e in &l.excluded {
            if !note.is_empty() {
                note.push('；');
            }
            note.push_str(&format!(
                "剔除{}笔 {}（{}）",
                e.loans,
                e.balance.to_fen_string(),
                e.reason.name_zh()
            ));
        }
        t.row(vec![
            format!("{} {}", l.bank_id, l.bank_name),
            l.institution_type.name_zh().into(),
            opt(l.previous_balance),
            opt(l.balance),
            opt(l.increment),
            l.incentive.to_fen_string(),
            note,
        ]);
    }
    o.push_str(&t.render(""));
    o.push_str(&format!("合计激励：{}\n", s.total.to_fen_string()));
    o
}

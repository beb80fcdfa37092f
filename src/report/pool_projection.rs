//! The pool report's look ahead: the cash month by month, the ledger's
//! history and the projection's fan on one time axis; the chances the cash
//! runs short and the breaker trips; claims by bank; the top-up for the
//! target; the assumptions stated.

use std::fmt::Write;

use super::pool::f;
use super::svg::{ACCENT, Chart, DARK, LIGHT, MID, esc, money, ticks};
use super::table;
use crate::kernel::money::Yuan;
use crate::kernel::percent;
use crate::ledger::history::Month;
use crate::ledger::project::{NEW_LOANS, Projection};

/// The chart: the history's cash (solid, with dots) then, from today, the
/// projection's bands and median.
fn chart(history: &[Month], r: &Projection) -> String {
    let h = history.len();
    let last = h.saturating_sub(1) as f64;
    let hist: Vec<(f64, f64)> = history
        .iter()
        .enumerate()
        .map(|(i, m)| (i as f64, f(m.cash)))
        .collect();
    let start = (last, f(r.cash));
    let band = |q: usize| -> Vec<(f64, f64)> {
        std::iter::once(start)
            .chain(
                r.cash_fan
                    .iter()
                    .enumerate()
                    .map(|(m, fan)| (last + 1.0 + m as f64, f(fan[q]))),
            )
            .collect()
    };
    let (p5, p25, p50, p75, p95) = (band(0), band(1), band(2), band(3), band(4));
    let x1 = last + r.cash_fan.len() as f64;
    let all = hist.iter().chain(&p95).chain(&p5).map(|p| p.1);
    let ymax = all.clone().fold(0.0, f64::max).max(1.0) * 1.08;
    let ymin = all.fold(0.0, f64::min);
    let mut c = Chart::new(
        "outlook",
        "资金池现金：历史与前瞻",
        (0.0, x1.max(1.0)),
        (ymin, ymax),
    );
    let label = |v: f64| {
        let i = v.round().max(0.0) as usize;
        match history.get(i) {
            Some(m) => m.end.format("%Y-%m").to_string(),
            None => format!("+{}月", i as f64 - last),
        }
    };
    c.axes(
        &ticks(0.0, x1.max(1.0), 8),
        &label,
        &ticks(ymin, ymax, 5),
        &|v| money(v),
        "月末",
        "现金",
    );
    c.band("p5-p95", &p5, &p95, LIGHT, Some("P5–P95"));
    c.band("p25-p75", &p25, &p75, MID, Some("P25–P75"));
    c.line("median", &p50, DARK, Some("6 4"), Some("前瞻中位数"));
    c.line("history", &hist, DARK, None, Some("账本记录"));
    c.dots("history", &hist, DARK);
    c.vline("today", last, ACCENT, "4 3", &format!("{} 起", r.as_of), 0);
    c.finish(
        "实线为账本记录的每月末现金；今日之后，浅色带为模拟的 5%–95% 分位，深色带为 25%–75%，虚线为中位数（现金为负表示未能支付的代偿）。",
    )
}

/// The section, appended to `b`.
pub fn section(b: &mut String, history: &[Month], r: &Projection) {
    let o = &r.options;
    let _ = writeln!(
        b,
        "<h2>前瞻（自 {} 起 {} 个月，{} 个情景）</h2>",
        r.as_of, o.months, o.scenarios
    );
    b.push_str(&chart(history, r));
    let at = |m: u32| (m as usize).min(r.exhausted_by.len()).checked_sub(1);
    let rows: Vec<Vec<String>> = [3u32, 6, 12]
        .into_iter()
        .filter(|m| *m <= o.months)
        .chain((o.months > 12).then_some(o.months))
        .filter_map(|m| {
            let i = at(m)?;
            Some(vec![
                format!("{m} 个月内"),
                percent::short(r.exhausted_by[i]),
                percent::short(r.tripped_by[i]),
                money(f(r.cash_fan[i][2])),
            ])
        })
        .collect();
    b.push_str(&table(
        &["期限", "资金不足概率", "熔断概率", "现金中位数"],
        &rows,
    ));
    let mut rows = vec![vec![
        "合计".to_string(),
        money(f(r.claims[0])),
        money(f(r.claims[1])),
        money(f(r.claims[2])),
    ]];
    rows.extend(
        claim_rows(r)
            .map(|(name, c)| vec![name.into(), money(f(c[0])), money(f(c[1])), money(f(c[2]))]),
    );
    b.push_str(&table(&["代偿（期内发生）", "预计", "P95", "P99"], &rows));
    let _ = writeln!(
        b,
        "<p>使 {} 个月内资金不足的概率不超过 {}，今日需补充 <b>{}</b>。起点：现金 {}，已批准未支付代偿 {}，已达代偿条件未申请的代偿 {}（均计入第 1 个月）。</p>",
        o.months,
        percent::short(o.target),
        esc(&r.top_up_for_target.map_or(
            "——（按规则补足之后仍可能不足，今日多补的资金会在规则补足时抵减：需提高规则的补足目标）".into(),
            |y| y.human()
        )),
        esc(&r.cash.human()),
        esc(&r.committed.human()),
        esc(&r.pipeline_claims.human())
    );
    let _ = writeln!(
        b,
        "<p class=\"note\">迁徙率取自本资金池的历史；相关系数 ρ {}、追偿率 {}（支付后 {} 个月）、代偿支付滞后 {} 个月{}为可调整的默认假设；正常贷款到期即结清；新增贷放每月 {}（熔断未触发且规模允许时纳入）；{}。</p>",
        o.rho,
        percent::short(o.recovery_rate),
        o.recovery_lag,
        o.claim_lag,
        batch_clause(o.claim_batch),
        esc(&r.new_lending[0].human()),
        if o.top_up_rule {
            format!(
                "补充资金规则在各情景内执行，平均补充 {}",
                esc(&r.top_up_total[0].human())
            )
        } else {
            "未计补充资金规则".to_string()
        }
    );
}

/// How claims are batched, as a clause after the claim lag (none when
/// monthly).
pub fn batch_clause(months: u32) -> String {
    match months {
        1 => String::new(),
        3 => "、按季末批量支付".into(),
        m => format!("、每 {m} 个月末批量支付"),
    }
}

/// The projected claims by whom: each bank, then the new loans (named
/// 新增贷款).
pub fn claim_rows(r: &Projection) -> impl Iterator<Item = (&str, &[Yuan; 3])> {
    let mut rows: Vec<(&str, &[Yuan; 3])> = r
        .claims_by_bank
        .iter()
        .map(|(b, c)| {
            (
                if b == NEW_LOANS {
                    "新增贷款"
                } else {
                    b.as_str()
                },
                c,
            )
        })
        .collect();
    rows.sort_by_key(|(b, _)| *b == "新增贷款");
    rows.into_iter()
}

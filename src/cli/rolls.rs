//! `smefin pool rolls` as text: the estimated monthly roll rates with their
//! counts and intervals, the default chances by state, the expected claims;
//! and `smefin pool project`, the projection over them.

use chrono::NaiveDate;

use super::pool::{ProjectArgs, each, open, read_error};
use super::{CliError, print};
use crate::ledger::project::{Options, Projection};
use crate::ledger::rolls::{HORIZONS, Prior, RollRates, STATES};
use crate::report::pool_projection::claim_rows;
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
    crate::kernel::percent::fixed(x, 1)
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

/// Checks the flags, each by name.
fn options(a: &ProjectArgs) -> Result<Options, CliError> {
    let bad = |flag: &str, why: &str| Err(CliError::new(format!("--{flag}: {why}")));
    let new_lending = match a
        .new_lending
        .as_deref()
        .map(crate::ledger::project::new_lending)
    {
        None => None,
        Some(Ok(y)) => Some(y),
        Some(Err(why)) => return bad("new-lending", &why),
    };
    let o = Options {
        months: a.months,
        scenarios: a.scenarios,
        seed: a.seed,
        rho: a.rho,
        claim_lag: a.claim_lag,
        claim_batch: a.claim_batch,
        recovery_rate: a.recovery_rate,
        recovery_lag: a.recovery_lag,
        target: a.target,
        top_up_rule: !a.without_top_up_rule,
        new_lending,
    };
    if let Some((field, why)) = o.problems().first() {
        return bad(&field.replace('_', "-"), why);
    }
    if !(100..=10_000_000).contains(&a.scenarios) {
        return bad("scenarios", "must be 100 to 10,000,000");
    }
    if !(a.prior_strength.is_finite() && (0.0..=1e9).contains(&a.prior_strength)) {
        return bad(
            "prior-strength",
            "must be a number of pseudo-loans from 0 to 1e9",
        );
    }
    Ok(o)
}

/// Runs `smefin pool project`.
pub fn project(a: ProjectArgs) -> Result<(), CliError> {
    let o = options(&a)?;
    let (store, p, as_of) = open(&a.which)?;
    let (pool, store) = (a.which.pool.as_str(), store.as_ref());
    let prior = Prior {
        strength: a.prior_strength,
        ..Default::default()
    };
    let (rolls, r) =
        crate::ledger::project::from_each(&p, each(store, pool, as_of), as_of, &prior, &o)
            .map_err(read_error(pool))?;
    let back = if a.backtest {
        let end = as_of + chrono::Months::new(o.months);
        let months = crate::ledger::history::months_from(&p, each(store, pool, end), end, 1200)
            .map_err(read_error(pool))?;
        Some(crate::ledger::backtest::backtest(&r, &months))
    } else {
        None
    };
    if back.as_ref().is_some_and(|b| b.months.is_empty()) {
        return Err(CliError::new(
            "--backtest: the ledger has no month end after --as-of to compare with",
        ));
    }
    if a.json {
        let v = serde_json::json!({ "roll_rates": rolls, "projection": r, "backtest": back });
        let text = serde_json::to_string_pretty(&v).map_err(|e| CliError::new(e.to_string()))?;
        return print(&(text + "\n"));
    }
    let mut out = projection_text(&a.which.pool, &rolls, &r);
    if let Some(b) = &back {
        out.push_str(&backtest_text(b));
    }
    print(&out)
}

fn backtest_text(b: &crate::ledger::backtest::Backtest) -> String {
    let mut out = String::from("\n回测：预测与账本实际\n");
    let mut t = Table::new(
        &[
            "月末",
            "实际现金",
            "预测 P5–P95",
            "落在区间内",
            "实际熔断",
            "预测熔断概率",
        ],
        &[1, 2, 5],
    );
    for m in &b.months {
        t.row(vec![
            m.end.to_string(),
            m.cash.human(),
            format!("{} – {}", m.band.0.human(), m.band.1.human()),
            if m.inside { "是" } else { "否" }.into(),
            if m.suspended { "是" } else { "否" }.into(),
            pct(m.tripped_by),
        ]);
    }
    out.push_str(&t.render(""));
    out.push_str(&format!(
        "\n{} 个月中 {} 落在 P5–P95 区间内（校准时约 90%）；同期实际代偿支付 {}\n",
        b.months.len(),
        b.coverage.map_or("—".into(), pct),
        b.claims_paid.human()
    ));
    out
}

fn projection_text(pool: &str, rolls: &RollRates, r: &Projection) -> String {
    let o = &r.options;
    let mut out = format!(
        "{pool} 自 {} 起 {} 个月的前瞻模拟（{} 个情景，种子 {}）{}\n",
        r.as_of,
        o.months,
        o.scenarios,
        o.seed,
        if r.suspended_now {
            "；今日已熔断（暂停新增），熔断概率按不良率计"
        } else {
            ""
        }
    );
    out.push_str(&format!(
        "起点：现金 {}；已批准未支付代偿 {}；已达代偿条件未申请 {}（均于第1个月支付）\n",
        r.cash.human(),
        r.committed.human(),
        r.pipeline_claims.human()
    ));
    out.push_str(&lending_text(r));
    out.push_str(&format!(
        "迁徙率：取自 {} 个月末之间的历史（先验每状态 {} 笔）；相关系数 ρ {}、追偿率 {}（{} 个月后）、代偿支付滞后 {} 个月{}为默认假设，可用参数调整\n\n",
        rolls.month_ends.len().saturating_sub(1),
        rolls.prior.strength,
        o.rho,
        pct(o.recovery_rate),
        o.recovery_lag,
        o.claim_lag,
        crate::report::pool_projection::batch_clause(o.claim_batch)
    ));
    let mut t = Table::new(
        &[
            "月份",
            "资金不足概率",
            "熔断概率",
            "现金 P5",
            "P25",
            "中位数",
            "P75",
            "P95",
        ],
        &[1, 2, 3, 4, 5, 6, 7],
    );
    for (m, fan) in r.cash_fan.iter().enumerate() {
        let mut row = vec![
            format!("第{}月", m + 1),
            pct(r.exhausted_by[m]),
            pct(r.tripped_by[m]),
        ];
        row.extend(fan.iter().map(|y| y.human()));
        t.row(row);
    }
    out.push_str(&t.render(""));
    out.push('\n');
    out.push_str(&claims_table(r));
    out.push_str(&format!(
        "\n使 {} 个月内资金不足概率不超过 {} 需今日补充：{}\n现金为负表示代偿缺口（未能支付的部分）。\n",
        o.months,
        pct(o.target),
        r.top_up_for_target.map_or(
            "今日补充无法达到：按规则补足之后仍可能不足（今日多补的资金会在规则补足时抵减），需提高规则的补足目标".into(),
            |y| y.human()
        )
    ));
    out
}

/// The claims in the horizon: the pool's, each bank's, the new loans'.
fn claims_table(r: &Projection) -> String {
    let mut t = Table::new(&["", "预计代偿", "P95", "P99"], &[1, 2, 3]);
    let rows = std::iter::once(("合计", &r.claims)).chain(claim_rows(r));
    for (name, c) in rows {
        t.row(vec![name.into(), c[0].human(), c[1].human(), c[2].human()]);
    }
    t.render("")
}

/// The new lending and the top-up rule the paths ran with.
fn lending_text(r: &Projection) -> String {
    let o = &r.options;
    let lending = if r.new_lending[0] == crate::kernel::money::Yuan::ZERO {
        "新增贷放：无".to_string()
    } else {
        format!(
            "新增贷放：每月 {}（每笔 {}，按资金池已纳入贷款的平均金额与期限），熔断未触发且信贷规模允许时纳入，期内平均纳入 {}",
            r.new_lending[0].human(),
            r.new_lending[1].human(),
            r.new_lent.human()
        )
    };
    let rule = if o.top_up_rule {
        format!(
            "补充资金规则在各情景内执行：平均补充 {}（P95 {}，P99 {}）",
            r.top_up_total[0].human(),
            r.top_up_total[1].human(),
            r.top_up_total[2].human()
        )
    } else {
        "未计补充资金规则（--without-top-up-rule）".to_string()
    };
    format!("{lending}；{rule}；正常贷款到期即结清\n")
}

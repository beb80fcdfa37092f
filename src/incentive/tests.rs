//! Unit tests for every incentive rule.

use super::*;
use rust_decimal::dec;

fn y(s: &str) -> Yuan {
    Yuan::parse(s).unwrap()
}

fn bank(id: &str, t: InstitutionType) -> Bank {
    Bank {
        bank_id: id.into(),
        name: format!("{id}银行"),
        institution_type: t,
    }
}

fn reports(rows: &[(&str, &str, &str)]) -> BTreeMap<(String, Quarter), BalanceReport> {
    rows.iter()
        .map(|&(b, p, bal)| {
            let period: Quarter = p.parse().unwrap();
            (
                (b.to_string(), period),
                BalanceReport {
                    bank_id: b.into(),
                    period,
                    balance: y(bal),
                    version: 1,
                    excluded: vec![],
                },
            )
        })
        .collect()
}

#[test]
fn quarters() {
    let q: Quarter = "2023Q1".parse().unwrap();
    assert_eq!(q.prev().to_string(), "2022Q4");
    for bad in [
        "2023q2", "2023-Q2", " 2023Q2", "2023Q02", "+2023Q2", "02023Q2", "2023Q",
    ] {
        assert!(bad.parse::<Quarter>().is_err(), "{bad}");
    }
    assert!("2023Q5".parse::<Quarter>().is_err());
    assert!("Q2".parse::<Quarter>().is_err());
}

#[test]
fn rate_schedule_defaults() {
    let r = IncentiveRules::default();
    assert_eq!(r.rate("2021Q4".parse().unwrap()), None);
    assert_eq!(r.rate("2022Q1".parse().unwrap()), Some(dec!(0.01)));
    assert_eq!(r.rate("2022Q2".parse().unwrap()), Some(dec!(0.02)));
    assert_eq!(r.rate("2024Q4".parse().unwrap()), Some(dec!(0.02)));
    assert_eq!(r.rate("2025Q1".parse().unwrap()), None);
    assert_eq!(
        r.line_limit("2023Q4".parse().unwrap()),
        Some(Yuan::wan(1000))
    );
    assert_eq!(
        r.line_limit("2024Q1".parse().unwrap()),
        Some(Yuan::wan(2000))
    );
}

#[test]
fn institution_types_by_chinese_and_enum_names() {
    assert_eq!(
        InstitutionType::parse("农村商业银行"),
        Some(InstitutionType::RuralCommercial)
    );
    assert_eq!(
        InstitutionType::parse("INSTITUTION_TYPE_VILLAGE"),
        Some(InstitutionType::Village)
    );
    assert_eq!(
        InstitutionType::parse("city_commercial"),
        Some(InstitutionType::CityCommercial)
    );
    let r = IncentiveRules::default();
    assert!(r.qualifies(InstitutionType::Private));
    assert!(!r.qualifies(InstitutionType::JointStock));
    assert!(!r.qualifies(InstitutionType::OutOfProvinceBranch));
}

#[test]
fn positive_negative_and_zero_increments() {
    let rules = IncentiveRules::default();
    let banks = vec![
        bank("A", InstitutionType::CityCommercial),
        bank("B", InstitutionType::Village),
        bank("C", InstitutionType::RuralCommercial),
    ];
    let rep = reports(&[
        ("A", "2023Q1", "10亿"),
        ("A", "2023Q2", "10.5亿"),
        ("B", "2023Q1", "2亿"),
        ("B", "2023Q2", "1.9亿"),
        ("C", "2023Q1", "3亿"),
        ("C", "2023Q2", "3亿"),
    ]);
    let s = compute(&rules, "2023Q2".parse().unwrap(), &banks, &rep, None, None);
    assert_eq!(s.lines[0].increment, Some(y("5000万")));
    assert_eq!(s.lines[0].incentive, y("100万")); // 2% of 5000万
    assert_eq!(s.lines[1].increment, Some(Yuan(dec!(-10000000))));
    assert_eq!(s.lines[1].incentive, Yuan::ZERO);
    assert!(s.lines[1].note.contains("未增加"));
    assert_eq!(s.lines[2].incentive, Yuan::ZERO);
    assert_eq!(s.total, y("100万"));
    assert_eq!(s.version, 1);
}

#[test]
fn the_2022q1_quarter_pays_one_percent_and_rounds_half_away_from_zero() {
    let rules = IncentiveRules::default();
    let banks = vec![bank("A", InstitutionType::CityCommercial)];
    // increment 1234.50 × 1% = 12.345 → 12.35
    let rep = reports(&[("A", "2021Q4", "100000.00"), ("A", "2022Q1", "101234.50")]);
    let s = compute(&rules, "2022Q1".parse().unwrap(), &banks, &rep, None, None);
    assert_eq!(s.rate, dec!(0.01));
    assert_eq!(s.lines[0].incentive.to_fen_string(), "12.35");
}

#[test]
fn missing_previous_quarter_is_an_error_never_zero() {
    let rules = IncentiveRules::default();
    let banks = vec![
        bank("A", InstitutionType::CityCommercial),
        bank("B", InstitutionType::CityCommercial),
    ];
    let rep = reports(&[("A", "2023Q2", "10亿"), ("B", "2023Q1", "1亿")]);
    let s = compute(&rules, "2023Q2".parse().unwrap(), &banks, &rep, None, None);
    assert!(s.lines[0].error);
    assert!(s.lines[0].note.contains("2023Q1"), "{}", s.lines[0].note);
    assert!(s.lines[1].error);
    assert!(
        s.lines[1].note.contains("缺少 2023Q2"),
        "{}",
        s.lines[1].note
    );
}

#[test]
fn non_qualifying_types_get_nothing() {
    let rules = IncentiveRules::default();
    let banks = vec![bank("J", InstitutionType::JointStock)];
    let rep = reports(&[("J", "2023Q1", "1亿"), ("J", "2023Q2", "2亿")]);
    let s = compute(&rules, "2023Q2".parse().unwrap(), &banks, &rep, None, None);
    assert_eq!(s.lines[0].incentive, Yuan::ZERO);
    assert!(s.lines[0].note.contains("股份制商业银行"));
}

#[test]
fn outside_the_schedule_nothing_is_paid_unless_configured() {
    let mut rules = IncentiveRules::default();
    let banks = vec![bank("A", InstitutionType::CityCommercial)];
    let rep = reports(&[("A", "2024Q4", "1亿"), ("A", "2025Q1", "2亿")]);
    let s = compute(&rules, "2025Q1".parse().unwrap(), &banks, &rep, None, None);
    assert_eq!(s.total, Yuan::ZERO);
    assert!(s.lines[0].note.contains("不在激励期内"));
    rules.rates.push(RateStep {
        from: "2025Q1".parse().unwrap(),
        to: "2025Q4".parse().unwrap(),
        rate: dec!(0.015),
    });
    let s = compute(&rules, "2025Q1".parse().unwrap(), &banks, &rep, None, None);
    assert_eq!(s.total, y("150万"));
}

#[test]
fn loan_classification_and_the_2024_threshold() {
    let l = |bt, purpose, line: &str, bal: &str, borrower: &str| LoanRecord {
        loan_id: format!("L{borrower}{bal}"),
        borrower_id: borrower.into(),
        borrower_type: bt,
        purpose,
        credit_line: y(line),
        balance: y(bal),
    };
    use BorrowerType::*;
    use LoanUse::*;
    let loans = vec![
        l(SmallMicroEnterprise, Business, "800万", "300万", "a"),
        l(IndividualBusiness, Business, "50万", "20万", "b"),
        l(IndividualBusiness, Consumption, "50万", "10万", "c"),
        l(SmallMicroOwner, Business, "100万", "40万", "d"),
        l(LargeMediumEnterprise, Business, "5000万", "3000万", "e"),
        l(SmallMicroEnterprise, Business, "1500万", "900万", "f"),
        // borrower g's rows disagree: the largest line (1200万) decides
        l(SmallMicroEnterprise, Business, "900万", "100万", "g"),
        l(SmallMicroEnterprise, Business, "1200万", "100万", "g"),
    ];
    let s = snapshot_balance(&loans, Yuan::wan(1000));
    assert_eq!(s.balance, y("360万"));
    assert_eq!(s.loans, 3);
    let ex: Vec<(Exclusion, u64, Yuan)> = s
        .excluded
        .iter()
        .map(|e| (e.reason, e.loans, e.balance))
        .collect();
    assert_eq!(
        ex,
        vec![
            (Exclusion::BorrowerType, 1, y("3000万")),
            (Exclusion::NonBusinessPurpose, 1, y("10万")),
            (Exclusion::CreditLineAboveLimit, 3, y("1100万")),
        ]
    );
    // from 2024 the limit is 2000万: f and g count
    let s = snapshot_balance(
        &loans,
        IncentiveRules::default()
            .line_limit("2024Q1".parse().unwrap())
            .unwrap(),
    );
    assert_eq!(s.balance, y("1460万"));
}

#[test]
fn budget_scaling_sums_exactly_to_the_fen() {
    // three equal claims over a budget of 100.00: 33.34 + 33.33 + 33.33
    let v = scale_to_budget(&[y("50"), y("50"), y("50")], y("100"));
    assert_eq!(v.iter().map(|a| a.0).sum::<Decimal>(), dec!(100));
    assert_eq!(
        v,
        vec![Yuan(dec!(33.34)), Yuan(dec!(33.33)), Yuan(dec!(33.33))]
    );
    // under budget: unchanged
    assert_eq!(
        scale_to_budget(&[y("10"), y("20")], y("100")),
        vec![y("10"), y("20")]
    );
    // many awkward amounts
    let amounts: Vec<Yuan> = (1..=97)
        .map(|i| Yuan(Decimal::new(i * 12_345 + 7, 2)))
        .collect();
    let budget = y("12345.67");
    let v = scale_to_budget(&amounts, budget);
    assert_eq!(v.iter().map(|a| a.0).sum::<Decimal>(), budget.0);
    assert!(v.iter().zip(&amounts).all(|(s, a)| s <= a));
    // in a statement
    let rules = IncentiveRules::default();
    let banks = vec![
        bank("A", InstitutionType::CityCommercial),
        bank("B", InstitutionType::Village),
    ];
    let rep = reports(&[
        ("A", "2023Q1", "1亿"),
        ("A", "2023Q2", "2亿"),
        ("B", "2023Q1", "1亿"),
        ("B", "2023Q2", "1.5亿"),
    ]);
    let s = compute(
        &rules,
        "2023Q2".parse().unwrap(),
        &banks,
        &rep,
        Some(y("200万")),
        None,
    );
    assert!(s.scaled);
    assert_eq!(s.total, y("200万"));
    assert_eq!(s.lines[0].incentive_before_budget, y("200万"));
    assert_eq!(s.lines[0].incentive.to_fen_string(), "1333333.33");
    assert_eq!(s.lines[1].incentive.to_fen_string(), "666666.67");
}

#[test]
fn restatement_shows_the_adjustment() {
    let rules = IncentiveRules::default();
    let banks = vec![bank("A", InstitutionType::CityCommercial)];
    let first = compute(
        &rules,
        "2023Q2".parse().unwrap(),
        &banks,
        &reports(&[("A", "2023Q1", "1亿"), ("A", "2023Q2", "2亿")]),
        None,
        None,
    );
    assert_eq!(first.total, y("200万"));
    // the bank restates its Q2 balance down to 1.8亿
    let mut rep = reports(&[("A", "2023Q1", "1亿"), ("A", "2023Q2", "1.8亿")]);
    rep.get_mut(&("A".to_string(), "2023Q2".parse().unwrap()))
        .unwrap()
        .version = 2;
    let second = compute(
        &rules,
        "2023Q2".parse().unwrap(),
        &banks,
        &rep,
        None,
        Some(&first),
    );
    assert_eq!(second.version, 2);
    assert_eq!(second.lines[0].incentive, y("160万"));
    assert_eq!(second.lines[0].previously_stated, Some(y("200万")));
    assert_eq!(second.lines[0].adjustment, Some(Yuan(dec!(-400000))));
}

#[test]
fn csv_inputs_report_every_problem() {
    let mut inputs = csv::Inputs::default();
    let mut errs = Vec::new();
    inputs.add_balances(
        "bank_id,bank_name,institution_type,period,balance\nA,甲,城市商业银行,2023Q1,1亿\nB,乙,火星银行,2023Q1,1亿\nA,甲,城市商业银行,2023Q9,x\n",
        "b.csv",
        &mut errs,
    );
    let fields: Vec<&str> = errs.iter().map(|e| e.field.as_str()).collect();
    assert_eq!(
        fields,
        vec![
            "b.csv:3.institution_type",
            "b.csv:4.period",
            "b.csv:4.balance"
        ]
    );
    let mut errs = Vec::new();
    let mut inputs = csv::Inputs::default();
    inputs.add_banks(
        "bank_id,bank_name,institution_type\nA,甲,村镇银行\n",
        "k.csv",
        &mut errs,
    );
    inputs.add_loans(
        "bank_id,period,loan_id,borrower_id,borrower_type,purpose,credit_line,balance\nA,2023Q2,1,x,小微企业,经营性,500万,100万\nA,2023Q2,2,y,个体工商户,消费,20万,5万\nZ,2023Q2,3,z,小微企业,经营性,1万,1万\n",
        "l.csv",
        &IncentiveRules::default(),
        &mut errs,
    );
    assert_eq!(errs.len(), 1);
    assert_eq!(errs[0].field, "l.csv:4.bank_id");
    let r = &inputs.reports[&("A".to_string(), "2023Q2".parse().unwrap())];
    assert_eq!(r.balance, y("100万"));
    assert_eq!(r.excluded[0].reason, Exclusion::NonBusinessPurpose);
}

#[test]
fn one_loan_rule_and_no_silent_line_limit() {
    let rec = |b: &str| LoanRecord {
        loan_id: "L1".into(),
        borrower_id: b.into(),
        borrower_type: BorrowerType::SmallMicroEnterprise,
        purpose: LoanUse::Business,
        credit_line: y("100万"),
        balance: y("50万"),
    };
    assert!(rec("B1").problems().is_empty());
    assert_eq!(rec(" ").problems()[0].0, "borrower_id");
    assert_eq!(rec(&"x".repeat(129)).problems()[0].0, "borrower_id");
    // the CSV path applies the same rule
    let mut inputs = csv::Inputs::default();
    let mut errs = Vec::new();
    inputs.add_banks(
        "bank_id,bank_name,institution_type\nJXB,江西银行,城市商业银行\n",
        "banks.csv",
        &mut errs,
    );
    inputs.add_loans(
        "bank_id,period,loan_id,borrower_id,borrower_type,purpose,credit_line,balance\nJXB,2023Q1,L1,,小微企业,经营性,100万,50万\nJXB,2023Q1,L1,B2,小微企业,经营性,100万,50万\n",
        "loans.csv",
        &IncentiveRules::default(),
        &mut errs,
    );
    let fields: Vec<&str> = errs.iter().map(|v| v.field.as_str()).collect();
    assert_eq!(fields, ["loans.csv:2.borrower_id", "loans.csv:3.loan_id"]);
    // a quarter before every configured limit is refused, not given 1000万
    let rules = IncentiveRules {
        line_limits: vec![LineLimit {
            from: "2024Q1".parse().unwrap(),
            limit: y("2000万"),
        }],
        ..IncentiveRules::default()
    };
    assert!(
        rules
            .line_limit_for("2023Q4".parse().unwrap())
            .unwrap_err()
            .contains("2024Q1")
    );
    assert_eq!(
        rules.line_limit_for("2024Q2".parse().unwrap()),
        Ok(y("2000万"))
    );
}

/// Largest remainder against an oracle in integer fen: each share is
/// ⌊aᵢ·B/T⌋ fen, the fen left go one each to the largest remainders
/// (aᵢ·B mod T), ties to the earlier bank.
fn oracle_scale(amounts: &[i128], budget: i128) -> Vec<i128> {
    let total: i128 = amounts.iter().sum();
    if total <= budget {
        return amounts.to_vec();
    }
    let mut out: Vec<i128> = amounts.iter().map(|a| a * budget / total).collect();
    let rem: Vec<i128> = amounts.iter().map(|a| a * budget % total).collect();
    let mut order: Vec<usize> = (0..amounts.len()).collect();
    order.sort_by(|&a, &b| rem[b].cmp(&rem[a]).then(a.cmp(&b)));
    let left = budget - out.iter().sum::<i128>();
    for &i in order.iter().take(left as usize) {
        out[i] += 1;
    }
    out
}

#[test]
fn budget_scaling_by_largest_remainder_with_many_banks_and_ties() {
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let mut next = |m: u64| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state % m
    };
    for round in 0..200 {
        let banks = 1 + next(300) as usize;
        // few distinct amounts, so many banks tie on their remainders
        let palette: Vec<i128> = (0..1 + next(5))
            .map(|_| 1 + next(5_000_000) as i128)
            .collect();
        let amounts: Vec<i128> = (0..banks)
            .map(|_| palette[next(palette.len() as u64) as usize])
            .collect();
        let total: i128 = amounts.iter().sum();
        let budget = 1 + next(total as u64) as i128;
        let got = scale_to_budget(
            &amounts
                .iter()
                .map(|&a| Yuan(Decimal::new(a as i64, 2)))
                .collect::<Vec<_>>(),
            Yuan(Decimal::new(budget as i64, 2)),
        );
        let want = oracle_scale(&amounts, budget);
        let got_fen: Vec<i128> = got
            .iter()
            .map(|y| rust_decimal::prelude::ToPrimitive::to_i128(&(y.0 * dec!(100))).unwrap())
            .collect();
        assert_eq!(got_fen, want, "round {round}");
        assert_eq!(got_fen.iter().sum::<i128>(), budget.min(total));
    }
}

/// Restating the previous quarter changes this quarter's increment.
#[test]
fn restating_the_previous_quarter_moves_this_quarters_incentive() {
    let rules = IncentiveRules::default();
    let banks = vec![bank("A", InstitutionType::CityCommercial)];
    let q2: Quarter = "2023Q2".parse().unwrap();
    let first = compute(
        &rules,
        q2,
        &banks,
        &reports(&[("A", "2023Q1", "1亿"), ("A", "2023Q2", "2亿")]),
        None,
        None,
    );
    assert_eq!(first.total, y("200万"));
    // Q1 restated up to 1.2亿: Q2's increment falls to 0.8亿
    let second = compute(
        &rules,
        q2,
        &banks,
        &reports(&[("A", "2023Q1", "1.2亿"), ("A", "2023Q2", "2亿")]),
        None,
        Some(&first),
    );
    assert_eq!(second.lines[0].increment, Some(y("0.8亿")));
    assert_eq!(second.total, y("160万"));
    assert_eq!(second.lines[0].adjustment, Some(Yuan(dec!(-400000))));
}

/// Under a binding budget a restatement moves money between banks: the
/// total stays the budget and the adjustments add up to zero.
#[test]
fn restatement_under_a_budget_moves_money_between_banks() {
    let rules = IncentiveRules::default();
    let banks = vec![
        bank("A", InstitutionType::CityCommercial),
        bank("B", InstitutionType::Village),
        bank("C", InstitutionType::RuralCommercial),
    ];
    let q2: Quarter = "2023Q2".parse().unwrap();
    let budget = Some(y("100万"));
    let base = [
        ("A", "2023Q1", "1亿"),
        ("A", "2023Q2", "2亿"),
        ("B", "2023Q1", "1亿"),
        ("B", "2023Q2", "1.7亿"),
        ("C", "2023Q1", "3亿"),
        ("C", "2023Q2", "3.3亿"),
    ];
    let first = compute(&rules, q2, &banks, &reports(&base), budget, None);
    assert!(first.scaled);
    assert_eq!(first.total, y("100万"));
    let mut restated = base;
    restated[3] = ("B", "2023Q2", "2.4亿");
    let second = compute(
        &rules,
        q2,
        &banks,
        &reports(&restated),
        budget,
        Some(&first),
    );
    assert_eq!(second.total, y("100万"));
    let adj: Decimal = second.lines.iter().map(|l| l.adjustment.unwrap().0).sum();
    assert_eq!(adj, Decimal::ZERO);
    assert!(second.lines[1].adjustment.unwrap().0 > Decimal::ZERO);
    assert!(second.lines[0].adjustment.unwrap().0 < Decimal::ZERO);
}

/// Banks added or removed between versions: a new bank's whole amount is
/// its adjustment, a bank no longer listed gets a line taking its amount
/// back, and the adjustments add up to the change of the total.
#[test]
fn banks_added_or_removed_between_versions() {
    let rules = IncentiveRules::default();
    let q2: Quarter = "2023Q2".parse().unwrap();
    let rep = reports(&[
        ("A", "2023Q1", "1亿"),
        ("A", "2023Q2", "2亿"),
        ("B", "2023Q1", "1亿"),
        ("B", "2023Q2", "1.5亿"),
        ("C", "2023Q1", "1亿"),
        ("C", "2023Q2", "1.1亿"),
    ]);
    let first = compute(
        &rules,
        q2,
        &[
            bank("A", InstitutionType::CityCommercial),
            bank("B", InstitutionType::Village),
        ],
        &rep,
        None,
        None,
    );
    assert_eq!(first.total, y("300万"));
    let second = compute(
        &rules,
        q2,
        &[
            bank("A", InstitutionType::CityCommercial),
            bank("C", InstitutionType::RuralCommercial),
        ],
        &rep,
        None,
        Some(&first),
    );
    assert_eq!(second.total, y("220万"));
    let line = |id: &str| second.lines.iter().find(|l| l.bank_id == id).unwrap();
    assert_eq!(line("C").adjustment, Some(y("20万")));
    assert_eq!(line("B").incentive, Yuan::ZERO);
    assert_eq!(line("B").adjustment, Some(Yuan(dec!(-1000000))));
    let adj: Decimal = second.lines.iter().map(|l| l.adjustment.unwrap().0).sum();
    assert_eq!(adj, second.total.0 - first.total.0);
}

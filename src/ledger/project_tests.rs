//! The projection against closed forms: independent loans (ρ = 0) that
//! default at a known monthly rate give binomial claims, month by month;
//! correlation widens the tail and leaves the mean; the pipeline and the
//! approved claims are paid in the first month; the top-up sized for a
//! target meets it, with the programme's top-up rule in the paths or
//! without; a current loan repays at its maturity; new loans default from
//! the month after they are lent, and the scale stops the lending.

use std::sync::Arc;

use chrono::NaiveDate;
use rust_decimal::Decimal;
use statrs::distribution::{Binomial as Bin, DiscreteCDF};

use super::*;
use crate::ledger::event::{Event, EventKind, Loan};
use crate::ledger::rules::builtin;

fn d(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

/// A book of `n` current loans of 20万 (claims of 10万 each) and `wan` 万
/// of cash.
fn book(n: usize, wan: i64) -> Book {
    let p = Arc::new(
        builtin()
            .into_iter()
            .find(|p| p.id == "gongxintong")
            .unwrap(),
    );
    let mut b = Book::new(p);
    let mut seq = 0;
    let mut ev = |effective: &str, kind: EventKind| {
        seq += 1;
        Event {
            seq,
            effective: d(effective),
            recorded_at: String::new(),
            recorded_by: String::new(),
            request_id: String::new(),
            kind,
        }
    };
    b.apply(&ev(
        "2023-01-02",
        EventKind::CapitalInjected {
            amount: Yuan::wan(wan),
        },
    ));
    for i in 0..n {
        b.apply(&ev(
            "2023-01-16",
            EventKind::LoanEnrolled(Loan {
                loan_id: format!("L{i}"),
                bank_id: ["JXB", "NCRCB"][i % 2].into(),
                credit_code: format!("F{i}"),
                firm: format!("企业{i}"),
                amount: Yuan::wan(20),
                annual_rate: Decimal::new(345, 4),
                term_months: 24,
                disbursed: d("2023-01-10"),
                version_from: d("2022-04-27"),
            }),
        ));
    }
    b
}

/// Current loans default at `p` a month, or stay.
fn hazard(p: f64) -> [[f64; 6]; 4] {
    let mut m = [[0.0; 6]; 4];
    m[0][0] = 1.0 - p;
    m[0][4] = p;
    m
}

#[test]
fn independent_loans_give_binomial_claims_month_by_month() {
    let (n, p, s) = (400usize, 0.01, 20_000u32);
    let b = book(n, 200);
    let o = Options {
        months: 12,
        scenarios: s,
        rho: 0.0,
        recovery_rate: 0.0,
        top_up_rule: false,
        ..Options::default()
    };
    let r = project(&b, d("2023-01-31"), &hazard(p), &o);
    // defaults in months 1..12, each a claim of 10万
    let q = 1.0 - (1.0 - p).powi(12);
    let mean = r.claims[0].0.to_string().parse::<f64>().unwrap();
    let want = n as f64 * q * 100_000.0;
    let sd = (n as f64 * q * (1.0 - q)).sqrt() * 100_000.0;
    assert!(
        (mean - want).abs() <= 4.0 * sd / f64::from(s).sqrt(),
        "mean claims {mean} against {want}"
    );
    // 200万 of cash pays 20 claims: short by month t once more than 20 of
    // the defaults of months 1..t−1 (paid a month later) are in
    for t in [3usize, 6, 12] {
        let q = 1.0 - (1.0 - p).powi(t as i32 - 1);
        let exact = 1.0 - Bin::new(q, n as u64).unwrap().cdf(20);
        let got = r.exhausted_by[t - 1];
        let se = (exact * (1.0 - exact) / f64::from(s)).sqrt();
        assert!(
            (got - exact).abs() <= 4.0 * se + 1e-9,
            "month {t}: {got} against {exact}"
        );
    }
    // both banks' claims add to the whole
    let sum: Decimal = r.claims_by_bank.values().map(|c| c[0].0).sum();
    assert!((sum - r.claims[0].0).abs() <= Decimal::ONE);
}

#[test]
fn correlation_widens_the_tail_and_keeps_the_mean() {
    let b = book(400, 200);
    let run = |rho| {
        let o = Options {
            months: 12,
            scenarios: 20_000,
            rho,
            top_up_rule: false,
            ..Options::default()
        };
        project(&b, d("2023-01-31"), &hazard(0.01), &o)
    };
    let (a, c) = (run(0.0), run(0.3));
    let f = |y: Yuan| y.0.to_string().parse::<f64>().unwrap();
    // the mean within 5% (each within its own error), the 99th percentile higher
    assert!((f(a.claims[0]) / f(c.claims[0]) - 1.0).abs() < 0.05);
    assert!(
        f(c.claims[2]) > 1.3 * f(a.claims[2]),
        "{:?} {:?}",
        a.claims,
        c.claims
    );
    // the same seed, the same answer
    assert_eq!(run(0.3), c);
}

#[test]
fn the_top_up_for_the_target_meets_it_and_owed_claims_come_first() {
    let mut b = book(400, 50);
    let o = Options {
        months: 12,
        scenarios: 5_000,
        target: 0.05,
        top_up_rule: false,
        ..Options::default()
    };
    let r = project(&b, d("2023-01-31"), &hazard(0.02), &o);
    assert!(r.exhausted_by[11] > 0.5, "50万 pays five claims");
    let need = r.top_up_for_target;
    let mut more = b.clone();
    more.apply(&Event {
        seq: 10_000,
        effective: d("2023-01-31"),
        recorded_at: String::new(),
        recorded_by: String::new(),
        request_id: String::new(),
        kind: EventKind::TopUp {
            amount: need.unwrap(),
        },
    });
    let after = project(&more, d("2023-01-31"), &hazard(0.02), &o);
    assert!(after.exhausted_by[11] <= 0.05, "{}", after.exhausted_by[11]);
    // a loan at the trigger is claimed in the first month: 10万 out at once
    b.apply(&Event {
        seq: 10_001,
        effective: d("2023-01-31"),
        recorded_at: String::new(),
        recorded_by: String::new(),
        request_id: String::new(),
        kind: EventKind::LoanStatus {
            bank_id: "JXB".into(),
            loan_id: "L0".into(),
            outstanding: Yuan::wan(20),
            days_past_due: 95,
        },
    });
    let none = [[0.0, 0.0, 0.0, 0.0, 0.0, 0.0]; 4].map(|mut r| {
        r[0] = 1.0;
        r
    });
    let r = project(&b, d("2023-01-31"), &none, &o);
    assert_eq!(r.pipeline_claims, Yuan::wan(10));
    assert_eq!(r.cash_fan[0], [Yuan::wan(40); 5]);
    assert_eq!(r.claims, [Yuan::wan(10); 3]);
}

/// The book of [`book`] with each loan's term set to `term` months.
fn book_with_term(n: usize, wan: i64, term: u16) -> Book {
    let mut b = book(n, wan);
    for l in b.loans.values_mut() {
        l.loan.term_months = term;
    }
    b
}

/// A current loan repays at its maturity: lent 2023-01-10 for 6 months,
/// due 2023-07-10, the end of the sixth month after 2023-01-31; it may
/// default in those six months only (each claim 10万).
#[test]
fn a_loan_current_at_its_maturity_repays() {
    let (n, p, s) = (400usize, 0.02, 20_000u32);
    let o = Options {
        months: 12,
        scenarios: s,
        rho: 0.0,
        recovery_rate: 0.0,
        top_up_rule: false,
        ..Options::default()
    };
    let r = project(
        &book_with_term(n, 10_000, 6),
        d("2023-01-31"),
        &hazard(p),
        &o,
    );
    let q = 1.0 - (1.0 - p).powi(6);
    let mean = r.claims[0].0.to_string().parse::<f64>().unwrap();
    let want = n as f64 * q * 100_000.0;
    let se = (n as f64 * q * (1.0 - q)).sqrt() * 100_000.0 / f64::from(s).sqrt();
    assert!((mean - want).abs() <= 4.0 * se, "{mean} against {want}");
    // and no claim is paid after the month after maturity: the cash stays
    let fan = &r.cash_fan;
    assert_eq!(fan[7], fan[11], "nothing moves after the seventh month");
    // a 24-month loan keeps defaulting over all twelve months
    let r24 = project(
        &book_with_term(n, 10_000, 24),
        d("2023-01-31"),
        &hazard(p),
        &o,
    );
    let q24 = 1.0 - (1.0 - p).powi(12);
    let mean24 = r24.claims[0].0.to_string().parse::<f64>().unwrap();
    assert!((mean24 / mean - q24 / q).abs() < 0.05, "{mean24} / {mean}");
}

/// The programme's rule (工信通: refill to 3000万 at each year end) inside
/// the paths: with no defaults, 100万 of cash is refilled by 2900万 at the
/// end of December, in every path, and never again within the year.
#[test]
fn the_top_up_rule_refills_the_cash_at_the_year_end() {
    let none = hazard(0.0);
    let o = Options {
        months: 12,
        scenarios: 200,
        ..Options::default()
    };
    let r = project(&book(10, 100), d("2023-01-31"), &none, &o);
    // months 1..12 after 31 January: the eleventh ends on 31 December
    let mut want = vec![Yuan::ZERO; 12];
    want[10] = Yuan::wan(2900);
    assert_eq!(r.top_ups, want);
    assert_eq!(r.top_up_total, [Yuan::wan(2900); 3]);
    assert_eq!(r.cash_fan[9], [Yuan::wan(100); 5]);
    assert_eq!(r.cash_fan[10], [Yuan::wan(3000); 5]);
    // from 31 December itself, the next year end is twelve months on
    let r = project(&book(10, 100), d("2023-12-31"), &none, &o);
    assert_eq!(r.top_ups[0], Yuan::ZERO);
    assert_eq!(r.top_ups[11], Yuan::wan(2900));
    // left out, the cash stays where it is
    let o = Options {
        top_up_rule: false,
        ..o
    };
    let r = project(&book(10, 100), d("2023-01-31"), &none, &o);
    assert_eq!(r.top_up_total, [Yuan::ZERO; 3]);
    assert_eq!(r.cash_fan[11], [Yuan::wan(100); 5]);
}

/// With the rule the pool runs short less often, and the cash today sized
/// for the target (covering the months before the rule's refill) meets it.
#[test]
fn with_the_rule_the_top_up_for_the_target_still_meets_it() {
    let b = book(400, 50);
    let o = Options {
        months: 12,
        scenarios: 5_000,
        target: 0.05,
        ..Options::default()
    };
    let with = project(&b, d("2023-01-31"), &hazard(0.02), &o);
    let without = project(
        &b,
        d("2023-01-31"),
        &hazard(0.02),
        &Options {
            top_up_rule: false,
            ..o.clone()
        },
    );
    assert!(with.top_up_total[0] > Yuan::wan(2000));
    let need = with.top_up_for_target.unwrap();
    assert!(need <= without.top_up_for_target.unwrap());
    let mut more = b.clone();
    more.apply(&Event {
        seq: 10_000,
        effective: d("2023-01-31"),
        recorded_at: String::new(),
        recorded_by: String::new(),
        request_id: String::new(),
        kind: EventKind::TopUp { amount: need },
    });
    let after = project(&more, d("2023-01-31"), &hazard(0.02), &o);
    assert!(after.exhausted_by[11] <= 0.05, "{}", after.exhausted_by[11]);
}

/// New loans each month, at the pool's mean size (20万, claims of 10万),
/// current when lent: their claims are the sum over the months of lending
/// of count × claim × the chance of default in the months left; the
/// credit scale stops the lending (here: 8000万 out, 6亿 of scale).
#[test]
fn new_lending_defaults_from_the_month_after_and_stops_at_the_scale() {
    let (p, s) = (0.002, 20_000u32);
    let o = Options {
        months: 12,
        scenarios: s,
        rho: 0.0,
        recovery_rate: 0.0,
        new_lending: Some(Yuan::wan(600)),
        ..Options::default()
    };
    let r = project(&book(400, 10_000), d("2023-01-31"), &hazard(p), &o);
    assert_eq!(r.new_lending, [Yuan::wan(600), Yuan::wan(20)]);
    assert_eq!(r.tripped_by[11], 0.0);
    assert_eq!(r.new_lent, Yuan::wan(7200));
    let new = r.claims_by_bank[super::NEW_LOANS][0];
    let mean = new.0.to_string().parse::<f64>().unwrap();
    // lent in month c + 1 (c = 0..11), defaulting in months c + 2..12
    let (mut want, mut var) = (0.0, 0.0);
    for c in 0..12 {
        let q = 1.0 - (1.0 - p).powi(11 - c);
        want += 30.0 * q * 100_000.0;
        var += 30.0 * q * (1.0 - q) * 1e10;
    }
    let se = (var / f64::from(s)).sqrt();
    assert!((mean - want).abs() <= 4.0 * se, "{mean} against {want}");
    // 1亿 a month: five months fit under the scale, the sixth does not
    let o = Options {
        new_lending: Some(Yuan::wan(10_000)),
        scenarios: 100,
        ..o
    };
    let r = project(&book(400, 10_000), d("2023-01-31"), &hazard(0.0), &o);
    assert_eq!(r.new_lent, Yuan::wan(50_000));
}

/// Claims paid in quarterly batches: the same defaults (the same draws),
/// so the same claims; the cash moves only at quarter ends (from 31
/// January: the ends of March, June, September and December).
#[test]
fn quarterly_batches_pay_the_same_claims_at_quarter_ends() {
    let o = Options {
        months: 12,
        scenarios: 2_000,
        top_up_rule: false,
        ..Options::default()
    };
    let b = book(400, 10_000);
    let monthly = project(&b, d("2023-01-31"), &hazard(0.02), &o);
    let quarterly = project(
        &b,
        d("2023-01-31"),
        &hazard(0.02),
        &Options {
            claim_batch: 3,
            ..o.clone()
        },
    );
    assert_eq!(monthly.claims, quarterly.claims);
    assert_eq!(monthly.claims_by_bank, quarterly.claims_by_bank);
    let median = |r: &Projection, t: usize| r.cash_fan[t][2];
    assert_eq!(median(&quarterly, 0), Yuan::wan(10_000));
    for (a, b) in [(1, 3), (4, 6), (7, 9)] {
        assert!(
            median(&quarterly, a) < median(&quarterly, a - 1),
            "paid at month {}",
            a + 1
        );
        for t in a..b {
            assert_eq!(
                quarterly.cash_fan[t],
                quarterly.cash_fan[t + 1],
                "month {}",
                t + 2
            );
        }
    }
    // by each quarter end, path by path, both have paid the same
    for t in [1, 4, 7, 10] {
        assert_eq!(
            quarterly.cash_fan[t],
            monthly.cash_fan[t],
            "month {}",
            t + 1
        );
    }
    assert!(quarterly.exhausted_by[11] <= monthly.exhausted_by[11]);
}

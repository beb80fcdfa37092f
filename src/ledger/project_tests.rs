//! The projection against closed forms: independent loans (ρ = 0) that
//! default at a known monthly rate give binomial claims, month by month;
//! correlation widens the tail and leaves the mean; the pipeline and the
//! approved claims are paid in the first month; the top-up sized for a
//! target meets it.

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
        kind: EventKind::TopUp { amount: need },
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

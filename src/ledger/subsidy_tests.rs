//! The subsidy cost against closed forms: the curve's interpolation and
//! discount factors; a cohort of current loans under a one-step chain
//! (each month a loan defaults with chance q or stays) against the
//! geometric sum; recorded claims and recoveries at their discounted
//! amounts; the original estimate kept beside the re-estimate.

use chrono::NaiveDate;
use rust_decimal::Decimal;

use super::*;
use crate::ledger::event::{Event, EventKind, Loan};
use crate::ledger::rules::builtin;

fn d(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

fn programme() -> Arc<Programme> {
    Arc::new(
        builtin()
            .into_iter()
            .find(|p| p.id == "gongxintong")
            .unwrap(),
    )
}

fn flat(y: f64) -> Curve {
    Curve {
        name: "flat".into(),
        source: "test".into(),
        uncertain: false,
        points: vec![(1.0, y)],
    }
}

fn event(seq: u64, on: &str, kind: EventKind) -> Event {
    Event {
        seq,
        effective: d(on),
        recorded_at: format!("{on}T12:00:00+08:00"),
        recorded_by: "bureau".into(),
        request_id: format!("r{seq}"),
        kind,
    }
}

/// `n` loans of 100万 enrolled on 2023-01-16, and 3000万 of capital.
fn book(n: usize) -> Vec<Event> {
    let mut out = vec![event(
        1,
        "2023-01-03",
        EventKind::CapitalInjected {
            amount: Yuan::wan(3000),
        },
    )];
    for i in 0..n {
        out.push(event(
            2 + i as u64,
            "2023-01-16",
            EventKind::LoanEnrolled(Loan {
                loan_id: format!("L{i}"),
                bank_id: "JXB".into(),
                credit_code: format!("F{i}"),
                firm: format!("企业{i}"),
                amount: Yuan::wan(100),
                annual_rate: Decimal::new(345, 4),
                term_months: 12,
                disbursed: d("2023-01-10"),
                version_from: d("2022-04-27"),
            }),
        ));
    }
    out
}

/// A chain where a current loan defaults with chance `q` a month or stays.
fn one_step(q: f64) -> Options {
    let mut prior = Prior::default();
    prior.rates[0] = [1.0 - q, 0.0, 0.0, 0.0, q, 0.0];
    Options {
        prior,
        ..Options::default()
    }
}

fn cost(events: &[Event], as_of: &str, curve: &Curve, o: &Options) -> SubsidyCost {
    let p = programme();
    crate::ledger::history::sure(subsidy_cost(
        &p,
        |on| crate::ledger::history::sorted(events, on, None),
        d(as_of),
        curve,
        o,
    ))
}

#[test]
fn the_curve_interpolates_and_discounts() {
    let c = Curve::builtin();
    assert!(c.uncertain);
    assert!((c.yield_at(2.0) - 0.0145).abs() < 1e-12);
    assert!((c.yield_at(0.25) - 0.014).abs() < 1e-12, "flat before");
    assert!((c.yield_at(50.0) - 0.021).abs() < 1e-12, "flat after");
    assert!((c.discount(2.0) - 1.0145f64.powf(-2.0)).abs() < 1e-15);
    assert_eq!(c.discount(-1.0), 1.0);
    for (bad, field) in [
        (
            "name='x'\nsource='y'\npoints=[[1.0,0.01]]\nextra=1\n",
            "line 4: unknown field `extra`",
        ),
        ("name='x'\nsource='y'\npoints=[[1.0,'a']]", "line 3:"),
        ("name='x'\nsource='y'\npoints=[]", "points"),
        (
            "name='x'\nsource='y'\npoints=[[2.0,0.01],[1.0,0.01]]",
            "points[1]",
        ),
        ("name='x'\nsource='y'\npoints=[[1.0,0.9]]", "points[0]"),
    ] {
        let e = Curve::parse(bad).unwrap_err();
        assert!(e.starts_with(field), "{e}");
    }
}

/// 100 current loans, each claim 50万 (100万 × 0.5), lent on 2023-01-10
/// for 12 months: from 2023-01-31 they run R = 11 more whole months (to
/// 2023-12-31; 2024-01-31 is past maturity, when a current loan repays).
/// With q a month and a flat yield y, a loan's expected claims at present
/// value are c·q·v^(a+(1+L)/12)·(1 − r^R) / (1 − r), r = (1−q)·v^(1/12),
/// a the years from 1 January to the date asked, L the claim lag,
/// v = 1/(1+y); the recoveries the same × the rate, 12 months later.
#[test]
fn a_cohort_of_current_loans_costs_the_geometric_sum() {
    let (q, y, n) = (0.01, 0.02, 100);
    let o = one_step(q);
    let r = cost(&book(n), "2023-01-31", &flat(y), &o);
    assert_eq!(r.cohorts.len(), 1);
    let c = &r.cohorts[0];
    assert_eq!(
        (c.year, c.loans, c.enrolled),
        (2023, 100, Yuan::wan(10_000))
    );
    assert!(c.reestimate.is_none(), "the year has not ended");
    let v = 1.0 / (1.0 + y);
    let a = 30.0 / 365.25;
    let l = f64::from(o.claim_lag);
    let r = (1.0 - q) * v.powf(1.0 / 12.0);
    let per_loan = 500_000.0 * q * v.powf(a + (1.0 + l) / 12.0) * (1.0 - r.powi(11)) / (1.0 - r);
    let claims = n as f64 * per_loan;
    let e = &c.original;
    let got = e.expected_claims.0.to_f64().unwrap();
    assert!((got - claims).abs() < 1.0, "{got} against {claims}");
    let back = claims * o.recovery_rate * v.powf(f64::from(o.recovery_lag) / 12.0);
    let got = e.expected_recoveries.0.to_f64().unwrap();
    assert!((got - back).abs() < 1.0, "{got} against {back}");
    assert_eq!(e.claims_paid, Yuan::ZERO);
    let net = (claims - back) / 1e8;
    assert!((e.rate - net).abs() < 1e-9, "{} against {net}", e.rate);
    // a dearer curve costs less; a worse chain costs more
    let dear = cost(&book(n), "2023-01-31", &flat(0.1), &o);
    assert!(dear.cohorts[0].original.cost < e.cost);
    let worse = cost(&book(n), "2023-01-31", &flat(y), &one_step(0.02));
    assert!(worse.cohorts[0].original.cost > e.cost);
}

/// L0 (JXB's) at 95 days in January 2023, its claim filed, approved and
/// paid in July, a recovery in March 2024.
fn claim_cycle() -> Vec<(&'static str, EventKind)> {
    vec![
        (
            "2023-01-20",
            EventKind::LoanStatus {
                bank_id: "JXB".into(),
                loan_id: "L0".into(),
                outstanding: Yuan::wan(28),
                days_past_due: 95,
            },
        ),
        (
            "2023-07-05",
            EventKind::ClaimFiled {
                bank_id: "JXB".into(),
                claim_id: "C0".into(),
                loan_id: "L0".into(),
                outstanding_at_default: Yuan::wan(28),
                claimable: Yuan::wan(14),
            },
        ),
        (
            "2023-07-10",
            EventKind::ClaimApproved {
                bank_id: "JXB".into(),
                claim_id: "C0".into(),
            },
        ),
        (
            "2023-07-15",
            EventKind::ClaimPaid {
                bank_id: "JXB".into(),
                claim_id: "C0".into(),
                amount: Yuan::wan(14),
            },
        ),
        (
            "2024-03-01",
            EventKind::RecoveryReported {
                bank_id: "JXB".into(),
                loan_id: "L0".into(),
                amount: Yuan::wan(10),
                pool_part: Yuan::wan(5),
            },
        ),
    ]
}

/// A claim paid and a recovery: each at its amount discounted from its
/// day to 1 January; the original estimate (at the year's end) kept
/// beside the re-estimate a year on; a later cohort apart.
#[test]
fn recorded_flows_count_at_their_discounted_amounts() {
    let mut ev = book(10);
    let mut seq = ev.len() as u64 + 1;
    let mut push = |on: &str, kind: EventKind| {
        ev.push(event(seq, on, kind));
        seq += 1;
    };
    for (on, kind) in claim_cycle() {
        push(on, kind);
    }
    let mut later = book(1);
    if let EventKind::LoanEnrolled(l) = &mut later[1].kind {
        l.loan_id = "M0".into();
    }
    later[1].effective = d("2024-02-01");
    later[1].seq = seq;
    ev.push(later[1].clone());
    let y = 0.03;
    // (a chain without defaults: L0 is past the trigger before the first
    // month end, so no loan is seen moving from an open state to default)
    let r = cost(&ev, "2024-06-30", &flat(y), &one_step(0.0));
    let years = |on: &str| (d(on) - d("2023-01-01")).num_days() as f64 / 365.25;
    let pv = |amount: f64, on: &str| (amount * (1.0 + y).powf(-years(on)) * 100.0).round() / 100.0;
    let c = &r.cohorts[0];
    assert_eq!(c.year, 2023);
    // at the year's end: the claim paid, nothing recovered yet; no more
    // claims expected under a chain without defaults, the recovery of
    // the paid claim not counted until it comes
    assert_eq!(c.original.as_of, d("2023-12-31"));
    assert_eq!(
        c.original.claims_paid.0.to_f64().unwrap(),
        pv(140_000.0, "2023-07-15")
    );
    assert_eq!(c.original.recovered, Yuan::ZERO);
    assert_eq!(c.original.expected_claims, Yuan::ZERO);
    let re = c.reestimate.as_ref().unwrap();
    assert_eq!(re.as_of, d("2024-06-30"));
    assert_eq!(re.claims_paid, c.original.claims_paid);
    assert_eq!(re.recovered.0.to_f64().unwrap(), pv(50_000.0, "2024-03-01"));
    assert!(re.cost < c.original.cost, "the recovery lowers the cost");
    // the 2024 cohort: one loan, its own year
    assert_eq!((r.cohorts[1].year, r.cohorts[1].loans), (2024, 1));
    assert!(r.cohorts[1].reestimate.is_none());
}

#[test]
fn months_left_count_whole_months_to_maturity() {
    assert_eq!(months_left(d("2023-01-31"), d("2023-01-10"), 12), 11);
    assert_eq!(months_left(d("2023-01-10"), d("2023-01-10"), 12), 12);
    assert_eq!(months_left(d("2023-03-31"), d("2023-02-28"), 1), 0);
    assert_eq!(months_left(d("2025-01-01"), d("2023-01-10"), 12), 0);
    // (a month after 31 January is 28 February, the maturity itself)
    assert_eq!(months_left(d("2023-01-31"), d("2023-01-31"), 1), 1);
    assert_eq!(months_left(d("2023-02-01"), d("2023-01-31"), 1), 0);
}

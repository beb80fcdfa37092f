//! Roll rates recover the rates a synthetic ledger was generated with,
//! within their intervals (coverage over repetitions); the chain's default
//! chances against a closed form.

use std::sync::Arc;

use chrono::NaiveDate;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rust_decimal::Decimal;

use super::*;
use crate::ledger::event::{Event, EventKind, Loan};
use crate::ledger::history::month_end;
use crate::ledger::rules::builtin;

/// The monthly rates the ledgers are generated with.
const TRUE: [[f64; 6]; OPEN] = [
    [0.95, 0.03, 0.0, 0.0, 0.0, 0.02],
    [0.40, 0.10, 0.40, 0.0, 0.05, 0.05],
    [0.25, 0.05, 0.10, 0.50, 0.05, 0.05],
    [0.10, 0.0, 0.05, 0.15, 0.70, 0.0],
];

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

/// A ledger of `n` loans followed for 12 month ends, each loan's state
/// drawn month by month from [`TRUE`].
fn ledger(n: usize, seed: u64) -> Vec<Event> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut events = Vec::new();
    let mut push = |effective: NaiveDate, kind: EventKind| {
        let seq = events.len() as u64 + 1;
        events.push(Event {
            seq,
            effective,
            recorded_at: "2024-01-01T00:00:00.000Z".into(),
            recorded_by: "test".into(),
            request_id: format!("r{seq}"),
            kind,
        });
    };
    let mut states = vec![0usize; n];
    for i in 0..n {
        push(
            d("2023-01-16"),
            EventKind::LoanEnrolled(Loan {
                loan_id: format!("L{i}"),
                bank_id: "JXB".into(),
                credit_code: format!("F{i}"),
                firm: format!("企业{i}"),
                amount: Yuan::wan(10),
                annual_rate: Decimal::new(345, 4),
                term_months: 24,
                disbursed: d("2023-01-10"),
                version_from: d("2022-04-27"),
            }),
        );
    }
    let mut end = d("2023-01-31");
    for _ in 0..12 {
        end = month_end(end.succ_opt().unwrap());
        for (i, s) in states.iter_mut().enumerate() {
            if *s >= OPEN {
                continue;
            }
            let u: f64 = rng.random();
            let mut acc = 0.0;
            let mut next = 5;
            for (j, r) in TRUE[*s].iter().enumerate() {
                acc += r;
                if u < acc {
                    next = j;
                    break;
                }
            }
            *s = next;
            let loan_id = format!("L{i}");
            let kind = match next {
                REPAID => EventKind::LoanRepaid {
                    bank_id: "JXB".into(),
                    loan_id,
                },
                _ => EventKind::LoanStatus {
                    bank_id: "JXB".into(),
                    loan_id,
                    outstanding: Yuan::wan(9),
                    days_past_due: [0, 15, 45, 75, 95][next],
                },
            };
            push(end, kind);
        }
    }
    events
}

#[test]
fn the_rates_a_ledger_was_made_with_are_recovered_within_their_intervals() {
    let p = programme();
    let history = Prior {
        strength: 0.0,
        ..Prior::default()
    };
    let (reps, n) = (20, 2_000);
    let (mut covered, mut trials) = (0u32, 0u32);
    for seed in 0..reps {
        let r = estimate(&p, &ledger(n, seed), d("2024-01-31"), &history);
        assert_eq!(r.month_ends.len(), 13);
        for (i, row) in r.rates.iter().enumerate() {
            for (j, x) in row.iter().enumerate() {
                let truth = TRUE[i][j];
                // within 4 standard errors of the truth, given the row's count
                let se = (truth * (1.0 - truth) / r.observed[i] as f64).sqrt();
                assert!(
                    (x.estimate - truth).abs() <= 4.0 * se + 1e-12,
                    "{} → {}: {} against {truth} (n {})",
                    STATES[i],
                    STATES[j],
                    x.estimate,
                    r.observed[i]
                );
                trials += 1;
                covered += u32::from(x.low <= truth && truth <= x.high);
            }
        }
    }
    // 95% intervals: the coverage within 3 standard errors of 0.95
    let c = f64::from(covered) / f64::from(trials);
    let se = (0.95 * 0.05 / f64::from(trials)).sqrt();
    assert!(c >= 0.95 - 3.0 * se, "coverage {c} over {trials}");
}

#[test]
fn default_chances_follow_the_chain() {
    // current → default 10% a month, else stays: 1 − 0.9^h
    let mut m = [[0.0; 6]; OPEN];
    m[0][0] = 0.9;
    m[0][DEFAULT] = 0.1;
    for h in [1, 3, 12] {
        let p = default_within(&m, h)[0];
        assert!(
            (p - (1.0 - 0.9f64.powi(h as i32))).abs() < 1e-12,
            "{h}: {p}"
        );
    }
    // 61-trigger → default at once; current → 61-trigger → default in two
    let mut m = [[0.0; 6]; OPEN];
    m[0][3] = 1.0;
    m[3][DEFAULT] = 1.0;
    assert_eq!(default_within(&m, 1), [0.0, 0.0, 0.0, 1.0]);
    assert_eq!(default_within(&m, 2)[0], 1.0);
}

#[test]
fn a_short_history_leans_on_the_prior_and_claims_are_expected_from_arrears() {
    let p = programme();
    // two months of 50 loans: the rows are thin, the prior weighs
    let events: Vec<Event> = ledger(50, 7)
        .into_iter()
        .filter(|e| e.effective <= d("2023-03-31"))
        .collect();
    let r = estimate(&p, &events, d("2023-03-31"), &Prior::default());
    let x = &r.rates[3][DEFAULT];
    let n = r.observed[3] as f64;
    let want = (x.count as f64 + 20.0 * 0.65) / (n + 20.0);
    assert!((x.estimate - want).abs() < 1e-12);
    // a loan 61+ days behind weighs more than a current one
    assert!(r.default_within[3][0] > 10.0 * r.default_within[0][0]);
    // expected claims grow with the horizon and stay within the book's
    assert!(r.expected_claims[0] <= r.expected_claims[1]);
    assert!(r.expected_claims[1] <= r.expected_claims[2]);
    let book: Decimal = r.outstanding.iter().map(|y| y.0).sum();
    assert!(r.expected_claims[2].0 <= book * Decimal::new(5, 1));
}

//! A year of a small pool, decided command by command as the service does,
//! against a fold written apart here; the rules' edges (89 and 90 days, the
//! scale, a shortfall, a recovery, a breaker and its resumption, a late
//! report as known then and now).

use std::sync::Arc;

use chrono::NaiveDate;
use rust_decimal::Decimal;

use super::codec;
use super::decide::{self, Refusal};
use super::event::{Event, EventKind, Loan};
use super::rules::{Programme, builtin};
use super::running::Running;
use super::state::{Book, Level};
use super::{pool_state, running_state};
use crate::kernel::money::Yuan;

fn d(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

/// The bank with a loan `id` (each test's loan ids are unique).
fn lb(b: &Book, id: &str) -> String {
    b.banks_with_loan(id)
        .first()
        .map_or(String::new(), |s| s.to_string())
}

/// The bank with a claim `id`.
fn cb(b: &Book, id: &str) -> String {
    b.banks_with_claim(id)
        .first()
        .map_or(String::new(), |s| s.to_string())
}

fn programme() -> Arc<Programme> {
    Arc::new(
        builtin()
            .into_iter()
            .find(|p| p.id == "gongxintong")
            .unwrap(),
    )
}

/// A log and the commands that grow it.
struct Log {
    p: Arc<Programme>,
    events: Vec<Event>,
}

impl Log {
    fn book(&self, on: NaiveDate) -> Book {
        Book::fold(&self.p, &self.events, on, None)
    }

    fn push(&mut self, on: NaiveDate, kind: EventKind) {
        let seq = self.events.len() as u64 + 1;
        self.events.push(Event {
            seq,
            effective: on,
            recorded_at: format!("2024-12-31T00:00:{:02}.{:03}Z", seq / 1000 % 60, seq % 1000),
            recorded_by: "test".into(),
            request_id: format!("r{seq}"),
            kind,
        });
    }

    fn run(
        &mut self,
        on: &str,
        f: impl FnOnce(&Book) -> Result<EventKind, Refusal>,
    ) -> Result<(), Refusal> {
        let on = d(on);
        let k = f(&self.book(on))?;
        self.push(on, k);
        Ok(())
    }
}

fn loan(i: usize, bank: &str, wan: i64, disbursed: &str) -> Loan {
    Loan {
        loan_id: format!("L{i}"),
        bank_id: bank.into(),
        credit_code: format!("F{i}"),
        firm: format!("企业{i}"),
        amount: Yuan::wan(wan),
        annual_rate: Decimal::new(345, 4),
        term_months: 12,
        disbursed: d(disbursed),
        version_from: d(disbursed),
    }
}

#[test]
fn a_year_of_a_pool_folds_to_what_an_independent_count_says() {
    let mut log = Log {
        p: programme(),
        events: Vec::new(),
    };
    let cap = |a| EventKind::CapitalInjected {
        amount: Yuan::wan(a),
    };
    log.run("2023-01-02", |b| decide::cash(b, cap(300), d("2023-01-02")))
        .unwrap();
    // 20 loans of 100万 over two banks
    for i in 0..20 {
        let bank = ["JXB", "NCRCB"][i % 2];
        log.run("2023-01-20", |b| {
            decide::enrol(b, loan(i, bank, 100, "2023-01-10"), d("2023-01-20"))
        })
        .unwrap();
    }
    // the leverage limit (20× of 300万 = 6000万) stops the 61st 100万
    // before the scale; here the 21st fits, a 4001万 loan does not
    let big = loan(99, "JXB", 4001, "2023-01-10");
    let e = log
        .run("2023-01-20", |b| decide::enrol(b, big, d("2023-01-20")))
        .unwrap_err();
    assert_eq!(e.code, "LEVERAGE_EXCEEDED", "{}", e.message);
    // late enrolment
    let late = loan(98, "JXB", 10, "2022-12-01");
    let e = log
        .run("2023-01-20", |b| decide::enrol(b, late, d("2023-01-20")))
        .unwrap_err();
    assert_eq!(e.code, "ENROLMENT_LATE");
    // month-end statuses: L0 and L1 fall behind
    for (m, dpd) in [
        ("2023-03-31", 30u32),
        ("2023-04-30", 60),
        ("2023-05-31", 89),
    ] {
        for i in 0..20 {
            let id = format!("L{i}");
            let days = if i < 2 { dpd } else { 0 };
            log.run(m, |b| {
                decide::status(b, &lb(b, &id), &id, Yuan::wan(80), days)
            })
            .unwrap();
        }
    }
    // at 89 days a claim is refused; at 90 it is allowed
    let e = log
        .run("2023-05-31", |b| {
            decide::file_claim(b, &lb(b, "L0"), "C0", "L0")
        })
        .unwrap_err();
    assert_eq!(e.code, "CLAIM_NOT_DUE", "{}", e.message);
    for i in 0..2 {
        let id = format!("L{i}");
        log.run("2023-06-01", |b| {
            decide::status(b, &lb(b, &id), &id, Yuan::wan(80), 90)
        })
        .unwrap();
    }
    // 不良率 160万 / 1600万 = 10%: the programme and both banks suspend
    let b = log.book(d("2023-06-01"));
    assert_eq!(b.breaker.level, Level::Suspended);
    assert_eq!(b.breaker.history.last().unwrap().0, d("2023-06-01"));
    let e = log
        .run("2023-06-02", |b| {
            decide::enrol(b, loan(50, "JXB", 10, "2023-06-01"), d("2023-06-02"))
        })
        .unwrap_err();
    assert_eq!(e.code, "ENROLMENT_SUSPENDED");
    log.run("2023-06-05", |b| {
        decide::file_claim(b, &lb(b, "L0"), "C0", "L0")
    })
    .unwrap();
    log.run("2023-06-05", |b| {
        decide::file_claim(b, &lb(b, "L1"), "C1", "L1")
    })
    .unwrap();
    log.run("2023-06-10", |b| {
        decide::review(b, &cb(b, "C0"), "C0", None)
    })
    .unwrap();
    log.run("2023-06-10", |b| {
        decide::review(
            b,
            &cb(b, "C1"),
            "C1",
            Some(super::event::DenialReason::NoRecoveryEffort),
        )
    })
    .unwrap();
    // the pool owes 40万 on C0; it pays in full
    log.run("2023-06-15", |b| {
        decide::pay(b, &cb(b, "C0"), "C0", d("2023-06-15"))
    })
    .unwrap();
    // a recovery of 20万 on L0: the pool paid half of the loss, gets half
    log.run("2023-08-01", |b| {
        decide::recovery(b, &lb(b, "L0"), "L0", Yuan::wan(20), d("2023-08-01"))
    })
    .unwrap();
    // L0 is charged off, L1 repaid: the rate falls; the bureau resumes
    log.run("2023-08-31", |b| {
        Ok(EventKind::LoanChargedOff {
            bank_id: lb(b, "L0"),
            loan_id: "L0".into(),
        })
    })
    .unwrap();
    log.run("2023-08-31", |b| {
        Ok(EventKind::LoanRepaid {
            bank_id: lb(b, "L1"),
            loan_id: "L1".into(),
        })
    })
    .unwrap();
    let e = log
        .run("2023-09-01", |b| decide::resume(b, None, d("2023-09-01")))
        .unwrap_err();
    assert_eq!(
        e.code, "STILL_ABOVE_LEVEL",
        "80万 of 1520万 charged off is 5.3%"
    );
    check_against_independent_fold(&log);
    check_running(&log);
}

/// The figures, counted apart from the events: cash, outstanding, claims,
/// recoveries, and the state's own.
fn check_against_independent_fold(log: &Log) {
    let (mut cash, mut paid, mut rec) = (Decimal::ZERO, Decimal::ZERO, Decimal::ZERO);
    let mut out: std::collections::BTreeMap<&str, Decimal> = Default::default();
    let mut ev: Vec<&Event> = log.events.iter().collect();
    ev.sort_by_key(|e| (e.effective, e.seq));
    for e in ev {
        match &e.kind {
            EventKind::CapitalInjected { amount } => cash += amount.0,
            EventKind::ClaimPaid { amount, .. } => {
                cash -= amount.0;
                paid += amount.0;
            }
            EventKind::RecoveryReported { pool_part, .. } => {
                cash += pool_part.0;
                rec += pool_part.0;
            }
            EventKind::LoanEnrolled(l) => {
                out.insert(&l.loan_id, l.amount.0);
            }
            EventKind::LoanStatus {
                loan_id,
                outstanding,
                ..
            } => {
                out.insert(loan_id, outstanding.0);
            }
            EventKind::LoanRepaid { loan_id, .. } => {
                out.insert(loan_id, Decimal::ZERO);
            }
            _ => {}
        }
    }
    let s = pool_state(&log.p, &log.events, d("2023-12-31"), None, None, None);
    let pool = s.pool.as_ref().unwrap();
    assert_eq!(pool.cash.0, cash);
    assert_eq!(cash, Yuan::wan(300 - 40 + 10).0);
    assert_eq!(pool.figures.claims_paid.0, paid);
    assert_eq!(pool.figures.recovered.0, rec);
    assert_eq!(pool.figures.outstanding.0, out.values().sum::<Decimal>());
    assert_eq!(pool.figures.enrolled, Yuan::wan(2000));
    assert_eq!(pool.rates.by_amount, Some(Decimal::new(2, 2)));
    assert_eq!(pool.rates.by_count, Some(Decimal::new(5, 2)));
    assert_eq!(pool.rates.recovery, Some(Decimal::new(25, 2)));
    // in 2023 the period rate is over the outstanding on 2022-12-31: none
    assert_eq!(pool.rates.in_period, None);
    assert_eq!(pool.breaker.level, Level::Suspended);
    // a bank's view has its own figures alone
    let jxb = pool_state(
        &log.p,
        &log.events,
        d("2023-12-31"),
        None,
        Some("JXB"),
        None,
    );
    assert!(jxb.pool.is_none());
    assert_eq!(jxb.banks.len(), 1);
    assert_eq!(jxb.banks[0].figures.claims_paid, Yuan::wan(40));
}

#[test]
fn a_late_report_restates_the_past_as_known_now_not_as_known_then() {
    let mut log = Log {
        p: programme(),
        events: Vec::new(),
    };
    log.run("2023-01-02", |b| {
        decide::cash(
            b,
            EventKind::CapitalInjected {
                amount: Yuan::wan(100),
            },
            d("2023-01-02"),
        )
    })
    .unwrap();
    log.run("2023-01-20", |b| {
        decide::enrol(b, loan(0, "JXB", 100, "2023-01-10"), d("2023-01-20"))
    })
    .unwrap();
    log.run("2023-03-31", |b| {
        decide::status(b, &lb(b, "L0"), "L0", Yuan::wan(90), 0)
    })
    .unwrap();
    let then = log.events.last().unwrap().recorded_at.clone();
    // February's status, reported late: 95万 outstanding on 2023-02-28
    log.run("2023-02-28", |b| {
        decide::status(b, &lb(b, "L0"), "L0", Yuan::wan(95), 0)
    })
    .unwrap();
    let now = pool_state(&log.p, &log.events, d("2023-02-28"), None, None, None);
    let before = pool_state(
        &log.p,
        &log.events,
        d("2023-02-28"),
        Some(&then),
        None,
        None,
    );
    assert_eq!(now.pool.unwrap().figures.outstanding, Yuan::wan(95));
    assert_eq!(before.pool.unwrap().figures.outstanding, Yuan::wan(100));
    // and March stays March's
    let march = pool_state(&log.p, &log.events, d("2023-03-31"), None, None, None);
    assert_eq!(march.pool.unwrap().figures.outstanding, Yuan::wan(90));
    check_running(&log);
}

#[test]
fn a_payment_short_of_cash_pays_what_there_is_and_cash_never_goes_below_zero() {
    let mut log = Log {
        p: programme(),
        events: Vec::new(),
    };
    log.run("2023-01-02", |b| {
        decide::cash(
            b,
            EventKind::CapitalInjected {
                amount: Yuan::wan(10),
            },
            d("2023-01-02"),
        )
    })
    .unwrap();
    log.run("2023-01-20", |b| {
        decide::enrol(b, loan(0, "JXB", 100, "2023-01-10"), d("2023-01-20"))
    })
    .unwrap();
    log.run("2023-06-30", |b| {
        decide::status(b, &lb(b, "L0"), "L0", Yuan::wan(100), 120)
    })
    .unwrap();
    log.run("2023-07-01", |b| {
        decide::file_claim(b, &lb(b, "L0"), "C0", "L0")
    })
    .unwrap();
    log.run("2023-07-02", |b| {
        decide::review(b, &cb(b, "C0"), "C0", None)
    })
    .unwrap();
    log.run("2023-07-03", |b| {
        decide::pay(b, &cb(b, "C0"), "C0", d("2023-07-03"))
    })
    .unwrap();
    let b = log.book(d("2023-07-03"));
    let c = b.claim("JXB", "C0").unwrap();
    assert_eq!((c.claimable, c.paid), (Yuan::wan(50), Yuan::wan(10)));
    assert_eq!(b.cash, Yuan::ZERO);
    let e = log
        .run("2023-07-04", |b| {
            decide::pay(b, &cb(b, "C0"), "C0", d("2023-07-04"))
        })
        .unwrap_err();
    assert_eq!(e.code, "NO_CASH");
    // committed: 40万 still owed; a withdrawal cannot take it
    assert_eq!(log.book(d("2023-07-04")).total.committed, Yuan::wan(40));
    log.run("2023-07-05", |b| {
        decide::cash(
            b,
            EventKind::TopUp {
                amount: Yuan::wan(45),
            },
            d("2023-07-05"),
        )
    })
    .unwrap();
    let e = log.run("2023-07-06", |b| {
        decide::cash(
            b,
            EventKind::Withdrawal {
                amount: Yuan::wan(10),
            },
            d("2023-07-06"),
        )
    });
    assert_eq!(e.unwrap_err().code, "INSUFFICIENT_CASH");
    // a cash movement cannot be dated before the last
    let e = log.run("2023-07-01", |b| {
        decide::cash(
            b,
            EventKind::TopUp {
                amount: Yuan::wan(1),
            },
            d("2023-07-01"),
        )
    });
    assert_eq!(e.unwrap_err().code, "BACKDATED_CASH");
}

#[test]
fn the_scale_and_the_firm_cap_are_kept() {
    let mut log = Log {
        p: programme(),
        events: Vec::new(),
    };
    log.run("2022-05-01", |b| {
        decide::cash(
            b,
            EventKind::CapitalInjected {
                amount: Yuan::wan(3000),
            },
            d("2022-05-01"),
        )
    })
    .unwrap();
    // 6亿 of scale: 60 loans of 1000万 fit, the 61st does not
    for i in 0..60 {
        log.run("2022-05-10", |b| {
            decide::enrol(b, loan(i, "JXB", 1000, "2022-05-09"), d("2022-05-10"))
        })
        .unwrap();
    }
    let e = log
        .run("2022-05-10", |b| {
            decide::enrol(b, loan(60, "JXB", 1, "2022-05-09"), d("2022-05-10"))
        })
        .unwrap_err();
    assert_eq!(e.code, "SCALE_EXCEEDED", "{}", e.message);
    // the firm of L0 may not borrow more under the programme
    let mut again = loan(61, "NCRCB", 1, "2022-06-29");
    again.credit_code = "F0".into();
    log.run("2022-06-30", |b| {
        decide::status(b, &lb(b, "L5"), "L5", Yuan::wan(500), 0)
    })
    .unwrap();
    let e = log
        .run("2022-06-30", |b| decide::enrol(b, again, d("2022-06-30")))
        .unwrap_err();
    assert_eq!(e.code, "FIRM_CAP_EXCEEDED", "{}", e.message);
}

/// Loan and claim ids are each bank's own: two banks enrol, report, claim
/// and recover under the same ids, and each command moves its own bank's
/// loan or claim alone; the same id twice at one bank is still refused.
#[test]
fn two_banks_may_use_the_same_loan_and_claim_ids() {
    let mut log = Log {
        p: programme(),
        events: Vec::new(),
    };
    log.run("2023-01-02", |b| {
        decide::cash(
            b,
            EventKind::CapitalInjected {
                amount: Yuan::wan(300),
            },
            d("2023-01-02"),
        )
    })
    .unwrap();
    for (bank, wan) in [("JXB", 100), ("NCRCB", 60)] {
        log.run("2023-01-20", |b| {
            decide::enrol(b, loan(0, bank, wan, "2023-01-10"), d("2023-01-20"))
        })
        .unwrap();
    }
    let e = log
        .run("2023-01-20", |b| {
            decide::enrol(b, loan(0, "JXB", 1, "2023-01-10"), d("2023-01-20"))
        })
        .unwrap_err();
    assert_eq!(e.code, "ALREADY_ENROLLED");
    assert_eq!(
        log.book(d("2023-01-20")).banks_with_loan("L0"),
        ["JXB", "NCRCB"]
    );
    // JXB's L0 falls 95 days behind; NCRCB's stays current
    log.run("2023-05-31", |b| {
        decide::status(b, "JXB", "L0", Yuan::wan(80), 95)
    })
    .unwrap();
    log.run("2023-05-31", |b| {
        decide::status(b, "NCRCB", "L0", Yuan::wan(50), 0)
    })
    .unwrap();
    let e = log
        .run("2023-06-01", |b| decide::file_claim(b, "NCRCB", "C1", "L0"))
        .unwrap_err();
    assert_eq!(e.code, "CLAIM_NOT_DUE", "NCRCB's L0 is current");
    log.run("2023-06-01", |b| decide::file_claim(b, "JXB", "C1", "L0"))
        .unwrap();
    log.run("2023-06-30", |b| {
        decide::status(b, "NCRCB", "L0", Yuan::wan(50), 91)
    })
    .unwrap();
    log.run("2023-07-01", |b| decide::file_claim(b, "NCRCB", "C1", "L0"))
        .unwrap();
    let e = log
        .run("2023-07-01", |b| decide::file_claim(b, "NCRCB", "C1", "L0"))
        .unwrap_err();
    assert_eq!(e.code, "CLAIM_EXISTS");
    for bank in ["JXB", "NCRCB"] {
        log.run("2023-07-02", |b| decide::review(b, bank, "C1", None))
            .unwrap();
    }
    log.run("2023-07-03", |b| {
        decide::pay(b, "NCRCB", "C1", d("2023-07-03"))
    })
    .unwrap();
    let b = log.book(d("2023-07-03"));
    // NCRCB's claim: 50万 × 0.5; JXB's (80万 × 0.5) approved, unpaid
    assert_eq!(b.claim("NCRCB", "C1").unwrap().paid, Yuan::wan(25));
    assert_eq!(b.claim("JXB", "C1").unwrap().paid, Yuan::ZERO);
    assert_eq!(b.total.committed, Yuan::wan(40));
    assert_eq!(b.banks["JXB"].committed, Yuan::wan(40));
    assert_eq!(b.banks["NCRCB"].claims_paid, Yuan::wan(25));
    assert_eq!(b.cash, Yuan::wan(300 - 25));
    // a recovery on NCRCB's L0 is NCRCB's; JXB's L0 was paid nothing
    log.run("2023-08-01", |b| {
        decide::recovery(b, "NCRCB", "L0", Yuan::wan(10), d("2023-08-01"))
    })
    .unwrap();
    let e = log
        .run("2023-08-01", |b| {
            decide::recovery(b, "JXB", "L0", Yuan::wan(10), d("2023-08-01"))
        })
        .unwrap_err();
    assert_eq!(e.code, "NOTHING_PAID");
    let b = log.book(d("2023-08-01"));
    assert_eq!(b.banks["NCRCB"].recovered, Yuan::wan(5));
    assert_eq!(b.banks.get("JXB").unwrap().recovered, Yuan::ZERO);
    assert_eq!(b.loan("JXB", "L0").unwrap().outstanding, Yuan::wan(80));
    assert_eq!(b.loan("NCRCB", "L0").unwrap().outstanding, Yuan::wan(50));
    check_running(&log);
}

/// The running fold, grown as the service grows it (event by event in the
/// order recorded, refolded when it cannot extend), has the full fold's
/// figures after every event (the pipeline and the committed claims also
/// counted apart), and gives the full fold's state on every month end it
/// covers, for the pool and for a bank.
fn check_running(log: &Log) {
    let mut run: Option<Running> = None;
    for (i, e) in log.events.iter().enumerate() {
        if !run
            .as_mut()
            .is_some_and(|r| r.extend(std::slice::from_ref(e)))
        {
            run = Some(Running::of(log.p.clone(), &log.events[..=i]));
        }
        let r = run.as_ref().unwrap();
        let full = Book::fold(&log.p, &log.events[..=i], NaiveDate::MAX, None);
        assert_eq!(r.seq, e.seq);
        // its snapshot reads back as the same fold
        let back = codec::decode(log.p.clone(), &codec::encode(r)).unwrap();
        assert_eq!(
            (&back.book, back.marks(), back.seq),
            (&r.book, r.marks(), r.seq)
        );
        assert_eq!(r.book.total, full.total, "after event {}", e.seq);
        assert_eq!(r.book.banks, full.banks, "after event {}", e.seq);
        assert_eq!(r.book.claims, full.claims);
        assert_eq!(
            (r.book.cash, r.book.capital, r.book.last_cash),
            (full.cash, full.capital, full.last_cash)
        );
        assert_eq!(r.book.breaker, full.breaker);
        assert_eq!(r.book.bank_breakers, full.bank_breakers);
        let pipeline: Decimal = r
            .book
            .loans
            .values()
            .filter(|l| l.claim.is_none() && l.npl() && !l.outstanding.0.is_zero())
            .map(|l| l.outstanding.0)
            .sum();
        let committed: Decimal = r
            .book
            .claims
            .values()
            .filter(|c| c.status == super::state::ClaimStatus::Approved)
            .map(|c| c.claimable.0 - c.paid.0)
            .sum();
        assert_eq!(
            (r.book.total.pipeline.0, r.book.total.committed.0),
            (pipeline, committed)
        );
    }
    let r = run.unwrap();
    let bytes = codec::encode(&r);
    let back = codec::decode(log.p.clone(), &bytes).unwrap();
    // cut anywhere, or a byte changed, it is refused or reads as a fold
    // (never a panic)
    for cut in (0..bytes.len()).step_by(bytes.len() / 97 + 1) {
        assert!(codec::decode(log.p.clone(), &bytes[..cut]).is_err());
        let mut bad = bytes.clone();
        bad[cut] ^= 0xA5;
        let _ = codec::decode(log.p.clone(), &bad);
    }
    let first = log.events.iter().map(|e| e.effective).min().unwrap();
    let last = log.events.iter().map(|e| e.effective).max().unwrap();
    let mut day = first;
    let mut checked = 0;
    while day <= last + chrono::Days::new(400) {
        for (bank, start) in [
            (None, None),
            (Some("JXB"), None),
            (None, Some(d("2023-01-01"))),
        ] {
            let want = pool_state(&log.p, &log.events, day, None, bank, start);
            match running_state(&r, day, bank, start) {
                Some(s) => {
                    assert_eq!(s, want, "on {day}");
                    // printed to the same figures, digit for digit, from
                    // the fold read back from its snapshot
                    let restored = running_state(&back, day, bank, start).unwrap();
                    assert_eq!(
                        serde_json::to_string(&restored).unwrap(),
                        serde_json::to_string(&want).unwrap()
                    );
                    checked += 1;
                }
                None => assert!(!r.covers(day) || start.is_some_and(|s| s > day)),
            }
        }
        day = day + chrono::Days::new(31);
    }
    assert!(checked >= 12, "{checked} states compared");
}

#[test]
fn the_running_fold_over_three_years_with_late_reports_is_the_full_fold() {
    let mut log = Log {
        p: programme(),
        events: Vec::new(),
    };
    log.run("2022-05-01", |b| {
        decide::cash(
            b,
            EventKind::CapitalInjected {
                amount: Yuan::wan(500),
            },
            d("2022-05-01"),
        )
    })
    .unwrap();
    for i in 0..12 {
        let bank = ["JXB", "NCRCB", "GZB"][i % 3];
        log.run("2022-05-20", |b| {
            decide::enrol(
                b,
                loan(i, bank, 50 + 10 * i as i64, "2022-05-10"),
                d("2022-05-20"),
            )
        })
        .unwrap();
    }
    // month ends to mid-2024: L0 and L5 fall behind from 2023-01, L7 is
    // repaid in 2023-06; one month's file of L3 comes late
    let mut end = d("2022-05-31");
    let mut late = None;
    while end <= d("2024-06-30") {
        for i in 0..12 {
            let id = format!("L{i}");
            let behind = (i == 0 || i == 5) && end >= d("2023-01-31");
            let dpd = if behind {
                ((end - d("2023-01-01")).num_days() as u32).min(400)
            } else {
                0
            };
            if i == 3 && end == d("2023-02-28") {
                late = Some(id);
                continue;
            }
            if i == 7 && end >= d("2023-06-30") {
                continue;
            }
            let _ = log.run(&end.to_string(), |b| {
                decide::status(b, &lb(b, &id), &id, Yuan::wan(40), dpd)
            });
        }
        if end == d("2023-06-30") {
            log.run("2023-06-30", |b| {
                Ok(EventKind::LoanRepaid {
                    bank_id: lb(b, "L7"),
                    loan_id: "L7".into(),
                })
            })
            .unwrap();
        }
        if end == d("2023-05-31") {
            log.run("2023-05-31", |b| {
                decide::file_claim(b, &lb(b, "L0"), "C0", "L0")
            })
            .unwrap();
            log.run("2023-06-02", |b| {
                decide::review(b, &cb(b, "C0"), "C0", None)
            })
            .unwrap();
            log.run("2023-06-03", |b| {
                decide::pay(b, &cb(b, "C0"), "C0", d("2023-06-03"))
            })
            .unwrap();
            log.run("2023-06-04", |b| {
                decide::file_claim(b, &lb(b, "L5"), "C5", "L5")
            })
            .unwrap();
            log.run("2023-06-05", |b| {
                decide::review(b, &cb(b, "C5"), "C5", None)
            })
            .unwrap();
        }
        if end == d("2023-09-30") {
            // February's file of L3, reported in October
            let id = late.take().unwrap();
            log.run("2023-02-28", |b| {
                decide::status(b, &lb(b, &id), &id, Yuan::wan(45), 0)
            })
            .unwrap();
        }
        end = (end + chrono::Days::new(1))
            .checked_add_months(chrono::Months::new(1))
            .unwrap()
            - chrono::Days::new(1);
    }
    log.run("2024-07-01", |b| {
        decide::pay(b, &cb(b, "C5"), "C5", d("2024-07-01"))
    })
    .unwrap();
    log.run("2024-07-02", |b| {
        decide::recovery(b, &lb(b, "L0"), "L0", Yuan::wan(10), d("2024-07-02"))
    })
    .unwrap();
    assert!(log.events.len() > 250, "{} events", log.events.len());
    check_running(&log);
}

#[test]
fn a_bank_line_and_the_top_up_rule_are_kept() {
    let mut p = (*programme()).clone();
    let v = p.versions.last_mut().unwrap();
    v.bank_lines.insert("JXB".into(), Yuan::wan(200));
    v.top_up = Some(super::rules::TopUpRule {
        target: Yuan::wan(300),
        below_share: None,
    });
    let mut log = Log {
        p: Arc::new(p),
        events: Vec::new(),
    };
    log.run("2023-01-02", |b| {
        decide::cash(
            b,
            EventKind::CapitalInjected {
                amount: Yuan::wan(300),
            },
            d("2023-01-02"),
        )
    })
    .unwrap();
    log.run("2023-01-20", |b| {
        decide::enrol(b, loan(0, "JXB", 150, "2023-01-10"), d("2023-01-20"))
    })
    .unwrap();
    let e = log
        .run("2023-01-20", |b| {
            decide::enrol(b, loan(1, "JXB", 100, "2023-01-10"), d("2023-01-20"))
        })
        .unwrap_err();
    assert_eq!(e.code, "BANK_LINE_EXCEEDED", "{}", e.message);
    assert!(e.message.contains("50万 left"), "{}", e.message);
    // the line is JXB's alone
    log.run("2023-01-20", |b| {
        decide::enrol(b, loan(2, "NCRCB", 100, "2023-01-10"), d("2023-01-20"))
    })
    .unwrap();
    let due = |log: &Log, on: &str| {
        pool_state(&log.p, &log.events, d(on), None, None, None)
            .pool
            .unwrap()
            .top_up_due
    };
    assert_eq!(due(&log, "2023-03-31"), None, "cash at the target");
    log.run("2023-05-01", |b| {
        decide::status(b, &lb(b, "L0"), "L0", Yuan::wan(150), 95)
    })
    .unwrap();
    log.run("2023-05-02", |b| {
        decide::file_claim(b, &lb(b, "L0"), "C0", "L0")
    })
    .unwrap();
    log.run("2023-05-03", |b| {
        decide::review(b, &cb(b, "C0"), "C0", None)
    })
    .unwrap();
    log.run("2023-05-04", |b| {
        decide::pay(b, &cb(b, "C0"), "C0", d("2023-05-04"))
    })
    .unwrap();
    // 75万 paid: 225万 left, refilled to 300万 by the year end
    assert_eq!(
        due(&log, "2023-06-30"),
        Some((d("2023-12-31"), Yuan::wan(75)))
    );
    // with a floor of 95% of the 250万 outstanding, at once
    let mut p = (*log.p).clone();
    p.versions
        .last_mut()
        .unwrap()
        .top_up
        .as_mut()
        .unwrap()
        .below_share = Some(Decimal::new(95, 2));
    log.p = Arc::new(p);
    assert_eq!(
        due(&log, "2023-06-30"),
        Some((d("2023-06-30"), Yuan::wan(75)))
    );
}

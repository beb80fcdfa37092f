//! The ledger store's behaviour, one suite for both backends: a write
//! decides on the pool's events under the pool's lock, so eight clients
//! over two servers racing on one pool never enrol past the scale nor pay
//! one claim twice; a request id answers what it recorded.

use std::sync::{Arc, Barrier};

use chrono::NaiveDate;
use rust_decimal::Decimal;
use smefin::kernel::money::Yuan;
use smefin::ledger::decide;
use smefin::ledger::event::{EventKind, Loan};
use smefin::ledger::rules::{Programme, builtin};
use smefin::ledger::state::Book;
use smefin::store::{Backend as Store, StoreError};

use crate::store_backends::{Backend, each_backend};

fn d(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

fn programme() -> std::sync::Arc<Programme> {
    std::sync::Arc::new(
        builtin()
            .into_iter()
            .find(|p| p.id == "gongxintong")
            .unwrap(),
    )
}

fn loan(i: usize) -> Loan {
    Loan {
        loan_id: format!("L{i}"),
        bank_id: ["JXB", "NCRCB"][i % 2].into(),
        credit_code: format!("F{i}"),
        firm: format!("企业{i}"),
        amount: Yuan::wan(1000),
        annual_rate: Decimal::new(345, 4),
        term_months: 12,
        disbursed: d("2023-01-10"),
        version_from: d("2023-01-10"),
    }
}

/// Records `f`'s decision on the pool's book as of `on`.
fn write(
    s: &dyn Store,
    request: &str,
    on: &str,
    f: impl Fn(&Book) -> Result<EventKind, decide::Refusal>,
) -> Result<u64, StoreError> {
    let p = programme();
    let on = d(on);
    let ev = s.record("P", request, request, "bureau", &mut |log| {
        let b = Book::fold(&p, &log.after(0)?, on, None);
        f(&b)
            .map(|k| vec![(on, k)])
            .map_err(|r| StoreError::Refused {
                code: r.code,
                message: r.message,
            })
    })?;
    Ok(ev[0].seq)
}

fn racing_writers_keep_the_scale_and_pay_once(b: &Backend) {
    let stores: [Arc<dyn Store>; 2] = [b.open(), b.open()];
    stores[0].create_pool("P", "gongxintong", "bureau").unwrap();
    // the same pool again is answered; another programme is refused
    assert!(stores[1].create_pool("P", "gongxintong", "bureau").is_ok());
    assert!(matches!(
        stores[1].create_pool("P", "other", "bureau"),
        Err(StoreError::AlreadyExists(_))
    ));
    write(stores[0].as_ref(), "cap", "2023-01-02", |b| {
        decide::cash(
            b,
            EventKind::CapitalInjected {
                amount: Yuan::wan(3000),
            },
            d("2023-01-02"),
        )
    })
    .unwrap();
    // 8 clients enrol 10 loans of 1000万 each, 80 in all, on a 6亿 scale
    let barrier = Arc::new(Barrier::new(8));
    let handles: Vec<_> = (0..8)
        .map(|t| {
            let (s, barrier) = (stores[t % 2].clone(), barrier.clone());
            std::thread::spawn(move || {
                barrier.wait();
                (0..10)
                    .filter(|k| {
                        let i = t * 10 + k;
                        write(s.as_ref(), &format!("enrol-{i}"), "2023-01-20", |b| {
                            decide::enrol(b, loan(i), d("2023-01-20"))
                        })
                        .is_ok()
                    })
                    .count()
            })
        })
        .collect();
    let enrolled: usize = handles.into_iter().map(|h| h.join().unwrap()).sum();
    assert_eq!(
        enrolled, 60,
        "6亿 of scale holds 60 loans of 1000万, however the clients race"
    );
    let events = stores[1].events("P").unwrap();
    let seqs: Vec<u64> = events.iter().map(|e| e.seq).collect();
    assert_eq!(seqs, (1..=61).collect::<Vec<_>>(), "no gap, no double");
    // a loan claimed and approved; 8 clients pay it at once: paid once
    let first = events.iter().find_map(|e| match &e.kind {
        EventKind::LoanEnrolled(l) => Some((l.bank_id.clone(), l.loan_id.clone())),
        _ => None,
    });
    let (bank, id) = first.unwrap();
    let status = |b: &Book| decide::status(b, &bank, &id, Yuan::wan(800), 95);
    write(stores[0].as_ref(), "st", "2023-05-31", status).unwrap();
    let (bank2, id2) = (bank.clone(), id.clone());
    write(stores[0].as_ref(), "claim", "2023-06-01", move |b| {
        decide::file_claim(b, &bank2, "C", &id2)
    })
    .unwrap();
    write(stores[0].as_ref(), "ok", "2023-06-02", |b| {
        decide::review(b, &bank, "C", None)
    })
    .unwrap();
    let barrier = Arc::new(Barrier::new(8));
    let handles: Vec<_> = (0..8)
        .map(|t| {
            let (s, barrier, bank) = (stores[t % 2].clone(), barrier.clone(), bank.clone());
            std::thread::spawn(move || {
                barrier.wait();
                write(s.as_ref(), &format!("pay-{t}"), "2023-06-03", |b| {
                    decide::pay(b, &bank, "C", d("2023-06-03"))
                })
                .is_ok()
            })
        })
        .collect();
    let paid = handles
        .into_iter()
        .map(|h| h.join().unwrap())
        .filter(|ok| *ok)
        .count();
    assert_eq!(paid, 1, "one payment of the claim");
    let p = programme();
    let all = stores[0].events("P").unwrap();
    let book = Book::fold(&p, &all, d("2023-12-31"), None);
    assert_eq!(book.cash, Yuan::wan(3000 - 400));
    // a request id answers what it recorded, or refuses other content
    let again = stores[1]
        .record("P", "claim", "claim", "bureau", &mut |_| {
            panic!("not decided again")
        })
        .unwrap();
    assert_eq!(again.len(), 1);
    let e = stores[1]
        .record("P", "claim", "other", "bureau", &mut |_| Ok(vec![]))
        .unwrap_err();
    assert!(matches!(e, StoreError::AlreadyExists(_)), "{e}");
    let e = stores[1]
        .record("NOPE", "x", "x", "bureau", &mut |_| Ok(vec![]))
        .unwrap_err();
    assert!(matches!(e, StoreError::NotFound(_)), "{e}");
}

#[test]
fn ledger_racing_writers_keep_the_scale_and_pay_once() {
    each_backend(racing_writers_keep_the_scale_and_pay_once);
}

fn folds_are_kept_and_never_set_back(b: &Backend) {
    use smefin::store::ledger::StoredFold;
    let stores: [Arc<dyn Store>; 2] = [b.open(), b.open()];
    stores[0].create_pool("P", "gongxintong", "bureau").unwrap();
    assert_eq!(stores[0].fold("P").unwrap(), None);
    let fold = |seq: u64, fp: &str, data: &[u8]| StoredFold {
        seq,
        fingerprint: fp.into(),
        data: data.to_vec(),
    };
    // a fold of 3 MB with every byte value
    let big: Vec<u8> = (0..3_000_000u32).map(|i| (i % 251) as u8).collect();
    stores[0].save_fold("P", &fold(5, "a", &big)).unwrap();
    assert_eq!(stores[1].fold("P").unwrap(), Some(fold(5, "a", &big)));
    // a replica behind does not set it back; one as far along replaces it
    stores[1].save_fold("P", &fold(3, "a", b"old")).unwrap();
    assert_eq!(stores[0].fold("P").unwrap().unwrap().seq, 5);
    stores[1].save_fold("P", &fold(5, "a", b"again")).unwrap();
    assert_eq!(stores[0].fold("P").unwrap(), Some(fold(5, "a", b"again")));
    // one written under other rules replaces it whatever its place
    stores[1]
        .save_fold("P", &fold(2, "b", b"new rules"))
        .unwrap();
    assert_eq!(
        stores[0].fold("P").unwrap(),
        Some(fold(2, "b", b"new rules"))
    );
    // no pool, no fold
    assert_eq!(stores[0].fold("NOPE").unwrap(), None);
    assert!(stores[0].save_fold("NOPE", &fold(1, "a", b"x")).is_err());
}

#[test]
fn ledger_folds_are_kept_and_never_set_back() {
    each_backend(folds_are_kept_and_never_set_back);
}

/// A log written before loan and claim ids were each bank's own (events of
/// a loan or a claim without their bank) reads, once the store has
/// migrated, as the same events with each one's bank.
fn events_written_before_banks_own_their_ids_read_with_their_bank(b: &Backend) {
    let s = b.open();
    s.create_pool("P", "gongxintong", "bureau").unwrap();
    let cash = EventKind::CapitalInjected {
        amount: Yuan::wan(3000),
    };
    write(s.as_ref(), "cap", "2023-01-02", |b| {
        decide::cash(b, cash.clone(), d("2023-01-02"))
    })
    .unwrap();
    for i in 0..4 {
        write(s.as_ref(), &format!("e{i}"), "2023-01-20", |b| {
            decide::enrol(b, loan(i), d("2023-01-20"))
        })
        .unwrap();
    }
    let bank = |i: usize| ["JXB", "NCRCB"][i % 2];
    for i in 0..4 {
        write(s.as_ref(), &format!("s{i}"), "2023-05-31", |b| {
            decide::status(b, bank(i), &format!("L{i}"), Yuan::wan(900), 95)
        })
        .unwrap();
    }
    for i in 1..3 {
        let (id, loan) = (format!("C{i}"), format!("L{i}"));
        write(s.as_ref(), &format!("f{i}"), "2023-06-01", |b| {
            decide::file_claim(b, bank(i), &id, &loan)
        })
        .unwrap();
        write(s.as_ref(), &format!("a{i}"), "2023-06-02", |b| {
            decide::review(b, bank(i), &id, None)
        })
        .unwrap();
        write(s.as_ref(), &format!("p{i}"), "2023-06-03", |b| {
            decide::pay(b, bank(i), &id, d("2023-06-03"))
        })
        .unwrap();
    }
    write(s.as_ref(), "rec", "2023-07-01", |b| {
        decide::recovery(b, "NCRCB", "L1", Yuan::wan(100), d("2023-07-01"))
    })
    .unwrap();
    let written = s.events("P").unwrap();
    drop(s);
    // the log as an earlier version wrote it, and the store one version back
    match b {
        Backend::Sqlite(dir) => {
            let c = rusqlite::Connection::open(dir.path().join("smefin.sqlite3")).unwrap();
            c.execute_batch(
                "UPDATE ledger_events SET json = json_remove(json, '$.bank_id')
                    WHERE json_extract(json, '$.kind') <> 'loan_enrolled';
                 PRAGMA user_version = 5;",
            )
            .unwrap();
        }
        Backend::Postgres(pg, _) => {
            pg.query(
                "smefin",
                "UPDATE ledger_events SET json = (json::jsonb - 'bank_id')::text
                    WHERE json::jsonb->>'kind' <> 'loan_enrolled';
                 UPDATE smefin_schema SET version = 4;",
            );
        }
    }
    let stripped = b.open().events("P");
    assert!(stripped.is_ok(), "the store migrated on opening");
    assert_eq!(stripped.unwrap(), written);
    let book = Book::fold(&programme(), &written, d("2023-12-31"), None);
    assert_eq!(book.banks["NCRCB"].claims_paid, Yuan::wan(450));
    assert_eq!(book.banks["JXB"].claims_paid, Yuan::wan(450));
    assert_eq!(book.banks["NCRCB"].recovered, Yuan::wan(50));
}

#[test]
fn ledger_events_written_before_banks_own_their_ids_read_with_their_bank() {
    each_backend(events_written_before_banks_own_their_ids_read_with_their_bank);
}

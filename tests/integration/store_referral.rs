//! The referral store's behaviour, one suite for both backends: campaigns
//! stored whole and idempotent, leads paged per bank, outcomes versioned and
//! idempotent, another bank's lead answered as one that does not exist, and
//! racing reporters numbering versions without a gap.

use std::collections::BTreeMap;
use std::sync::{Arc, Barrier};

use smefin::kernel::money::Yuan;
use smefin::matching::leads::Lead;
use smefin::matching::referral::{Approval, DeclineReason, Outcome, OutcomeReport};
use smefin::store::StoreError;
use smefin::store::referral::{LeadFilter, NewCampaign, funnel_rows};

use crate::store_backends::{Backend, each_backend};

fn lead(campaign: &str, i: usize, bank: Option<&str>) -> Lead {
    Lead {
        id: match bank {
            Some(b) => format!("{campaign}-{b}-{i:06}"),
            None => format!("{campaign}-{i:06}"),
        },
        line: i as u64,
        product_id: ["gongxintong", "caiyuan_xindaitong"][i % 2].into(),
        product_name: ["工信通", "财园信贷通"][i % 2].into(),
        bank_id: bank.map(Into::into),
        firm: format!("南昌某企业{i}有限公司"),
        credit_code: None,
        region_code: Some("360102".into()),
        size_class: None,
        contact: None,
        amount: Some(Yuan::wan(100 + i as i64)),
        annual_cost: Some(Yuan::parse("34500.00").unwrap()),
        benefit: None,
        reasons: "企业规模为小型".into(),
    }
}

/// 30 leads: JXB 12, NCRCB 12, unassigned 6.
fn leads(campaign: &str) -> Vec<Lead> {
    (1..=30)
        .map(|i| match i % 5 {
            0 => lead(campaign, i, None),
            k if k % 2 == 1 => lead(campaign, i, Some("JXB")),
            _ => lead(campaign, i, Some("NCRCB")),
        })
        .collect()
}

fn campaign(id: &str) -> NewCampaign {
    NewCampaign {
        id: id.into(),
        as_of: "2024-06-01".parse().unwrap(),
        firms: 200,
        invalid: 1,
        already: BTreeMap::from([("gongxintong".to_string(), 3)]),
    }
}

fn report(outcome: Outcome, date: &str) -> OutcomeReport {
    OutcomeReport {
        outcome,
        date: date.parse().unwrap(),
        note: String::new(),
    }
}

fn approved(loan: &str) -> Outcome {
    Outcome::Approved(Approval {
        amount: Yuan::wan(300),
        annual_rate: "0.0345".parse().unwrap(),
        term_months: 12,
        loan_id: loan.into(),
    })
}

fn campaigns_are_stored_whole_and_once(b: &Backend) {
    let s = b.open();
    let ls = leads("C1");
    let c = s
        .save_campaign("r1", "h1", "bureau", &campaign("C1"), &ls)
        .unwrap();
    assert_eq!(
        (c.id.as_str(), c.leads, c.firms, c.invalid),
        ("C1", 30, 200, 1)
    );
    assert_eq!(c.already["gongxintong"], 3);
    // the same request again: the same campaign, nothing stored twice
    let again = s
        .save_campaign("r1", "h1", "bureau", &campaign("C1"), &ls)
        .unwrap();
    assert_eq!(again, c);
    // the same id, other content; another request for the same name
    let e = s
        .save_campaign("r1", "h2", "bureau", &campaign("C1"), &ls)
        .unwrap_err();
    assert!(matches!(e, StoreError::AlreadyExists(_)), "{e}");
    let e = s
        .save_campaign("r2", "h1", "bureau", &campaign("C1"), &ls)
        .unwrap_err();
    assert!(e.to_string().contains("choose another name"), "{e}");
    // a campaign whose leads cannot all be stored leaves nothing behind
    let mut dup = leads("C2");
    dup[5].id = dup[4].id.clone();
    assert!(
        s.save_campaign("r3", "h3", "bureau", &campaign("C2"), &dup)
            .is_err()
    );
    assert_eq!(s.campaign("C2").unwrap(), None);
    assert!(
        s.leads(
            &LeadFilter {
                campaign: Some("C2".into()),
                ..Default::default()
            },
            0,
            100
        )
        .unwrap()
        .is_empty()
    );
    // a second server sees it
    let other = b.open();
    assert_eq!(other.campaign("C1").unwrap(), Some(c.clone()));
    assert_eq!(other.campaigns(0, 10).unwrap(), vec![c]);
}

fn leads_are_paged_per_bank(b: &Backend) {
    let s = b.open();
    s.save_campaign("r1", "h1", "bureau", &campaign("C1"), &leads("C1"))
        .unwrap();
    let jxb = LeadFilter {
        campaign: Some("C1".into()),
        bank: Some("JXB".into()),
        product: None,
    };
    let (mut seen, mut after) = (Vec::new(), 0);
    loop {
        let page = s.leads(&jxb, after, 5).unwrap();
        let Some(last) = page.last() else { break };
        after = last.seq;
        seen.extend(page.into_iter().map(|l| l.lead));
    }
    let want: Vec<Lead> = leads("C1")
        .into_iter()
        .filter(|l| l.bank_id.as_deref() == Some("JXB"))
        .collect();
    assert_eq!(seen, want, "every JXB lead, in order, as stored");
    let gxt = LeadFilter {
        product: Some("gongxintong".into()),
        ..LeadFilter::default()
    };
    assert_eq!(s.leads(&gxt, 0, 100).unwrap().len(), 15);
    // a lead by id: within the bank's own only
    let id = &want[0].id;
    assert!(s.lead(id, Some("JXB")).unwrap().is_some());
    assert_eq!(s.lead(id, Some("NCRCB")).unwrap(), None);
    assert!(s.lead(id, None).unwrap().is_some());
}

fn outcomes_are_versioned_and_idempotent(b: &Backend) {
    let s = b.open();
    s.save_campaign("r1", "h1", "bureau", &campaign("C1"), &leads("C1"))
        .unwrap();
    let id = "C1-JXB-000001";
    let contacted = report(Outcome::Contacted, "2024-06-03");
    let v1 = s
        .report_outcome("o1", "a", "bank:JXB", id, Some("JXB"), &contacted)
        .unwrap();
    assert_eq!((v1.version, v1.recorded_by.as_str()), (1, "bank:JXB"));
    // again: the first answer
    assert_eq!(
        s.report_outcome("o1", "a", "bank:JXB", id, Some("JXB"), &contacted)
            .unwrap(),
        v1
    );
    let e = s
        .report_outcome("o1", "b", "bank:JXB", id, Some("JXB"), &contacted)
        .unwrap_err();
    assert!(matches!(e, StoreError::AlreadyExists(_)), "{e}");
    let v2 = s
        .report_outcome(
            "o2",
            "c",
            "bank:JXB",
            id,
            Some("JXB"),
            &report(approved("JX-L-1"), "2024-06-20"),
        )
        .unwrap();
    assert_eq!(v2.version, 2);
    // another bank: its lead is not found, as an invented id is not
    let theirs = s
        .report_outcome("o3", "d", "bank:NCRCB", id, Some("NCRCB"), &contacted)
        .unwrap_err();
    let none = s
        .report_outcome(
            "o3",
            "d",
            "bank:NCRCB",
            "C1-JXB-999999",
            Some("NCRCB"),
            &contacted,
        )
        .unwrap_err();
    assert!(matches!(theirs, StoreError::NotFound(_)), "{theirs}");
    assert_eq!(
        theirs.to_string().replace(id, "?"),
        none.to_string().replace("C1-JXB-999999", "?")
    );
    // the same request id under another caller is another request
    let declined = report(
        Outcome::Declined {
            reason: DeclineReason::Collateral,
        },
        "2024-06-21",
    );
    let v3 = s
        .report_outcome("o1", "e", "bureau", id, None, &declined)
        .unwrap();
    assert_eq!(v3.version, 3);
    let history = s.outcomes(id).unwrap();
    assert_eq!(
        history.iter().map(|o| o.version).collect::<Vec<_>>(),
        [1, 2, 3]
    );
    assert_eq!(history[1].report, report(approved("JX-L-1"), "2024-06-20"));
    let stored = s.lead(id, None).unwrap().unwrap();
    assert_eq!(stored.latest.unwrap().version, 3);
    // the funnel: the latest stage of each lead, a bank's over its own
    let rows = funnel_rows(s.as_ref(), "C1", None).unwrap();
    assert_eq!(rows.len(), 30);
    assert_eq!(rows.iter().filter(|r| r.latest.is_some()).count(), 1);
    assert_eq!(
        funnel_rows(s.as_ref(), "C1", Some("NCRCB")).unwrap().len(),
        12
    );
}

/// Eight reporters on one lead at once, over two servers: versions 1..8,
/// each request stored once.
fn racing_reporters_leave_no_gap(b: &Backend) {
    let first = b.open();
    first
        .save_campaign("r1", "h1", "bureau", &campaign("C1"), &leads("C1"))
        .unwrap();
    let stores = [first, b.open()];
    let barrier = Arc::new(Barrier::new(8));
    let handles: Vec<_> = (0..8)
        .map(|i| {
            let s = stores[i % 2].clone();
            let barrier = barrier.clone();
            std::thread::spawn(move || {
                barrier.wait();
                let r = report(Outcome::Contacted, "2024-06-03");
                let a = s
                    .report_outcome(
                        &format!("q{i}"),
                        "h",
                        "bank:JXB",
                        "C1-JXB-000001",
                        Some("JXB"),
                        &r,
                    )
                    .unwrap();
                // a retry of the same request, racing the others
                let b = s
                    .report_outcome(
                        &format!("q{i}"),
                        "h",
                        "bank:JXB",
                        "C1-JXB-000001",
                        Some("JXB"),
                        &r,
                    )
                    .unwrap();
                assert_eq!(a, b);
                a.version
            })
        })
        .collect();
    let mut versions: Vec<u32> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    versions.sort_unstable();
    assert_eq!(versions, (1..=8).collect::<Vec<_>>());
    assert_eq!(stores[0].outcomes("C1-JXB-000001").unwrap().len(), 8);
}

#[test]
fn referral_campaigns_are_stored_whole_and_once() {
    each_backend(campaigns_are_stored_whole_and_once);
}

#[test]
fn referral_leads_are_paged_per_bank() {
    each_backend(leads_are_paged_per_bank);
}

#[test]
fn referral_outcomes_are_versioned_and_idempotent() {
    each_backend(outcomes_are_versioned_and_idempotent);
}

#[test]
fn referral_racing_reporters_leave_no_gap() {
    each_backend(racing_reporters_leave_no_gap);
}

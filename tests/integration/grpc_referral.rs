//! ReferralService through a real server with tokens, as a bureau and two
//! banks use it: a campaign over a streamed registry, each bank listing its
//! own leads and reporting back, the funnel (and its report in Chromium);
//! what a bank may not see, directly or by inference.

use std::collections::BTreeMap;

use smefin::server::pb;
use smefin::server::pb::referral_service_client::ReferralServiceClient;
use tonic::Code;
use tonic::transport::Channel;

use crate::common::violation_fields as violations;
use crate::grpc_incentive::{req, server};
use crate::grpc_matching::profile;

const BUREAU: Option<&str> = Some("tok-bureau");
const ANALYST: Option<&str> = Some("tok-analyst");
const JXB: Option<&str> = Some("tok-jxb");
const NCRCB: Option<&str> = Some("tok-nc");

/// 40 firms of one shape, sizes spread; every tenth already borrows under
/// 工信通; each gives a contact.
fn registry(name: &str, request_id: &str) -> Vec<pb::RunCampaignRequest> {
    let mut reqs: Vec<pb::RunCampaignRequest> = (0..40)
        .map(|i| {
            let mut p = profile();
            p.name = format!("南昌某{i}号科技有限公司");
            p.employees = Some(5 + 7 * i);
            p.region_code = Some(["360102", "360702"][i as usize % 2].into());
            if i % 10 == 0 {
                p.held_products = vec![pb::HeldProduct {
                    product_id: "gongxintong".into(),
                    status: pb::HoldingStatus::Held as i32,
                    since: "2023-09-01".into(),
                }];
            }
            p.contact = Some(pb::Contact {
                person: Some(format!("联系人{i}")),
                phone: Some(format!("0791-8600 {i:04}")),
            });
            pb::RunCampaignRequest {
                profile: Some(p),
                ..Default::default()
            }
        })
        .collect();
    let first = &mut reqs[0];
    first.request_id = request_id.into();
    first.name = name.into();
    first.as_of = "2024-06-01".into();
    first.assignments = vec![pb::ProductBanks {
        product_id: "gongxintong".into(),
        bank_ids: vec!["JXB".into(), "NCRCB".into()],
    }];
    reqs
}

async fn all_leads(
    c: &mut ReferralServiceClient<Channel>,
    token: Option<&str>,
    campaign: &str,
) -> Vec<pb::Lead> {
    let (mut out, mut page_token) = (Vec::new(), String::new());
    loop {
        let r = c
            .list_leads(req(
                pb::ListLeadsRequest {
                    campaign_id: campaign.into(),
                    page_size: 7,
                    page_token: page_token.clone(),
                    ..Default::default()
                },
                token,
            ))
            .await
            .unwrap()
            .into_inner();
        out.extend(r.leads);
        if r.next_page_token.is_empty() {
            return out;
        }
        page_token = r.next_page_token;
    }
}

fn outcome(request_id: &str, lead: &str, stage: pb::LeadStage) -> pb::ReportLeadOutcomeRequest {
    pb::ReportLeadOutcomeRequest {
        request_id: request_id.into(),
        lead_id: lead.into(),
        stage: stage as i32,
        date: "2024-06-20".into(),
        ..Default::default()
    }
}

#[tokio::test]
async fn a_campaign_goes_to_the_banks_and_comes_back_as_a_funnel() {
    let (srv, _dir) = server().await;
    let mut c = ReferralServiceClient::connect(srv.url()).await.unwrap();
    // only the bureau runs campaigns
    for who in [ANALYST, JXB] {
        let e = c
            .run_campaign(req(tokio_stream::iter(registry("X", "x")), who))
            .await
            .unwrap_err();
        assert_eq!(e.code(), Code::PermissionDenied, "{e:?}");
    }
    let run = c
        .run_campaign(req(
            tokio_stream::iter(registry("NC2024", "camp-1")),
            BUREAU,
        ))
        .await
        .unwrap()
        .into_inner();
    let camp = run.campaign.clone().unwrap();
    assert_eq!((camp.firms, camp.invalid), (40, 0));
    assert_eq!(camp.already.get("gongxintong"), Some(&4));
    let per: BTreeMap<(String, String), u64> = run
        .counts
        .iter()
        .map(|k| ((k.product_id.clone(), k.bank_id.clone()), k.leads))
        .collect();
    let (jxb_n, nc_n) = (
        per[&("gongxintong".to_string(), "JXB".to_string())],
        per[&("gongxintong".to_string(), "NCRCB".to_string())],
    );
    assert!(jxb_n > 0 && jxb_n.abs_diff(nc_n) <= 1, "in turn: {per:?}");
    assert_eq!(camp.leads, per.values().sum::<u64>());
    // the same request again is the same campaign
    let again = c
        .run_campaign(req(
            tokio_stream::iter(registry("NC2024", "camp-1")),
            BUREAU,
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(again.campaign, run.campaign);
    // each bank lists its own leads, numbered among its own
    let jxb = all_leads(&mut c, JXB, "NC2024").await;
    let nc = all_leads(&mut c, NCRCB, "NC2024").await;
    assert_eq!((jxb.len() as u64, nc.len() as u64), (jxb_n, nc_n));
    assert!(
        jxb.iter()
            .all(|l| l.bank_id == "JXB" && l.product_id == "gongxintong")
    );
    assert!(nc.iter().all(|l| l.bank_id == "NCRCB"));
    for (i, l) in jxb.iter().enumerate() {
        assert_eq!(l.lead_id, format!("NC2024-JXB-{:06}", i + 1));
        assert!(l.contact.as_ref().unwrap().phone.starts_with("0791-8600"));
        assert!(l.reasons.contains("企业规模为"), "{}", l.reasons);
        assert!(l.region.contains("市"), "{}", l.region);
    }
    let everything = all_leads(&mut c, BUREAU, "NC2024").await;
    assert_eq!(everything.len() as u64, camp.leads);
    // a bank may not ask for another bank's leads
    let e = c
        .list_leads(req(
            pb::ListLeadsRequest {
                bank_id: "NCRCB".into(),
                ..Default::default()
            },
            JXB,
        ))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::PermissionDenied);
    let e = c
        .list_campaigns(req(pb::ListCampaignsRequest::default(), JXB))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::PermissionDenied);
    // a page token is one of the bank's own lead ids; one naming another
    // bank's lead is refused exactly as an invented one
    let page = |token: String| pb::ListLeadsRequest {
        page_size: 2,
        page_token: token,
        ..Default::default()
    };
    let first = c
        .list_leads(req(page(String::new()), JXB))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(first.next_page_token, format!("l{}", jxb[1].lead_id));
    let theirs = c
        .list_leads(req(page(format!("l{}", nc[0].lead_id)), JXB))
        .await
        .unwrap_err();
    let invented = c
        .list_leads(req(page("lNC2024-NCRCB-999999".into()), JXB))
        .await
        .unwrap_err();
    assert_eq!(
        (theirs.code(), violations(&theirs)),
        (Code::InvalidArgument, vec!["page_token".to_string()])
    );
    assert_eq!(theirs.message(), invented.message());
    report_back(&mut c, &jxb, &nc).await;
    funnel(&mut c, camp.leads, jxb_n, nc_n).await;
    srv.shutdown().await;
}

/// JXB reports on its leads; what it may not do.
async fn report_back(c: &mut ReferralServiceClient<Channel>, jxb: &[pb::Lead], nc: &[pb::Lead]) {
    use pb::LeadStage as S;
    let l = |i: usize| jxb[i].lead_id.clone();
    for (i, stage) in [S::Contacted, S::Unreachable, S::Applied]
        .into_iter()
        .enumerate()
    {
        c.report_lead_outcome(req(outcome(&format!("o{i}"), &l(i), stage), JXB))
            .await
            .unwrap();
    }
    let mut approve = outcome("o3", &l(3), S::Approved);
    approve.approval = Some(pb::Approval {
        amount: "300万".into(),
        annual_rate: "3.45%".into(),
        term_months: 12,
        loan_id: "JXB-2024-0001".into(),
    });
    let v = c
        .report_lead_outcome(req(approve.clone(), JXB))
        .await
        .unwrap()
        .into_inner()
        .outcome
        .unwrap();
    assert_eq!(v.version, 1);
    let a = v.approval.as_ref().unwrap();
    assert_eq!(
        (a.amount.as_str(), a.annual_rate.as_str()),
        ("3000000.00", "0.0345")
    );
    // idempotent; another body under the same id is refused
    let again = c
        .report_lead_outcome(req(approve.clone(), JXB))
        .await
        .unwrap();
    assert_eq!(again.into_inner().outcome.unwrap(), v);
    let mut other = approve.clone();
    other.approval.as_mut().unwrap().amount = "200万".into();
    let e = c.report_lead_outcome(req(other, JXB)).await.unwrap_err();
    assert_eq!(e.code(), Code::AlreadyExists);
    let mut decline = outcome("o4", &l(4), S::Declined);
    decline.decline_reason = pb::DeclineReason::Collateral as i32;
    c.report_lead_outcome(req(decline, JXB)).await.unwrap();
    // bad reports name their fields
    let mut other_reason = outcome("o5", &l(5), S::Declined);
    other_reason.decline_reason = pb::DeclineReason::Other as i32;
    let mut early = outcome("o6", &l(5), S::Contacted);
    early.date = "2024-05-31".into();
    let approval = |amount: &str, rate: &str, term: u32, loan: &str| {
        let mut r = outcome("o9", &l(5), S::Approved);
        r.approval = Some(pb::Approval {
            amount: amount.into(),
            annual_rate: rate.into(),
            term_months: term,
            loan_id: loan.into(),
        });
        r
    };
    for (bad, field) in [
        (approval("NaN", "0.03", 12, "X"), "approval.amount"),
        (approval("0", "0.03", 12, "X"), "approval.amount"),
        (approval("1e400", "0.03", 12, "X"), "approval.amount"),
        (approval("100万", "NaN", 12, "X"), "approval.annual_rate"),
        (approval("100万", "0", 12, "X"), "approval.annual_rate"),
        (approval("100万", "0.03", 0, "X"), "approval.term_months"),
        (
            approval("100万", "0.03", u32::MAX, "X"),
            "approval.term_months",
        ),
        (approval("100万", "0.03", 12, ""), "approval.loan_id"),
        (other_reason, "note"),
        (outcome("o7", &l(5), S::Approved), "approval"),
        (outcome("o8", &l(5), S::Unspecified), "stage"),
        (early, "date"),
    ] {
        let e = c.report_lead_outcome(req(bad, JXB)).await.unwrap_err();
        assert_eq!(e.code(), Code::InvalidArgument);
        assert_eq!(violations(&e), [field], "{e:?}");
    }
    // another bank's lead is not found, exactly as an invented one
    let theirs = c
        .report_lead_outcome(req(outcome("n1", &nc[0].lead_id, S::Contacted), JXB))
        .await
        .unwrap_err();
    let invented = c
        .report_lead_outcome(req(outcome("n1", "NC2024-NCRCB-999999", S::Contacted), JXB))
        .await
        .unwrap_err();
    assert_eq!(
        (theirs.code(), invented.code()),
        (Code::NotFound, Code::NotFound)
    );
    assert_eq!(
        theirs.message().replace(&nc[0].lead_id, "?"),
        invented.message().replace("NC2024-NCRCB-999999", "?")
    );
    let e = c
        .get_lead(req(
            pb::GetLeadRequest {
                lead_id: nc[0].lead_id.clone(),
            },
            JXB,
        ))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::NotFound);
    let e = c
        .report_lead_outcome(req(outcome("a1", &l(0), S::Contacted), ANALYST))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::PermissionDenied);
    // the approved lead carries what the ledger enrols
    let got = c
        .get_lead(req(pb::GetLeadRequest { lead_id: l(3) }, JXB))
        .await
        .unwrap()
        .into_inner();
    let latest = got.lead.unwrap().latest.unwrap();
    assert_eq!(latest.approval.unwrap().loan_id, "JXB-2024-0001");
    assert_eq!(got.outcomes.len(), 1);
}

/// The funnel as the bureau and as each bank sees it; the report renders.
async fn funnel(c: &mut ReferralServiceClient<Channel>, leads: u64, jxb_n: u64, nc_n: u64) {
    let ask = |compare: &str, report: bool| pb::GetFunnelRequest {
        campaign_id: "NC2024".into(),
        compare_to: compare.into(),
        report,
    };
    let f = c
        .get_funnel(req(ask("", true), BUREAU))
        .await
        .unwrap()
        .into_inner();
    let t = f.funnel.as_ref().unwrap().total.clone().unwrap();
    assert_eq!(
        (
            t.leads,
            t.contacted,
            t.unreachable,
            t.applied,
            t.approved,
            t.declined
        ),
        (leads, 4, 1, 3, 1, 1)
    );
    assert_eq!(t.amount_lent, "3000000.00");
    let fun = f.funnel.unwrap();
    assert_eq!(fun.declines.len(), 1);
    assert_eq!(fun.median_days_to_decision, Some(19));
    assert!(f.report_html.contains("精准推送成效报告"));
    if let Some(chrome) = crate::reports::chromium() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("funnel.html");
        std::fs::write(&file, &f.report_html).unwrap();
        let (png, pdf, dom) = crate::reports::render(&chrome, &file, dir.path());
        crate::reports::check_rendered(&f.report_html, &png, &pdf, &dom);
    }
    // each bank: over its own leads alone, nothing of the other's
    for (token, n, other) in [(JXB, jxb_n, "NCRCB"), (NCRCB, nc_n, "JXB")] {
        let f = c
            .get_funnel(req(ask("", true), token))
            .await
            .unwrap()
            .into_inner();
        let fun = f.funnel.unwrap();
        assert_eq!(fun.total.unwrap().leads, n);
        assert_eq!(fun.by_bank.len(), 1);
        assert!(fun.by_bank.iter().all(|g| g.key != other));
        assert!(!f.report_html.contains(other), "{other} in a bank's report");
    }
    // beside an earlier campaign
    let e = c
        .get_funnel(req(ask("NO_SUCH", false), BUREAU))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::NotFound);
    let f = c
        .get_funnel(req(ask("NC2024", true), BUREAU))
        .await
        .unwrap()
        .into_inner();
    assert!(f.previous.is_some());
    assert!(f.report_html.contains("与上一批次（NC2024）比较"));
}

#[tokio::test]
async fn bad_campaigns_are_refused_by_field() {
    let (srv, _dir) = server().await;
    let mut c = ReferralServiceClient::connect(srv.url()).await.unwrap();
    let mut bad = registry("a b", "");
    bad[0].assignments[0].product_id = "no_such".into();
    bad[0].product_ids = vec!["also_not".into()];
    let e = c
        .run_campaign(req(tokio_stream::iter(bad), BUREAU))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument);
    assert_eq!(
        violations(&e),
        [
            "request_id",
            "name",
            "product_ids[0]",
            "assignments[0].product_id"
        ]
    );
    // the campaign's fields belong in the first message only
    let mut late = registry("NC1", "r1");
    late[3].name = "NC2".into();
    let e = c
        .run_campaign(req(tokio_stream::iter(late), BUREAU))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument);
    let e = c
        .list_leads(req(
            pb::ListLeadsRequest {
                page_token: "s01".into(),
                ..Default::default()
            },
            BUREAU,
        ))
        .await
        .unwrap_err();
    assert_eq!(violations(&e), ["page_token"]);
    srv.shutdown().await;
}

/// More leads than `server.max_campaign_leads` is RESOURCE_EXHAUSTED naming
/// the setting, and nothing is stored.
#[tokio::test]
async fn a_campaign_past_its_lead_limit_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = smefin::config::Config::default();
    cfg.auth.tokens_file = Some(crate::grpc_incentive::token_file(dir.path()));
    cfg.server.max_campaign_leads = 10;
    let srv = crate::common::start_with(cfg).await;
    let mut c = ReferralServiceClient::connect(srv.url()).await.unwrap();
    let e = c
        .run_campaign(req(tokio_stream::iter(registry("BIG", "big")), BUREAU))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::ResourceExhausted);
    assert!(
        e.message().contains("server.max_campaign_leads"),
        "{}",
        e.message()
    );
    let list = c
        .list_campaigns(req(pb::ListCampaignsRequest::default(), BUREAU))
        .await
        .unwrap()
        .into_inner();
    assert!(list.campaigns.is_empty());
    srv.shutdown().await;
}

//! The referral loop as a bureau runs it from a shell beside a running
//! server: `smefin campaign --save` into the server's store, a bank lists
//! and reports over gRPC, `smefin funnel` reads what came back.

use smefin::server::pb;
use smefin::server::pb::referral_service_client::ReferralServiceClient;

use crate::cli::{run, stderr, stdout};
use crate::grpc_incentive::{req, server};

#[tokio::test]
async fn a_saved_campaign_is_listed_by_banks_and_read_back_as_a_funnel() {
    let (srv, _tokens) = server().await;
    let data = srv.data.path().to_str().unwrap().to_string();
    let dir = tempfile::tempdir().unwrap();
    let registry = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/firms.jsonl");
    let campaign = |as_of: &str| {
        vec![
            "campaign",
            "--input",
            registry,
            "--out",
            "leads.csv",
            "--as-of",
            as_of,
            "--name",
            "NC2024",
            "--assign",
            "gongxintong=JXB,NCRCB",
            "--save",
            "--data-dir",
            &data,
        ]
        .into_iter()
        .map(String::from)
        .collect::<Vec<_>>()
    };
    let args = campaign("2024-07-01");
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let o = run(&args, dir.path());
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("已保存推送批次 NC2024"),
        "{}",
        stdout(&o)
    );
    // the same command again: the stored campaign, nothing twice
    let again = run(&args, dir.path());
    assert!(again.status.success(), "{}", stderr(&again));
    assert_eq!(stdout(&again), stdout(&o));
    // the same name for another run: one line naming the flag
    let other = campaign("2024-07-02");
    let other: Vec<&str> = other.iter().map(String::as_str).collect();
    let e = run(&other, dir.path());
    assert_eq!(e.status.code(), Some(1));
    assert!(stderr(&e).contains("--name") && stderr(&e).trim().lines().count() == 1);

    // JXB lists its leads from the running server and reports on two
    let mut c = ReferralServiceClient::connect(srv.url()).await.unwrap();
    let leads = c
        .list_leads(req(
            pb::ListLeadsRequest {
                campaign_id: "NC2024".into(),
                ..Default::default()
            },
            Some("tok-jxb"),
        ))
        .await
        .unwrap()
        .into_inner()
        .leads;
    let csv = std::fs::read_to_string(dir.path().join("leads.csv")).unwrap();
    let in_file = csv.lines().filter(|l| l.contains(",JXB,")).count();
    assert_eq!(leads.len(), in_file, "the bank sees what the file gave it");
    for (i, stage) in [pb::LeadStage::Contacted, pb::LeadStage::Approved]
        .into_iter()
        .enumerate()
    {
        let mut r = pb::ReportLeadOutcomeRequest {
            request_id: format!("r{i}"),
            lead_id: leads[i].lead_id.clone(),
            stage: stage as i32,
            date: "2024-07-15".into(),
            ..Default::default()
        };
        if stage == pb::LeadStage::Approved {
            r.approval = Some(pb::Approval {
                amount: "250万".into(),
                annual_rate: "0.0345".into(),
                term_months: 12,
                loan_id: "JXB-L-7".into(),
            });
        }
        c.report_lead_outcome(req(r, Some("tok-jxb")))
            .await
            .unwrap();
    }

    // the bureau reads the funnel
    for out in ["funnel.html", "funnel.json"] {
        let o = run(
            &[
                "funnel",
                "--campaign",
                "NC2024",
                "--out",
                out,
                "--data-dir",
                &data,
            ],
            dir.path(),
        );
        assert!(o.status.success(), "{}", stderr(&o));
        assert!(
            stdout(&o).contains("已联系 2，已申请 1，已获批 1，放款 250万"),
            "{}",
            stdout(&o)
        );
    }
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("funnel.json")).unwrap())
            .unwrap();
    assert_eq!(json["funnel"]["total"]["approved"], 1);
    assert_eq!(json["funnel"]["total"]["amount_lent"], "2500000.00");
    let html = std::fs::read_to_string(dir.path().join("funnel.html")).unwrap();
    assert!(html.contains("精准推送成效报告") && html.contains("250万"));
    // what a mistyped command says
    for (args, says) in [
        (
            vec!["funnel", "--campaign", "NOPE", "--out", "f.html"],
            "no campaign `NOPE`",
        ),
        (
            vec!["funnel", "--campaign", "NC2024", "--out", "f.txt"],
            "--out",
        ),
        (
            vec![
                "funnel",
                "--campaign",
                "NC2024",
                "--out",
                "f.html",
                "--bank",
                "J X",
            ],
            "--bank",
        ),
    ] {
        let mut a = args.clone();
        a.extend(["--data-dir", &data]);
        let o = run(&a, dir.path());
        assert_eq!(o.status.code(), Some(1), "{a:?}");
        assert!(
            stderr(&o).contains(says) && stderr(&o).trim().lines().count() == 1,
            "{}",
            stderr(&o)
        );
    }
    srv.shutdown().await;
}

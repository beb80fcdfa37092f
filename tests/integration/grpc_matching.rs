//! MatchingService, health and reflection through a real server and the
//! generated tonic client.

use crate::common;

use smefin::server::pb;
use smefin::server::pb::matching_service_client::MatchingServiceClient;
use tonic::Code;
use tonic_types::StatusExt;

pub(crate) fn profile() -> pb::EnterpriseProfile {
    pb::EnterpriseProfile {
        name: "南昌某新材料科技有限公司".into(),
        credit_code: Some("91350100M000100Y43".into()),
        region_code: Some("360102".into()),
        industry_code: Some("C3562".into()),
        employees: Some(24),
        annual_revenue: Some("1800万".into()),
        total_assets: Some("2600万".into()),
        established: Some("2016-03-18".into()),
        certifications: vec![
            pb::Certification::ZjtxProvincial as i32,
            pb::Certification::TechSme as i32,
        ],
        in_industrial_park: Some(true),
        tax_credit_grade: Some(pb::TaxCreditGrade::A as i32),
        has_bank_loans: Some(true),
        new_eligible_hires: Some(3),
        wage_or_social_insurance_arrears: Some(false),
        has_registered_ip: Some(true),
        has_receivables: Some(false),
        is_cultural_tourism: None,
        request: Some(pb::FinancingRequest {
            amount: Some("300万".into()),
            term_months: Some(12),
            purpose: Some(pb::LoanPurpose::WorkingCapital as i32),
        }),
        certification_dates: vec![pb::CertificationDate {
            certification: pb::Certification::ZjtxProvincial as i32,
            designated: "2022-06-30".into(),
        }],
        makes_listed_major_equipment: None,
        makes_listed_new_material: None,
        has_warehouse_receipts: None,
        has_purchase_orders: None,
        is_listed: None,
        no_certifications: None,
        held_products: vec![],
        contact: None,
    }
}

use crate::common::violation_fields as violations;

#[tokio::test]
async fn match_enterprise_ranks_offers_and_explains_misses() {
    let srv = common::start().await;
    let mut c = MatchingServiceClient::connect(srv.url()).await.unwrap();
    let r = c
        .match_enterprise(pb::MatchEnterpriseRequest {
            profile: Some(profile()),
            as_of: "2024-06-01".into(),
            product_ids: vec![],
            view: 0,
        })
        .await
        .unwrap()
        .into_inner()
        .result
        .unwrap();
    assert_eq!(r.as_of, "2024-06-01");
    assert_eq!(r.lpr_1y, "0.0345");
    let cls = r.classification.unwrap();
    assert_eq!(cls.size_class, pb::SizeClass::Small as i32);
    assert_eq!(cls.size_industry, "工业");
    assert!(r.credit_code.unwrap().check_character_valid);
    // cheapest first: 工信通 at LPR on 300万 = 103500.00
    let first = &r.eligible[0];
    assert_eq!(first.product_id, "gongxintong");
    let o = first.offer.as_ref().unwrap();
    assert_eq!(o.amount, "3000000.00");
    assert_eq!(o.annual_cost, "103500.00");
    let costs: Vec<f64> = r
        .eligible
        .iter()
        .filter(|m| {
            m.kind == pb::ProductKind::Loan as i32 || m.kind == pb::ProductKind::Guarantee as i32
        })
        .map(|m| m.offer.as_ref().unwrap().annual_cost.parse().unwrap())
        .collect();
    assert!(costs.windows(2).all(|w| w[0] <= w[1]), "{costs:?}");
    // the 创业担保 miss carries the hire suggestion
    let cd = r
        .ineligible
        .iter()
        .find(|m| m.product_id == "chuangye_danbao_xiaowei_jiangxi")
        .unwrap();
    let crit = cd
        .criteria
        .iter()
        .find(|c| c.code == "NEW_HIRE_RATIO")
        .unwrap();
    assert_eq!(crit.outcome, pb::CriterionOutcome::Fail as i32);
    assert_eq!(
        crit.message,
        "新招用重点群体人数占比 12.5%，低于 15% 的要求"
    );
    assert_eq!(cd.suggestions[0].action, "HIRE_MORE");
    assert_eq!(cd.suggestions[0].target, "4");
    srv.shutdown().await;
}

#[tokio::test]
async fn match_enterprise_bad_input_is_invalid_argument_with_every_field() {
    let srv = common::start().await;
    let mut c = MatchingServiceClient::connect(srv.url()).await.unwrap();
    let mut p = profile();
    p.annual_revenue = Some("NaN".into());
    p.credit_code = Some("91350100M000100Y4".into());
    p.certifications = vec![0, 42];
    p.request.as_mut().unwrap().amount = Some("-5万".into());
    let e = c
        .match_enterprise(pb::MatchEnterpriseRequest {
            profile: Some(p),
            as_of: "2024-02-30".into(),
            product_ids: vec![],
            view: 0,
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument);
    assert_eq!(
        violations(&e),
        vec![
            "as_of",
            "profile.credit_code",
            "profile.annual_revenue",
            "profile.certifications[0]",
            "profile.certifications[1]",
            "profile.request.amount"
        ]
    );
    assert_eq!(
        e.get_error_details().error_info().unwrap().reason,
        "INVALID_PROFILE"
    );

    // missing profile
    let e = c
        .match_enterprise(pb::MatchEnterpriseRequest::default())
        .await
        .unwrap_err();
    assert_eq!(violations(&e), vec!["profile"]);
    // unknown product filter
    let e = c
        .match_enterprise(pb::MatchEnterpriseRequest {
            profile: Some(profile()),
            as_of: String::new(),
            product_ids: vec!["nope".into()],
            view: 0,
        })
        .await
        .unwrap_err();
    assert_eq!(violations(&e), vec!["product_ids"]);
    // a date before the LPR table
    let e = c
        .match_enterprise(pb::MatchEnterpriseRequest {
            profile: Some(profile()),
            as_of: "2019-01-01".into(),
            product_ids: vec![],
            view: 0,
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument);
    assert_eq!(violations(&e), vec!["as_of"]);
    assert_eq!(
        e.get_error_details().error_info().unwrap().reason,
        "LPR_UNKNOWN"
    );
    srv.shutdown().await;
}

#[tokio::test]
async fn batch_match_streams_results_in_order_and_reports_bad_items() {
    let srv = common::start().await;
    let mut c = MatchingServiceClient::connect(srv.url()).await.unwrap();
    let n = 500usize;
    let items: Vec<pb::BatchMatchRequest> = (0..n)
        .map(|i| {
            let mut p = profile();
            p.employees = Some(10 + (i as u32 % 200));
            p.new_eligible_hires = Some(0);
            if i % 100 == 7 {
                p.annual_revenue = Some("oops".into());
            }
            if i == 307 {
                // 500,000 unknown enum values are one problem, and the
                // stream goes on (one problem each was a 138 MB response
                // that ended the stream with OUT_OF_RANGE)
                p.certifications = vec![0; 500_000];
            }
            pb::BatchMatchRequest {
                reference: format!("firm-{i}"),
                profile: Some(p),
                as_of: "2024-06-01".into(),
                view: 0,
            }
        })
        .collect();
    let mut stream = c
        .batch_match(tokio_stream::iter(items))
        .await
        .unwrap()
        .into_inner();
    let mut got = 0usize;
    let mut bad = 0usize;
    while let Some(r) = stream.message().await.unwrap() {
        assert_eq!(r.index as usize, got);
        assert_eq!(r.reference, format!("firm-{got}"));
        if got % 100 == 7 {
            assert!(r.result.is_none());
            assert_eq!(r.problems[0].field, "profile.annual_revenue");
            if got == 307 {
                assert_eq!(r.problems_total, 2);
                assert_eq!(r.problems[1].field, "profile.certifications");
                assert_eq!(
                    r.problems[1].description,
                    "500000 entries; at most 64 (there are 15 kinds)"
                );
            } else {
                assert_eq!(r.problems_total as usize, r.problems.len());
            }
            bad += 1;
        } else {
            let res = r.result.unwrap();
            // 工业: fewer than 20 staff is 微型; revenue 1800万 < 2000万 keeps the rest 小型
            let expected = if 10 + (got as u32 % 200) < 20 {
                pb::SizeClass::Micro
            } else {
                pb::SizeClass::Small
            };
            assert_eq!(
                res.classification.unwrap().size_class,
                expected as i32,
                "item {got}"
            );
        }
        got += 1;
    }
    assert_eq!(got, n);
    assert_eq!(bad, 5);
    srv.shutdown().await;
}

#[tokio::test]
async fn classify_enterprise() {
    let srv = common::start().await;
    let mut c = MatchingServiceClient::connect(srv.url()).await.unwrap();
    let mut p = profile();
    p.credit_code = Some("91350203M0001QAY9B".into());
    let r = c
        .classify_enterprise(pb::ClassifyEnterpriseRequest { profile: Some(p) })
        .await
        .unwrap()
        .into_inner();
    let cls = r.classification.unwrap();
    assert_eq!(cls.size_class, pb::SizeClass::Small as i32);
    let cc = r.credit_code.unwrap();
    assert!(!cc.check_character_valid);
    assert!(cc.warnings[0].contains("应为 9"));
    // missing revenue for a 500-staff industrial firm
    let p = pb::EnterpriseProfile {
        industry_code: Some("C".into()),
        employees: Some(500),
        ..Default::default()
    };
    let r = c
        .classify_enterprise(pb::ClassifyEnterpriseRequest { profile: Some(p) })
        .await
        .unwrap()
        .into_inner();
    let cls = r.classification.unwrap();
    assert_eq!(cls.size_class, pb::SizeClass::Unspecified as i32);
    assert_eq!(cls.missing_fields, vec!["annual_revenue"]);
    // a malformed credit code is rejected
    let p = pb::EnterpriseProfile {
        credit_code: Some("ABC".into()),
        ..Default::default()
    };
    let e = c
        .classify_enterprise(pb::ClassifyEnterpriseRequest { profile: Some(p) })
        .await
        .unwrap_err();
    assert_eq!(violations(&e), vec!["profile.credit_code"]);
    srv.shutdown().await;
}

#[tokio::test]
async fn list_and_get_products() {
    let srv = common::start().await;
    let mut c = MatchingServiceClient::connect(srv.url()).await.unwrap();
    let mut all = Vec::new();
    let mut token = String::new();
    loop {
        let r = c
            .list_products(pb::ListProductsRequest {
                page_size: 7,
                page_token: token.clone(),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        assert!(r.products.len() <= 7);
        all.extend(r.products);
        if r.next_page_token.is_empty() {
            break;
        }
        token = r.next_page_token;
    }
    assert_eq!(
        all.len(),
        smefin::catalog::Catalog::builtin().products.len()
    );
    // filters
    let awards = c
        .list_products(pb::ListProductsRequest {
            kind: pb::ProductKind::Award as i32,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(awards.products.len(), 15);
    let in_2026 = c
        .list_products(pb::ListProductsRequest {
            as_of: "2026-01-01".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(
        in_2026.products.iter().all(|p| p.regions != ["3601"]),
        "the Nanchang awards end 2025-09-01"
    );
    // bad page token and kind
    let e = c
        .list_products(pb::ListProductsRequest {
            page_token: "zzz".into(),
            kind: 9,
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(violations(&e), vec!["kind", "page_token"]);

    let p = c
        .get_product(pb::GetProductRequest {
            product_id: "zhengfu_rongzi_danbao".into(),
        })
        .await
        .unwrap()
        .into_inner()
        .product
        .unwrap();
    assert_eq!(p.name, "政府性融资担保贷款");
    assert_eq!(
        p.guarantee_fee,
        "500万及以下年费率 1%，500万以上年费率 1.5%"
    );
    assert_eq!(p.max_amount, "10000000.00");
    let e = c
        .get_product(pb::GetProductRequest {
            product_id: "nope".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::NotFound);
    let e = c
        .get_product(pb::GetProductRequest::default())
        .await
        .unwrap_err();
    assert_eq!(violations(&e), vec!["product_id"]);
    srv.shutdown().await;
}

#[tokio::test]
async fn health_and_reflection() {
    use tonic_health::pb::health_client::HealthClient;
    use tonic_reflection::pb::v1::ServerReflectionRequest;
    use tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient;
    use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;
    use tonic_reflection::pb::v1::server_reflection_response::MessageResponse;

    let srv = common::start().await;
    let channel = tonic::transport::Endpoint::from_shared(srv.url())
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut h = HealthClient::new(channel.clone());
    for service in ["", "smefin.v1.MatchingService"] {
        let r = h
            .check(tonic_health::pb::HealthCheckRequest {
                service: service.into(),
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(
            r.status,
            tonic_health::pb::health_check_response::ServingStatus::Serving as i32,
            "{service}"
        );
    }

    let mut r = ServerReflectionClient::new(channel);
    let req = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    };
    let mut resp = r
        .server_reflection_info(tokio_stream::iter(vec![req]))
        .await
        .unwrap()
        .into_inner();
    let msg = resp.message().await.unwrap().unwrap();
    let Some(MessageResponse::ListServicesResponse(list)) = msg.message_response else {
        panic!("unexpected {msg:?}")
    };
    let names: Vec<String> = list.service.into_iter().map(|s| s.name).collect();
    for want in [
        "smefin.v1.MatchingService",
        "grpc.health.v1.Health",
        "grpc.reflection.v1.ServerReflection",
    ] {
        assert!(names.iter().any(|n| n == want), "{want} not in {names:?}");
    }
    // the health descriptor is resolvable too
    let req = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::FileContainingSymbol(
            "grpc.health.v1.Health".into(),
        )),
    };
    let mut resp = r
        .server_reflection_info(tokio_stream::iter(vec![req]))
        .await
        .unwrap()
        .into_inner();
    let msg = resp.message().await.unwrap().unwrap();
    assert!(
        matches!(
            msg.message_response,
            Some(MessageResponse::FileDescriptorResponse(_))
        ),
        "{msg:?}"
    );
    srv.shutdown().await;
}

#[tokio::test]
async fn oversized_message_is_rejected_not_crashed() {
    let mut cfg = smefin::config::Config::default();
    cfg.server.max_message_bytes = 1024;
    let srv = common::start_with(cfg).await;
    let mut c = MatchingServiceClient::connect(srv.url()).await.unwrap();
    let mut p = profile();
    p.name = "企".repeat(2000);
    let e = c
        .match_enterprise(pb::MatchEnterpriseRequest {
            profile: Some(p),
            as_of: String::new(),
            product_ids: vec![],
            view: 0,
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::OutOfRange);
    // the server keeps serving
    let ok = c
        .match_enterprise(pb::MatchEnterpriseRequest {
            profile: Some(profile()),
            as_of: "2024-06-01".into(),
            product_ids: vec![],
            view: 0,
        })
        .await;
    assert!(ok.is_ok());
    srv.shutdown().await;
}

/// A registry streamed to MatchRegistry: the counts are the library's, one
/// invalid profile is counted, not fatal, and the report comes back.
#[tokio::test]
async fn match_registry_counts_a_streamed_registry() {
    use smefin::catalog::Catalog;
    use smefin::enterprise::Profile;
    use smefin::matching::{MatchOptions, MatchStatus, match_profile};
    let srv = common::start().await;
    let mut c = MatchingServiceClient::connect(srv.url()).await.unwrap();
    let firms: Vec<pb::EnterpriseProfile> = (0..60)
        .map(|i| {
            let mut p = profile();
            p.employees = Some(5 + 9 * i);
            p.region_code = Some(["360102", "360402", "360702"][i as usize % 3].into());
            if i % 4 == 0 {
                p.tax_credit_grade = None;
            }
            p
        })
        .collect();
    let mut bad = profile();
    bad.annual_revenue = Some("一些钱".into());
    let mut reqs: Vec<pb::MatchRegistryRequest> = firms
        .iter()
        .map(|p| pb::MatchRegistryRequest {
            profile: Some(p.clone()),
            ..Default::default()
        })
        .collect();
    reqs.insert(
        7,
        pb::MatchRegistryRequest {
            profile: Some(bad),
            ..Default::default()
        },
    );
    reqs[0].as_of = "2024-06-01".into();
    reqs[0].report = true;
    let r = c
        .match_registry(tokio_stream::iter(reqs.clone()))
        .await
        .unwrap()
        .into_inner();
    assert_eq!((r.firms, r.invalid), (60, 1));
    // the library's own counts
    let catalog = Catalog::builtin();
    let opts = MatchOptions::on("2024-06-01".parse().unwrap());
    for pc in &r.products {
        let mut want = [0u64; 3];
        for f in &firms {
            let p = Profile::from_raw_at(f.clone().into(), "").unwrap();
            let rep = match_profile(&catalog, &p, &opts).unwrap();
            let status = rep
                .eligible
                .iter()
                .chain(&rep.needs_info)
                .chain(&rep.ineligible)
                .find(|m| m.product_id == pc.product_id)
                .unwrap()
                .status;
            want[match status {
                MatchStatus::Eligible => 0,
                MatchStatus::NeedsInfo => 1,
                MatchStatus::Ineligible => 2,
            }] += 1;
        }
        assert_eq!(
            [pc.eligible, pc.needs_info, pc.ineligible],
            want,
            "{}",
            pc.product_id
        );
    }
    assert!(
        r.missing_fields
            .iter()
            .any(|f| f.field == "tax_credit_grade" && f.firms == 15)
    );
    assert!(r.report_html.contains("企业名录匹配报告") && r.report_html.contains("60 家企业"));
    // an empty registry: nothing counted, nothing invented
    let r = c
        .match_registry(tokio_stream::iter(Vec::<pb::MatchRegistryRequest>::new()))
        .await
        .unwrap()
        .into_inner();
    assert_eq!((r.firms, r.invalid), (0, 0));
    assert!(r.products.is_empty() && r.missing_fields.is_empty() && r.report_html.is_empty());
    // a malformed first as_of is INVALID_ARGUMENT naming it
    let e = c
        .match_registry(tokio_stream::iter(vec![pb::MatchRegistryRequest {
            profile: Some(profile()),
            as_of: "2024-13-45".into(),
            report: true,
        }]))
        .await
        .unwrap_err();
    assert_eq!(e.code(), tonic::Code::InvalidArgument);
    assert_eq!(common::violation_fields(&e), vec!["as_of"]);
    // as_of belongs to the first message only
    let mut late = reqs;
    late[3].as_of = "2024-01-01".into();
    let e = c
        .match_registry(tokio_stream::iter(late))
        .await
        .unwrap_err();
    assert_eq!(e.code(), tonic::Code::InvalidArgument);
    assert_eq!(common::violation_fields(&e), vec!["as_of"]);
    srv.shutdown().await;
}

//! Product-by-product tests of the built-in catalogue: for each product a
//! profile that passes, one that fails (with the suggestion it gets) and one
//! with missing data.

use super::*;
use crate::catalog::Catalog;
use rust_decimal::dec;

fn date(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

/// A small Nanchang manufacturer with everything known, as JSON, overridden
/// by `extra` (a JSON object whose keys replace the base's).
fn profile(extra: &str) -> Profile {
    let mut base: serde_json::Map<String, serde_json::Value> = serde_json::from_str(
        r#"{
        "name": "测试企业", "credit_code": "91430111MA4L41YT1U",
        "region_code": "360102", "industry_code": "C3562", "employees": 40,
        "annual_revenue": "1500万", "total_assets": "2000万", "established": "2015-06-01",
        "certifications": [], "in_industrial_park": false, "is_cultural_tourism": false,
        "tax_credit_grade": "B", "has_bank_loans": true, "new_eligible_hires": 2,
        "wage_or_social_insurance_arrears": false, "has_registered_ip": false, "has_receivables": false,
        "request": {"amount": "200万", "term_months": 12, "purpose": "working_capital"}
    }"#,
    )
    .unwrap();
    let extra: serde_json::Map<String, serde_json::Value> = serde_json::from_str(extra).unwrap();
    for (k, v) in extra {
        if v.is_null() {
            base.remove(&k);
        } else {
            base.insert(k, v);
        }
    }
    Profile::from_json(&serde_json::Value::Object(base).to_string()).unwrap()
}

fn run(p: &Profile, as_of: &str) -> MatchReport {
    match_profile(&Catalog::builtin(), p, &MatchOptions::on(date(as_of))).unwrap()
}

fn find<'r>(r: &'r MatchReport, id: &str) -> &'r ProductMatchReport {
    r.eligible
        .iter()
        .chain(&r.needs_info)
        .chain(&r.ineligible)
        .find(|m| m.product_id == id)
        .unwrap_or_else(|| panic!("{id} not in report"))
}

fn status(p: &Profile, id: &str) -> MatchStatus {
    find(&run(p, "2024-06-01"), id).status
}

fn criterion<'r>(m: &'r ProductMatchReport, code: &str) -> &'r CriterionReport {
    m.criteria
        .iter()
        .find(|c| c.code == code)
        .unwrap_or_else(|| panic!("{code} missing in {}", m.product_id))
}

#[test]
fn gongxintong() {
    assert_eq!(status(&profile("{}"), "gongxintong"), MatchStatus::Eligible);
    // a retailer is not industrial
    let r = run(
        &profile(r#"{"industry_code": "F5211", "employees": 20, "annual_revenue": "500万"}"#),
        "2024-06-01",
    );
    let m = find(&r, "gongxintong");
    assert_eq!(m.status, MatchStatus::Ineligible);
    assert_eq!(criterion(m, "INDUSTRY").outcome, Outcome::Fail);
    // outside Jiangxi
    assert_eq!(
        status(&profile(r#"{"region_code": "430111"}"#), "gongxintong"),
        MatchStatus::Ineligible
    );
    // a large industrial firm: told why (the thresholds), never to shrink
    let r = run(
        &profile(r#"{"employees": 1200, "annual_revenue": "5亿"}"#),
        "2024-06-01",
    );
    let m = find(&r, "gongxintong");
    assert_eq!(m.status, MatchStatus::Ineligible);
    assert!(m.suggestions.is_empty(), "{:?}", m.suggestions);
    let c = criterion(m, "SIZE_CLASS");
    assert!(c.message.contains("企业规模为大型"), "{}", c.message);
    assert!(c.message.contains("1000"), "{}", c.message);
    // unknown region
    let m = find(
        &run(&profile(r#"{"region_code": null}"#), "2024-06-01"),
        "gongxintong",
    )
    .clone();
    assert_eq!(m.status, MatchStatus::NeedsInfo);
    assert_eq!(criterion(&m, "REGION").missing_field, "region_code");
    // a province-level code cannot tell the county but is inside Jiangxi
    assert_eq!(
        status(&profile(r#"{"region_code": "36"}"#), "gongxintong"),
        MatchStatus::Eligible
    );
}

#[test]
fn chuangye_new_hire_ratio_message_and_suggestion() {
    // 3 of 24 = 12.5%
    let p = profile(r#"{"employees": 24, "new_eligible_hires": 3, "annual_revenue": "800万"}"#);
    let r = run(&p, "2024-06-01");
    // in Jiangxi the regional variant replaces the national product
    assert!(
        r.eligible
            .iter()
            .chain(&r.ineligible)
            .all(|m| m.product_id != "chuangye_danbao_xiaowei")
    );
    let m = find(&r, "chuangye_danbao_xiaowei_jiangxi");
    assert_eq!(m.status, MatchStatus::Ineligible);
    let c = criterion(m, "NEW_HIRE_RATIO");
    assert_eq!(c.message, "新招用重点群体人数占比 12.5%，低于 15% 的要求");
    assert_eq!(m.suggestions.len(), 1);
    assert_eq!(m.suggestions[0].action, "HIRE_MORE");
    assert_eq!(m.suggestions[0].target, "4");
    assert!(
        m.suggestions[0]
            .message
            .starts_with("再招用 1 名重点群体人员"),
        "{}",
        m.suggestions[0].message
    );

    // 4 of 25 = 16%: eligible, offered with the subsidy
    let p = profile(r#"{"employees": 25, "new_eligible_hires": 4, "annual_revenue": "800万"}"#);
    let m = find(&run(&p, "2024-06-01"), "chuangye_danbao_xiaowei_jiangxi").clone();
    assert_eq!(m.status, MatchStatus::Eligible);
    let o = m.offer.unwrap();
    // LPR 3.45% + 50bp = 3.95%; borrower pays 1.95% on 200万
    assert_eq!(o.rate.as_deref(), Some("0.0395"));
    assert_eq!(o.annual_cost.unwrap().to_fen_string(), "39000.00");

    // above 100 staff the ratio is 8%: 9 of 110 = 8.18%
    let p = profile(r#"{"employees": 110, "new_eligible_hires": 9, "annual_revenue": "1500万"}"#);
    assert_eq!(
        status(&p, "chuangye_danbao_xiaowei_jiangxi"),
        MatchStatus::Eligible
    );

    // medium-sized firms are out
    let p = profile(r#"{"employees": 400, "new_eligible_hires": 100, "annual_revenue": "5000万"}"#);
    assert_eq!(
        status(&p, "chuangye_danbao_xiaowei_jiangxi"),
        MatchStatus::Ineligible
    );

    // missing hires → NEEDS_INFO naming the field
    let m = find(
        &run(&profile(r#"{"new_eligible_hires": null}"#), "2024-06-01"),
        "chuangye_danbao_xiaowei_jiangxi",
    )
    .clone();
    assert_eq!(m.status, MatchStatus::NeedsInfo);
    assert_eq!(
        criterion(&m, "NEW_HIRE_RATIO").missing_field,
        "new_eligible_hires"
    );

    // arrears exclude
    let p = profile(
        r#"{"employees": 20, "new_eligible_hires": 5, "wage_or_social_insurance_arrears": true}"#,
    );
    let m = find(&run(&p, "2024-06-01"), "chuangye_danbao_xiaowei_jiangxi").clone();
    assert_eq!(m.status, MatchStatus::Ineligible);
    assert_eq!(m.suggestions[0].action, "CLEAR_ARREARS");
}

#[test]
fn chuangye_national_outside_jiangxi() {
    let p = profile(r#"{"region_code": "430111", "employees": 20, "new_eligible_hires": 3}"#);
    let r = run(&p, "2024-06-01");
    assert_eq!(
        find(&r, "chuangye_danbao_xiaowei").status,
        MatchStatus::Eligible
    );
    assert_eq!(
        find(&r, "chuangye_danbao_xiaowei_jiangxi").status,
        MatchStatus::Ineligible
    );
}

#[test]
fn caiyuan_xindaitong() {
    let m = find(&run(&profile("{}"), "2024-06-01"), "caiyuan_xindaitong").clone();
    assert_eq!(m.status, MatchStatus::Ineligible);
    // a firm is not told to move into a park: the reason stands alone
    assert!(m.suggestions.is_empty(), "{:?}", m.suggestions);
    let p = profile(r#"{"in_industrial_park": true}"#);
    let m = find(&run(&p, "2024-06-01"), "caiyuan_xindaitong").clone();
    assert_eq!(m.status, MatchStatus::Eligible);
    // 200万 × (3.45% + 1%) = 89000; fee 1% = 20000
    let o = m.offer.unwrap();
    assert_eq!(o.annual_interest.unwrap().to_fen_string(), "89000.00");
    assert_eq!(o.annual_guarantee_fee.unwrap().to_fen_string(), "20000.00");
    assert_eq!(o.annual_cost.unwrap().to_fen_string(), "109000.00");
    // fixed-asset purpose is not covered
    let p = profile(
        r#"{"in_industrial_park": true, "request": {"amount": "200万", "purpose": "fixed_assets"}}"#,
    );
    let m = find(&run(&p, "2024-06-01"), "caiyuan_xindaitong").clone();
    assert_eq!(m.status, MatchStatus::Ineligible);
    // nor to change what its loan is for
    assert!(m.suggestions.is_empty(), "{:?}", m.suggestions);
    // unknown park status
    let p = profile(r#"{"in_industrial_park": null}"#);
    assert_eq!(status(&p, "caiyuan_xindaitong"), MatchStatus::NeedsInfo);
    // a term above the product's 12 months bounds the offer, as an amount
    // above its cap does: eligible, quoted at 12 months, with a note
    let p = profile(
        r#"{"in_industrial_park": true, "request": {"amount": "100万", "term_months": 24, "purpose": "working_capital"}}"#,
    );
    let m = find(&run(&p, "2024-06-01"), "caiyuan_xindaitong").clone();
    assert_eq!(m.status, MatchStatus::Eligible);
    assert!(m.criteria.iter().all(|c| c.code != "TERM"));
    let o = m.offer.unwrap();
    assert_eq!(o.term_months, Some(12));
    assert!(
        o.notes
            .iter()
            .any(|n| n.contains("申请期限24个月超过产品上限12个月")),
        "{:?}",
        o.notes
    );
}

#[test]
fn kedaitong_requires_tech_certification() {
    let m = find(&run(&profile("{}"), "2024-06-01"), "kedaitong").clone();
    assert_eq!(m.status, MatchStatus::Ineligible);
    assert_eq!(m.suggestions[0].action, "OBTAIN_CERTIFICATION");
    assert_eq!(
        m.suggestions[0].target,
        "CERTIFICATION_TECH_SME|CERTIFICATION_HIGH_TECH"
    );
    assert_eq!(
        status(
            &profile(r#"{"certifications": ["high_tech"]}"#),
            "kedaitong"
        ),
        MatchStatus::Eligible
    );
    assert_eq!(
        status(
            &profile(
                r#"{"certifications": ["tech_sme"], "annual_revenue": null, "employees": 500}"#
            ),
            "kedaitong"
        ),
        MatchStatus::NeedsInfo
    );
}

#[test]
fn culture_and_tourism_loans() {
    for id in ["wenqidai", "wenlvdai"] {
        assert_eq!(status(&profile("{}"), id), MatchStatus::Ineligible, "{id}");
        // derived from the industry code when the flag is absent
        let p = profile(r#"{"industry_code": "R8810", "is_cultural_tourism": null}"#);
        assert_eq!(status(&p, id), MatchStatus::Eligible, "{id}");
    }
    // 文旅贷 at LPR + 150bp: 200万 × 4.95%
    let p = profile(r#"{"industry_code": "R8810", "is_cultural_tourism": null}"#);
    let o = find(&run(&p, "2024-06-01"), "wenlvdai")
        .offer
        .clone()
        .unwrap();
    assert_eq!(o.annual_cost.unwrap().to_fen_string(), "99000.00");
}

#[test]
fn puhui_credit_loan_tax_grade() {
    assert_eq!(
        status(&profile("{}"), "puhui_xiaowei_xinyong"),
        MatchStatus::Eligible
    );
    let m = find(
        &run(&profile(r#"{"tax_credit_grade": "C"}"#), "2024-06-01"),
        "puhui_xiaowei_xinyong",
    )
    .clone();
    assert_eq!(m.status, MatchStatus::Ineligible);
    assert_eq!(m.suggestions[0].target, "TAX_CREDIT_GRADE_B");
    assert_eq!(
        status(
            &profile(r#"{"tax_credit_grade": "M"}"#),
            "puhui_xiaowei_xinyong"
        ),
        MatchStatus::Ineligible
    );
    assert_eq!(
        status(
            &profile(r#"{"tax_credit_grade": null}"#),
            "puhui_xiaowei_xinyong"
        ),
        MatchStatus::NeedsInfo
    );
}

#[test]
fn first_loan_and_renewal_are_exclusive() {
    let with_loans = run(&profile("{}"), "2024-06-01");
    assert_eq!(find(&with_loans, "shoudai").status, MatchStatus::Ineligible);
    assert_eq!(
        find(&with_loans, "wuhuanben_xudai").status,
        MatchStatus::Eligible
    );
    let first = run(&profile(r#"{"has_bank_loans": false}"#), "2024-06-01");
    assert_eq!(find(&first, "shoudai").status, MatchStatus::Eligible);
    let m = find(&first, "wuhuanben_xudai");
    assert_eq!(m.status, MatchStatus::Ineligible);
    // having borrowed before is not advice
    assert!(m.suggestions.is_empty(), "{:?}", m.suggestions);
    assert_eq!(
        status(&profile(r#"{"has_bank_loans": null}"#), "shoudai"),
        MatchStatus::NeedsInfo
    );
    // 无还本续贷 is for 小微企业 (赣中小领字〔2023〕3号 第（三）条): a medium firm is not
    let medium = profile(r#"{"employees": 400, "annual_revenue": "5000万"}"#);
    assert_eq!(status(&medium, "wuhuanben_xudai"), MatchStatus::Ineligible);
}

#[test]
fn pledge_financing() {
    assert_eq!(
        status(&profile("{}"), "yingshou_zhiya"),
        MatchStatus::Ineligible
    );
    assert_eq!(
        status(&profile(r#"{"has_receivables": true}"#), "yingshou_zhiya"),
        MatchStatus::Eligible
    );
    assert_eq!(
        status(&profile(r#"{"has_receivables": null}"#), "yingshou_zhiya"),
        MatchStatus::NeedsInfo
    );
    assert_eq!(
        status(&profile("{}"), "zhishichanquan_zhiya"),
        MatchStatus::Ineligible
    );
    assert_eq!(
        status(
            &profile(r#"{"has_registered_ip": true}"#),
            "zhishichanquan_zhiya"
        ),
        MatchStatus::Eligible
    );
}

#[test]
fn government_guarantee() {
    // In Jiangxi from 2023 the regional variant (fee ≤ 1%) replaces the
    // national tiers.
    let r = run(&profile("{}"), "2024-06-01");
    assert_eq!(
        find(&r, "zhengfu_rongzi_danbao_jiangxi").status,
        MatchStatus::Eligible
    );
    assert!(
        r.eligible
            .iter()
            .chain(&r.needs_info)
            .chain(&r.ineligible)
            .all(|m| m.product_id != "zhengfu_rongzi_danbao")
    );
    // outside Jiangxi the national product stays
    let p = profile(r#"{"region_code": "110101"}"#);
    assert_eq!(status(&p, "zhengfu_rongzi_danbao"), MatchStatus::Eligible);
    // medium firms are outside the 小微 focus
    let p = profile(r#"{"employees": 400, "annual_revenue": "5000万"}"#);
    assert_eq!(
        status(&p, "zhengfu_rongzi_danbao_jiangxi"),
        MatchStatus::Ineligible
    );
}

/// 赣中小领字〔2023〕3号: "政府性融资担保机构的担保费率不超过1%". A Jiangxi firm
/// asking for guaranteed credit is quoted at most 1%, whatever the amount;
/// a firm outside Jiangxi keeps the national 1.5% above 500万.
#[test]
fn a_jiangxi_firm_is_never_quoted_a_guarantee_fee_above_one_percent() {
    for amount in [
        "1万",
        "300万",
        "500万",
        "500.01万",
        "800万",
        "1000万",
        "5000万",
    ] {
        let p = profile(&format!(
            r#"{{"in_industrial_park": true, "request": {{"amount": "{amount}", "term_months": 12, "purpose": "working_capital"}}}}"#
        ));
        let r = run(&p, "2024-06-01");
        let guaranteed: Vec<_> = r
            .eligible
            .iter()
            .filter(|m| m.kind == crate::catalog::ProductKind::Guarantee)
            .collect();
        assert!(guaranteed.len() >= 2, "{amount}: {guaranteed:?}");
        for m in guaranteed {
            let o = m.offer.as_ref().unwrap();
            let fee = o.annual_guarantee_fee.unwrap().0;
            let lent = o.amount.unwrap().0;
            assert!(
                fee <= lent * dec!(0.01),
                "{amount}: {} quotes {fee} on {lent}",
                m.product_id
            );
        }
    }
    let p = profile(
        r#"{"region_code": "110101", "request": {"amount": "800万", "term_months": 12, "purpose": "working_capital"}}"#,
    );
    let r = run(&p, "2024-06-01");
    let o = find(&r, "zhengfu_rongzi_danbao").offer.clone().unwrap();
    assert_eq!(o.annual_guarantee_fee.unwrap().0, dec!(120000));
}

#[test]
fn nanchang_awards_in_force_only_to_2025_09_01() {
    let p = profile(
        r#"{"certification_dates": [
            {"certification": "little_giant_national", "designated": "2022-07-01"},
            {"certification": "zjtx_provincial", "designated": "2021-01-01"}]}"#,
    );
    let r = run(&p, "2024-06-01");
    let m = find(&r, "award_little_giant_national");
    assert_eq!(m.status, MatchStatus::Eligible);
    assert_eq!(
        m.offer.as_ref().unwrap().benefit.as_deref(),
        Some("一次性奖励最高30万元")
    );
    assert_eq!(
        find(&r, "award_zjtx_provincial").status,
        MatchStatus::Eligible
    );
    assert_eq!(
        find(&r, "award_zjtx_nanchang").status,
        MatchStatus::Ineligible
    );
    // awards rank after credit offers, largest first
    let kinds: Vec<bool> = r.eligible.iter().map(|m| m.kind.is_credit()).collect();
    let first_award = kinds.iter().position(|c| !c).unwrap();
    assert!(kinds[first_award..].iter().all(|c| !c));
    // outside Nanchang
    let p = profile(
        r#"{"region_code": "360402", "certification_dates": [{"certification": "little_giant_national", "designated": "2022-07-01"}]}"#,
    );
    assert_eq!(
        status(&p, "award_little_giant_national"),
        MatchStatus::Ineligible
    );
    // after the measures expired the Nanchang awards are not listed
    let r = run(&p, "2026-01-01");
    let c = Catalog::builtin();
    assert!(
        r.eligible
            .iter()
            .chain(&r.ineligible)
            .chain(&r.needs_info)
            .all(|m| c.product(&m.product_id).unwrap().regions != ["3601"])
    );
}

/// 洪府办发〔2022〕109号: "本政策措施适用于2021年1月1日以来符合条件的企业和项目".
#[test]
fn nanchang_awards_count_designations_since_2021_only() {
    let dated = |d: &str| {
        profile(&format!(
            r#"{{"certification_dates": [{{"certification": "little_giant_national", "designated": "{d}"}}]}}"#
        ))
    };
    let id = "award_little_giant_national";
    assert_eq!(status(&dated("2021-01-01"), id), MatchStatus::Eligible);
    let r = run(&dated("2020-12-31"), "2024-06-01");
    let m = find(&r, id);
    assert_eq!(m.status, MatchStatus::Ineligible);
    let c = criterion(m, "CERTIFICATION");
    assert!(
        c.message.contains("2020-12-31") && c.message.contains("早于"),
        "{}",
        c.message
    );
    assert!(m.suggestions.is_empty(), "{:?}", m.suggestions);
    // held, date unknown: the award needs the date
    let p = profile(r#"{"certifications": ["little_giant_national"]}"#);
    let r = run(&p, "2024-06-01");
    let m = find(&r, id);
    assert_eq!(m.status, MatchStatus::NeedsInfo);
    assert_eq!(
        criterion(m, "CERTIFICATION").missing_field,
        "certification_dates"
    );
    // a loan that only needs the certification does not need its date
    let p = profile(r#"{"certifications": ["high_tech"]}"#);
    assert_eq!(status(&p, "kedaitong"), MatchStatus::Eligible);
    // not held at all: ineligible; a national title is won in competition,
    // so no suggestion to win it
    let r = run(&profile("{}"), "2024-06-01");
    let m = find(&r, id);
    assert_eq!(m.status, MatchStatus::Ineligible);
    assert!(m.suggestions.is_empty(), "{:?}", m.suggestions);
}

/// A designation dated after the match date is not held on that date, for
/// awards that count designations from a date and for loans that only need
/// the certification; the day itself counts.
#[test]
fn a_designation_after_the_match_date_is_not_yet_held() {
    let dated = |cert: &str, d: &str| {
        profile(&format!(
            r#"{{"certification_dates": [{{"certification": "{cert}", "designated": "{d}"}}]}}"#
        ))
    };
    let award = "award_little_giant_national";
    let on_the_day = dated("little_giant_national", "2024-06-01");
    assert_eq!(status(&on_the_day, award), MatchStatus::Eligible);
    for d in ["2024-06-02", "9999-12-31"] {
        let r = run(&dated("little_giant_national", d), "2024-06-01");
        let m = find(&r, award);
        assert_eq!(m.status, MatchStatus::Ineligible, "{d}");
        let c = criterion(m, "CERTIFICATION");
        assert!(
            c.message.contains(d) && c.message.contains("晚于匹配日期 2024-06-01"),
            "{}",
            c.message
        );
        assert!(m.suggestions.is_empty(), "{:?}", m.suggestions);
    }
    // 科贷通 needs a tech certification, held on the match date or not
    assert_eq!(
        status(&dated("high_tech", "2024-06-01"), "kedaitong"),
        MatchStatus::Eligible
    );
    let r = run(&dated("high_tech", "2024-06-02"), "2024-06-01");
    let m = find(&r, "kedaitong");
    assert_eq!(m.status, MatchStatus::Ineligible);
    assert!(
        criterion(m, "CERTIFICATION")
            .message
            .contains("晚于匹配日期")
    );
    // matched on a later date, the same designation counts
    assert_eq!(
        find(
            &run(&dated("high_tech", "2024-06-02"), "2024-06-02"),
            "kedaitong"
        )
        .status,
        MatchStatus::Eligible
    );
}

/// 洪府办发〔2022〕109号 第8、9条: platforms and bases, 30万 / 20万 / 10万.
#[test]
fn nanchang_platform_and_base_awards() {
    for (cert, id, amount) in [
        (
            "service_platform_national",
            "award_service_platform_national",
            "30万",
        ),
        (
            "service_platform_provincial",
            "award_service_platform_provincial",
            "20万",
        ),
        (
            "innovation_base_nanchang",
            "award_innovation_base_nanchang",
            "10万",
        ),
    ] {
        let p = profile(&format!(
            r#"{{"certification_dates": [{{"certification": "{cert}", "designated": "2023-03-01"}}]}}"#
        ));
        let r = run(&p, "2024-06-01");
        let m = find(&r, id);
        assert_eq!(m.status, MatchStatus::Eligible, "{id}");
        let o = m.offer.as_ref().unwrap();
        assert_eq!(
            o.benefit.as_deref(),
            Some(format!("一次性奖励最高{amount}元").as_str()),
            "{id}"
        );
    }
}

#[test]
fn first_batch_insurance_needs_a_listed_material_and_continues_after_2022() {
    let r = run(&profile("{}"), "2022-06-01");
    assert_eq!(find(&r, "shoupici_baoxian").status, MatchStatus::NeedsInfo);
    let p = profile(r#"{"makes_listed_new_material": true}"#);
    for d in ["2022-06-01", "2023-06-01", "2025-06-01"] {
        assert_eq!(
            find(&run(&p, d), "shoupici_baoxian").status,
            MatchStatus::Eligible,
            "{d}"
        );
    }
    let p = profile(r#"{"makes_listed_new_material": false}"#);
    assert_eq!(status(&p, "shoupici_baoxian"), MatchStatus::Ineligible);
    // a manufacturer is no longer enough by itself
    let p = profile(r#"{"makes_listed_major_equipment": true}"#);
    assert_eq!(status(&p, "shoutaitao_baoxian"), MatchStatus::Eligible);
}

/// 工信通 was running when the 2021 work points (2021-04-15) asked to grow it;
/// what changed on 2022-04-27 is its scale, a dated fact.
#[test]
fn gongxintong_before_2022_with_its_dated_scale() {
    let r = run(&profile("{}"), "2021-06-01");
    assert_eq!(find(&r, "gongxintong").status, MatchStatus::Eligible);
    let c = Catalog::builtin();
    let g = c.product("gongxintong").unwrap();
    let scale = |d: &str| {
        g.facts_on(date(d))
            .into_iter()
            .find(|f| f.name == "信贷规模")
            .map(|f| f.value.clone())
    };
    assert_eq!(scale("2021-06-01").as_deref(), Some("3亿"));
    assert_eq!(scale("2022-04-26").as_deref(), Some("3亿"));
    assert_eq!(scale("2022-04-27").as_deref(), Some("6亿"));
    assert_eq!(scale("2021-04-14"), None);
}

#[test]
fn eligible_credit_offers_are_ranked_cheapest_first() {
    let p = profile(
        r#"{"in_industrial_park": true, "has_receivables": true, "certifications": ["high_tech"]}"#,
    );
    let r = run(&p, "2024-06-01");
    let costs: Vec<Decimal> = r
        .eligible
        .iter()
        .filter(|m| m.kind.is_credit())
        .map(|m| m.offer.as_ref().unwrap().annual_cost.unwrap().0)
        .collect();
    assert!(costs.len() >= 5, "{costs:?}");
    assert!(costs.windows(2).all(|w| w[0] <= w[1]), "{costs:?}");
}

#[test]
fn lpr_follows_the_match_date() {
    let p = profile(r#"{"in_industrial_park": true}"#);
    let a = run(&p, "2024-07-21");
    let b = run(&p, "2024-07-22");
    assert_eq!(a.lpr_1y.as_deref(), Some("0.0345"));
    assert_eq!(b.lpr_1y.as_deref(), Some("0.0335"));
    let cost = |r: &MatchReport| {
        find(r, "gongxintong")
            .offer
            .clone()
            .unwrap()
            .annual_cost
            .unwrap()
            .0
    };
    assert_eq!(cost(&a) - cost(&b), dec!(2000)); // 200万 × 10bp
    let err = match_profile(
        &Catalog::builtin(),
        &p,
        &MatchOptions::on(date("2020-01-01")),
    )
    .unwrap_err();
    assert!(matches!(err, MatchError::NoLpr { .. }));
}

#[test]
fn unknown_product_filter_is_an_error() {
    let p = profile("{}");
    let opts = MatchOptions {
        as_of: date("2024-06-01"),
        product_ids: vec!["nope".into()],
    };
    assert_eq!(
        match_profile(&Catalog::builtin(), &p, &opts).unwrap_err(),
        MatchError::UnknownProduct("nope".into())
    );
    let opts = MatchOptions {
        as_of: date("2024-06-01"),
        product_ids: vec!["kedaitong".into()],
    };
    let r = match_profile(&Catalog::builtin(), &p, &opts).unwrap();
    assert_eq!(
        r.eligible.len() + r.ineligible.len() + r.needs_info.len(),
        1
    );
}

#[test]
fn empty_profile_needs_info_everywhere_but_fails_nothing_it_cannot_know() {
    let p = Profile::from_json("{}").unwrap();
    let r = run(&p, "2024-06-01");
    // Nothing is known, so nothing fails: an absent certification list is
    // unknown too, not "none held".
    assert!(r.ineligible.is_empty(), "{:?}", r.ineligible);
    assert!(r.eligible.is_empty());
    assert!(r.needs_info.len() >= 20);
    // every product says what to supply
    for m in &r.needs_info {
        assert!(
            m.suggestions
                .iter()
                .all(|s| s.kind == criteria::SuggestionKind::SupplyInformation),
            "{}: {:?}",
            m.product_id,
            m.suggestions
        );
        assert!(!m.suggestions.is_empty(), "{}", m.product_id);
    }
    assert_eq!(r.classification.missing_fields, vec!["industry_code"]);
}

/// The financing models the seed texts ask banks to offer: who qualifies is
/// as the texts say it.
#[test]
fn financing_models_of_the_seed_texts() {
    // 仓单/订单质押 (2021 work points 第17条): either pledge will do
    let id = "cangdan_dingdan_zhiya";
    assert_eq!(status(&profile("{}"), id), MatchStatus::NeedsInfo);
    let p = profile(r#"{"has_warehouse_receipts": false, "has_purchase_orders": true}"#);
    assert_eq!(status(&p, id), MatchStatus::Eligible);
    let p = profile(r#"{"has_warehouse_receipts": false, "has_purchase_orders": false}"#);
    let r = run(&p, "2024-06-01");
    let m = find(&r, id);
    assert_eq!(m.status, MatchStatus::Ineligible);
    assert_eq!(
        m.suggestions[0].field,
        "has_warehouse_receipts|has_purchase_orders"
    );
    // one known true decides even when the other is unknown
    let p = profile(r#"{"has_warehouse_receipts": true}"#);
    assert_eq!(status(&p, id), MatchStatus::Eligible);
    // 展期/续贷 (2023 第（三）条): an existing loan, for renewal
    let renew = r#"{"request": {"amount": "200万", "term_months": 12, "purpose": "renewal"}}"#;
    assert_eq!(
        status(&profile(renew), "zhanqi_xudai"),
        MatchStatus::Eligible
    );
    assert_eq!(
        status(&profile("{}"), "zhanqi_xudai"),
        MatchStatus::Ineligible
    );
    // 随借随还 from 2023 only
    let r = run(&profile("{}"), "2022-06-01");
    assert!(r.eligible.iter().all(|m| m.product_id != "suijie_suihuan"));
    assert_eq!(
        status(&profile("{}"), "suijie_suihuan"),
        MatchStatus::Eligible
    );
    // listing award: a listed firm
    assert_eq!(
        status(&profile("{}"), "award_shangshi"),
        MatchStatus::NeedsInfo
    );
    let p = profile(r#"{"is_listed": true}"#);
    assert_eq!(status(&p, "award_shangshi"), MatchStatus::Eligible);
}

/// Every field a criterion or a suggestion names, over the 200-firm test
/// registry, the lone-field profiles below and the whole built-in
/// catalogue, has a Chinese label, so no renderer shows a raw code.
#[test]
fn every_field_a_criterion_names_has_a_label() {
    let registry = include_str!("../../tests/data/firms.jsonl");
    let mut profiles: Vec<Profile> = registry
        .lines()
        .filter_map(|l| Profile::from_json(l).ok())
        .collect();
    assert!(profiles.len() >= 150, "{} firms read", profiles.len());
    // (an empty profile misses every field a criterion can ask for)
    profiles.push(Profile::from_json("{}").unwrap());
    profiles.push(profile(
        r#"{"request": null, "tax_credit_grade": null, "established": null}"#,
    ));
    let mut keys = std::collections::BTreeSet::new();
    for p in &profiles {
        let r = run(p, "2024-07-01");
        for m in r.eligible.iter().chain(&r.needs_info).chain(&r.ineligible) {
            for c in &m.criteria {
                if !c.missing_field.is_empty() {
                    keys.insert(c.missing_field.clone());
                }
            }
            for s in &m.suggestions {
                keys.insert(s.field.clone());
            }
        }
    }
    assert!(keys.len() >= 10, "{keys:?}");
    let unlabelled: Vec<&String> = keys
        .iter()
        .filter(|k| {
            k.split(['|', ','])
                .map(str::trim)
                .any(|part| crate::enterprise::field::label(part).is_none())
        })
        .collect();
    assert!(
        unlabelled.is_empty(),
        "fields without a label: {unlabelled:?}"
    );
}

/// Removing a field never makes a criterion fail that passed, nor pass one
/// that failed: what is absent is unknown, and a criterion that needed it
/// answers NEEDS_INFO naming it. Tried on every field of every firm of the
/// test registry.
#[test]
fn unknown_is_unknown_for_every_field() {
    let registry = include_str!("../../tests/data/firms.jsonl");
    let catalog = Catalog::builtin();
    let opts = MatchOptions::on(date("2024-07-01"));
    // (a regional variant replaces its base product where the region is
    // known, so the products present are compared)
    type Outcomes = std::collections::BTreeMap<(String, usize), (String, Outcome, String)>;
    let outcomes = |p: &Profile| -> Outcomes {
        let cls = p.classify();
        let ev = evaluate(&catalog, p, &cls, &opts).unwrap().products;
        ev.iter()
            .flat_map(|e| {
                e.criteria.iter().enumerate().map(|(i, c)| {
                    (
                        (e.product.id.clone(), i),
                        (c.code.to_string(), c.outcome, c.missing.to_string()),
                    )
                })
            })
            .collect()
    };
    let mut tried = 0;
    for line in registry.lines().take(60) {
        let full: serde_json::Map<String, serde_json::Value> = serde_json::from_str(line).unwrap();
        let Ok(p) = Profile::from_json(line) else {
            continue;
        };
        let before = outcomes(&p);
        for key in full.keys().filter(|k| *k != "name") {
            let mut less = full.clone();
            less.remove(key);
            let Ok(q) = Profile::from_json(&serde_json::Value::Object(less).to_string()) else {
                continue;
            };
            tried += 1;
            let after = outcomes(&q);
            for (k, b) in &before {
                let Some(a) = after.get(k) else { continue };
                assert_eq!(a.0, b.0, "{k:?}: the same criterion");
                let changed = b.1 != a.1;
                assert!(
                    !changed || a.1 == Outcome::NeedsInfo,
                    "without `{key}`, {} {} went from {:?} to {:?}",
                    k.0,
                    a.0,
                    b.1,
                    a.1
                );
                if changed {
                    assert!(!a.2.is_empty(), "{} {} names what it needs", k.0, a.0);
                }
            }
        }
    }
    assert!(tried > 500, "{tried} profiles tried");
    // certifications: absent is unknown, an empty list is none held
    let unknown = profile(r#"{"certifications": null}"#);
    let m = find(&run(&unknown, "2024-06-01"), "kedaitong").clone();
    assert_eq!(m.status, MatchStatus::NeedsInfo);
    assert_eq!(
        criterion(&m, "CERTIFICATION").missing_field,
        "certifications"
    );
    let none = profile(r#"{"certifications": []}"#);
    assert_eq!(status(&none, "kedaitong"), MatchStatus::Ineligible);
    let none = profile(r#"{"certifications": null, "no_certifications": true}"#);
    assert_eq!(status(&none, "kedaitong"), MatchStatus::Ineligible);
    // a dated certification is known held even without the list
    let dated = profile(
        r#"{"certifications": null, "certification_dates": [{"certification": "high_tech", "designated": "2020-01-01"}]}"#,
    );
    assert_eq!(status(&dated, "kedaitong"), MatchStatus::Eligible);
    // and saying none while listing some is refused, naming the field
    let bad = r#"{"certifications": ["high_tech"], "no_certifications": true}"#;
    let e = Profile::from_json(bad).unwrap_err();
    assert_eq!(e.violations[0].field, "no_certifications");
}

/// Over the 200-firm registry: no suggestion asks a firm to shed staff or
/// revenue, grow, move, change what its loan is for or shorten its term,
/// or to win a title awarded by competition; every suggestion has a kind.
#[test]
fn no_advice_a_bureau_could_not_give() {
    let registry = include_str!("../../tests/data/firms.jsonl");
    let mut seen = std::collections::BTreeMap::<String, u32>::new();
    for line in registry.lines() {
        let Ok(p) = Profile::from_json(line) else {
            continue;
        };
        let r = run(&p, "2024-07-01");
        for m in r.eligible.iter().chain(&r.needs_info).chain(&r.ineligible) {
            for s in &m.suggestions {
                let action = criteria::Action::parse(&s.action)
                    .unwrap_or_else(|| panic!("{}: unknown action {}", m.product_id, s.action));
                assert_eq!(s.kind, action.kind());
                *seen.entry(s.action.clone()).or_default() += 1;
                for word in ["低于", "不超过", "入驻", "用途调整", "缩短", "达到 中型"]
                {
                    assert!(!s.message.contains(word), "{}: {}", m.product_id, s.message);
                }
                for title in ["LITTLE_GIANT", "SINGLE_CHAMPION", "PLATFORM", "BASE"] {
                    assert!(!s.target.contains(title), "{}: {}", m.product_id, s.target);
                }
            }
        }
    }
    assert!(seen.contains_key("HIRE_MORE"), "{seen:?}");
    assert!(seen.contains_key("SUPPLY_INFORMATION"), "{seen:?}");
    assert!(seen.contains_key("OBTAIN_CERTIFICATION"), "{seen:?}");
}

/// A size class outside a product's is a reason with its thresholds, never
/// a target to shrink to.
#[test]
fn size_thresholds_are_the_reason_not_a_target() {
    let medium = profile(r#"{"employees": 400, "annual_revenue": "5000万"}"#);
    let r = run(&medium, "2024-06-01");
    let m = find(&r, "wuhuanben_xudai");
    assert_eq!(m.status, MatchStatus::Ineligible);
    let c = criterion(m, "SIZE_CLASS");
    assert!(c.message.contains("企业规模为中型"), "{}", c.message);
    assert!(c.message.contains("300"), "{}", c.message);
    assert!(m.suggestions.is_empty(), "{:?}", m.suggestions);
}

/// A product the firm already holds or has applied for is marked, and is
/// not a lead whatever its status; an unknown product id is refused.
#[test]
fn held_products_are_not_leads() {
    let catalog = Catalog::builtin();
    let p = profile(
        r#"{"has_bank_loans": true, "held_products": [{"product_id": "wuhuanben_xudai", "status": "held", "since": "2024-01-05"}, {"product_id": "shoudai", "status": "已申请"}]}"#,
    );
    let cls = p.classify();
    let ev = evaluate(&catalog, &p, &cls, &MatchOptions::on(date("2024-06-01"))).unwrap();
    let e = ev
        .products
        .iter()
        .find(|e| e.product.id == "wuhuanben_xudai")
        .unwrap();
    assert_eq!(e.status, MatchStatus::Eligible);
    assert_eq!(e.holding, Some(crate::enterprise::Holding::Held));
    assert!(!e.is_lead());
    let mut stats = registry::RegistryStats::default();
    stats.add(registry::FirmTally::of(&ev, cls.class()));
    let order = e.order;
    assert_eq!(stats.by_product[&order].already, 1);
    assert_eq!(stats.by_product[&order].eligible, 0);
    let r = ev.report(&cls);
    assert_eq!(
        find(&r, "shoudai").holding,
        Some(crate::enterprise::Holding::Applied)
    );
    let bad = profile(r#"{"held_products": [{"product_id": "no_such", "status": "held"}]}"#);
    let cls = bad.classify();
    let e = evaluate(&catalog, &bad, &cls, &MatchOptions::on(date("2024-06-01"))).unwrap_err();
    assert!(matches!(e, MatchError::UnknownHeldProduct { index: 0, .. }));
    let e =
        Profile::from_json(r#"{"held_products": [{"product_id": "shoudai", "status": "maybe"}]}"#)
            .unwrap_err();
    assert_eq!(e.violations[0].field, "held_products[0].status");
}

/// The one-step list holds a firm only when every other criterion passes
/// and its one gap is something it does itself.
#[test]
fn one_step_is_one_simple_action() {
    let catalog = Catalog::builtin();
    let on = MatchOptions::on(date("2024-06-01"));
    let tally = |p: &Profile| {
        let cls = p.classify();
        let ev = evaluate(&catalog, p, &cls, &on).unwrap();
        registry::FirmTally::of(&ev, cls.class())
    };
    // arrears, everything else known and passing for 创业担保贷款 (hires
    // 8 of 40 = 20%): one step, CLEAR_ARREARS
    let p = profile(r#"{"wage_or_social_insurance_arrears": true, "new_eligible_hires": 8}"#);
    let t = tally(&p);
    let chuangye = catalog
        .products
        .iter()
        .position(|x| x.id == "chuangye_danbao_xiaowei_jiangxi")
        .unwrap();
    assert!(
        t.one_step
            .iter()
            .any(|s| s.0 == chuangye && s.1 == "CLEAR_ARREARS"),
        "{:?}",
        t.one_step
    );
    // the same gap with another criterion unknown is not one step
    let p = profile(
        r#"{"wage_or_social_insurance_arrears": true, "new_eligible_hires": 8, "region_code": null}"#,
    );
    assert!(tally(&p).one_step.iter().all(|s| s.0 != chuangye));
    // a certification to apply for is never one step
    let p = profile("{}");
    assert!(
        tally(&p)
            .one_step
            .iter()
            .all(|s| s.1 != "OBTAIN_CERTIFICATION"),
        "{:?}",
        tally(&p).one_step
    );
}

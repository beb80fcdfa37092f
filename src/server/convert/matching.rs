//! Conversions for `smefin/v1/matching_service.proto`.

use crate::catalog::{Product, ProductKind};
use crate::enterprise::Holding;
use crate::kernel::money::Yuan;
use crate::matching::criteria::SuggestionKind;
use crate::matching::{
    ClassificationReport, CriterionReport, MatchReport, MatchStatus, OfferReport, Outcome,
    ProductMatchReport, Suggestion,
};
use crate::server::pb;

fn money(y: Option<Yuan>) -> String {
    y.map(|y| y.to_fen_string()).unwrap_or_default()
}

impl From<ProductKind> for pb::ProductKind {
    fn from(k: ProductKind) -> Self {
        match k {
            ProductKind::Loan => pb::ProductKind::Loan,
            ProductKind::Guarantee => pb::ProductKind::Guarantee,
            ProductKind::Subsidy => pb::ProductKind::Subsidy,
            ProductKind::Award => pb::ProductKind::Award,
        }
    }
}

/// Proto enum → domain; `None` for UNSPECIFIED (no filter).
pub fn product_kind(k: pb::ProductKind) -> Option<ProductKind> {
    Some(match k {
        pb::ProductKind::Unspecified => return None,
        pb::ProductKind::Loan => ProductKind::Loan,
        pb::ProductKind::Guarantee => ProductKind::Guarantee,
        pb::ProductKind::Subsidy => ProductKind::Subsidy,
        pb::ProductKind::Award => ProductKind::Award,
    })
}

impl From<MatchStatus> for pb::MatchStatus {
    fn from(s: MatchStatus) -> Self {
        match s {
            MatchStatus::Eligible => pb::MatchStatus::Eligible,
            MatchStatus::Ineligible => pb::MatchStatus::Ineligible,
            MatchStatus::NeedsInfo => pb::MatchStatus::NeedsInfo,
        }
    }
}

impl From<Outcome> for pb::CriterionOutcome {
    fn from(o: Outcome) -> Self {
        match o {
            Outcome::Pass => pb::CriterionOutcome::Pass,
            Outcome::Fail => pb::CriterionOutcome::Fail,
            Outcome::NeedsInfo => pb::CriterionOutcome::NeedsInfo,
        }
    }
}

impl From<ClassificationReport> for pb::Classification {
    fn from(c: ClassificationReport) -> Self {
        let ClassificationReport {
            size_industry,
            size_class,
            explanation,
            missing_fields,
        } = c;
        pb::Classification {
            size_industry,
            size_class: pb::SizeClass::from(size_class) as i32,
            explanation,
            missing_fields,
        }
    }
}

impl From<CriterionReport> for pb::CriterionResult {
    fn from(c: CriterionReport) -> Self {
        let CriterionReport {
            code,
            outcome,
            message,
            missing_field,
            source,
        } = c;
        pb::CriterionResult {
            code,
            outcome: pb::CriterionOutcome::from(outcome) as i32,
            message,
            missing_field,
            source,
        }
    }
}

impl From<Suggestion> for pb::Suggestion {
    fn from(s: Suggestion) -> Self {
        let Suggestion {
            criterion_code,
            action,
            kind,
            field,
            target,
            message,
        } = s;
        pb::Suggestion {
            criterion_code,
            action,
            field,
            target,
            message,
            kind: suggestion_kind(kind) as i32,
        }
    }
}

impl From<OfferReport> for pb::Offer {
    fn from(o: OfferReport) -> Self {
        let OfferReport {
            amount,
            term_months,
            rate,
            borrower_rate,
            annual_interest,
            annual_subsidy,
            annual_guarantee_fee,
            annual_cost,
            effective_rate,
            benefit,
            notes,
        } = o;
        pb::Offer {
            amount: money(amount),
            term_months: term_months.unwrap_or(0),
            rate: rate.unwrap_or_default(),
            borrower_rate: borrower_rate.unwrap_or_default(),
            annual_interest: money(annual_interest),
            annual_subsidy: money(annual_subsidy),
            annual_guarantee_fee: money(annual_guarantee_fee),
            annual_cost: money(annual_cost),
            effective_rate: effective_rate.unwrap_or_default(),
            benefit: benefit.unwrap_or_default(),
            notes,
        }
    }
}

impl From<ProductMatchReport> for pb::ProductMatch {
    fn from(m: ProductMatchReport) -> Self {
        let ProductMatchReport {
            product_id,
            product_name,
            kind,
            status,
            criteria,
            offer,
            suggestions,
            holding,
            uncertain_parameters,
        } = m;
        pb::ProductMatch {
            product_id,
            product_name,
            kind: pb::ProductKind::from(kind) as i32,
            status: pb::MatchStatus::from(status) as i32,
            criteria: criteria.into_iter().map(Into::into).collect(),
            offer: offer.map(Into::into),
            suggestions: suggestions.into_iter().map(Into::into).collect(),
            uncertain_parameters,
            holding: match holding {
                None => pb::HoldingStatus::Unspecified,
                Some(Holding::Held) => pb::HoldingStatus::Held,
                Some(Holding::Applied) => pb::HoldingStatus::Applied,
            } as i32,
        }
    }
}

impl From<MatchReport> for pb::MatchResult {
    fn from(r: MatchReport) -> Self {
        let MatchReport {
            name,
            as_of,
            lpr_1y,
            classification,
            credit_code,
            eligible,
            needs_info,
            ineligible,
        } = r;
        pb::MatchResult {
            name,
            as_of: as_of.to_string(),
            lpr_1y: lpr_1y.unwrap_or_default(),
            classification: Some(classification.into()),
            credit_code: credit_code.map(Into::into),
            eligible: eligible.into_iter().map(Into::into).collect(),
            needs_info: needs_info.into_iter().map(Into::into).collect(),
            ineligible: ineligible.into_iter().map(Into::into).collect(),
        }
    }
}

impl From<&Product> for pb::Product {
    fn from(p: &Product) -> Self {
        let Product {
            id,
            name,
            issuer,
            kind,
            summary,
            max_amount,
            max_term_months,
            rate,
            guarantee_fee: _,
            subsidy,
            benefit,
            benefit_amount: _,
            valid_from,
            valid_to,
            regions,
            rules,
            sources,
            uncertain,
            variant_of,
            facts,
            banks,
            rule_sources: _,
        } = p;
        pb::Product {
            id: id.clone(),
            name: name.clone(),
            issuer: issuer.clone(),
            kind: pb::ProductKind::from(*kind) as i32,
            summary: summary.clone(),
            max_amount: money(*max_amount),
            max_term_months: max_term_months.unwrap_or(0),
            rate_rule: rate.map(|r| r.describe()).unwrap_or_default(),
            guarantee_fee: p.describe_fee(),
            subsidy: subsidy.map(|s| s.describe()).unwrap_or_default(),
            benefit: benefit.clone().unwrap_or_default(),
            valid_from: valid_from.to_string(),
            valid_to: valid_to.map(|d| d.to_string()).unwrap_or_default(),
            regions: regions.clone(),
            rules: rules
                .iter()
                .enumerate()
                .map(|(i, r)| pb::ProductRule {
                    code: r.code().into(),
                    description: r.describe(),
                    source: p.rule_source(i).to_string(),
                })
                .collect(),
            sources: sources.clone(),
            uncertain_parameters: uncertain.clone(),
            variant_of: variant_of.clone().unwrap_or_default(),
            facts: facts
                .iter()
                .map(|f| pb::DatedFact {
                    name: f.name.clone(),
                    value: f.value.clone(),
                    from: f.from.to_string(),
                    source: f.source.clone(),
                    uncertain: f.uncertain,
                })
                .collect(),
            banks: banks
                .iter()
                .map(|b| pb::CooperatingBank {
                    id: b.id.clone(),
                    name: b.name.clone(),
                    source: b.source.clone(),
                    uncertain: b.uncertain,
                })
                .collect(),
        }
    }
}

fn suggestion_kind(k: SuggestionKind) -> pb::SuggestionKind {
    match k {
        SuggestionKind::SupplyInformation => pb::SuggestionKind::SupplyInformation,
        SuggestionKind::SimpleAction => pb::SuggestionKind::SimpleAction,
        SuggestionKind::Application => pb::SuggestionKind::Application,
        SuggestionKind::Wait => pb::SuggestionKind::Wait,
    }
}

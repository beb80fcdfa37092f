//! Matching an SME to the products of the catalogue.
//!
//! [`evaluate`] runs every rule of every product in force on the match date
//! against a profile, allocation-light, and returns an [`Evaluation`] that
//! borrows from the catalogue and the profile. [`Evaluation::report`] renders
//! it into the owned [`MatchReport`] (Chinese sentences, suggestions, offers
//! rounded to the fen) that the CLI prints and the server sends.
//!
//! Status of a product: ELIGIBLE when every criterion passes; INELIGIBLE when
//! any fails; otherwise NEEDS_INFO. Where a regional variant (`variant_of`)
//! applies to the firm, the product it replaces is left out.

pub mod cost;
pub mod criteria;
pub mod funnel;
pub mod leads;
pub mod referral;
pub mod registry;

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::Serialize;

use crate::catalog::{Catalog, Product, ProductKind};
use crate::enterprise::{Classification, CreditCode, Holding, Profile, SizeClass};
use crate::kernel::money::{self, Yuan};
pub use cost::Offer;
pub use criteria::{Criterion, Outcome, Suggestion};

/// Why a match could not be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MatchError {
    /// The LPR table does not reach back to the match date.
    #[error("no 1-year LPR is known on {as_of}: the table starts on {first}")]
    NoLpr {
        /// Match date.
        as_of: NaiveDate,
        /// First date of the table.
        first: String,
    },
    /// A requested product id is not in the catalogue.
    #[error("unknown product `{0}`")]
    UnknownProduct(String),
    /// A product the profile says it holds is not in the catalogue.
    #[error("held_products[{index}].product_id: unknown product `{id}`")]
    UnknownHeldProduct {
        /// Its index in `held_products`.
        index: usize,
        /// The id given.
        id: String,
    },
}

/// Options of one match.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MatchOptions {
    /// Match date.
    pub as_of: NaiveDate,
    /// Restrict to these products; empty = all.
    pub product_ids: Vec<String>,
}

impl MatchOptions {
    /// All products on `as_of`.
    pub fn on(as_of: NaiveDate) -> Self {
        MatchOptions {
            as_of,
            product_ids: Vec::new(),
        }
    }
}

/// Status of one product for one firm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum MatchStatus {
    /// Every criterion passes.
    Eligible,
    /// A criterion fails.
    Ineligible,
    /// Nothing fails but something is unknown.
    NeedsInfo,
}

impl MatchStatus {
    /// Chinese name.
    pub fn name_zh(self) -> &'static str {
        match self {
            MatchStatus::Eligible => "符合",
            MatchStatus::Ineligible => "不符合",
            MatchStatus::NeedsInfo => "需补充信息",
        }
    }
}

/// One product evaluated.
#[derive(Debug, Clone)]
pub struct ProductEval<'a> {
    /// The product.
    pub product: &'a Product,
    /// Status.
    pub status: MatchStatus,
    /// Criteria, in catalogue order (region and term first).
    pub criteria: Vec<Criterion<'a>>,
    /// Offer, for eligible products (boxed: ranking moves evaluations).
    pub offer: Option<Box<Offer>>,
    /// Position in the catalogue (the tie-break of the ranking).
    pub order: usize,
    /// The firm already holds the product or has applied for it: whatever
    /// its status, it is not a lead for it.
    pub holding: Option<Holding>,
}

impl ProductEval<'_> {
    /// Eligible, and not already held or applied for: a firm to send to
    /// the product's banks.
    pub fn is_lead(&self) -> bool {
        self.status == MatchStatus::Eligible && self.holding.is_none()
    }
}

/// A profile evaluated against the catalogue.
#[derive(Debug, Clone)]
pub struct Evaluation<'a> {
    /// The profile.
    pub profile: &'a Profile,
    /// Match date.
    pub as_of: NaiveDate,
    /// 1-year LPR on the match date.
    pub lpr: Option<Decimal>,
    /// Products in force, evaluated, ranked (see [`Evaluation::report`]).
    pub products: Vec<ProductEval<'a>>,
}

/// Evaluates a profile (with its precomputed classification) against the
/// catalogue.
pub fn evaluate<'a>(
    catalog: &'a Catalog,
    profile: &'a Profile,
    cls: &'a Classification,
    opts: &MatchOptions,
) -> Result<Evaluation<'a>, MatchError> {
    for id in &opts.product_ids {
        if catalog.product(id).is_none() {
            return Err(MatchError::UnknownProduct(id.clone()));
        }
    }
    for (index, h) in profile.held_products.iter().enumerate() {
        if catalog.product(&h.product_id).is_none() {
            return Err(MatchError::UnknownHeldProduct {
                index,
                id: h.product_id.clone(),
            });
        }
    }
    let lpr = catalog.lpr_on(opts.as_of);
    // A date before the LPR table is refused outright, whether or not a
    // product in force then needs the rate: the catalogue says nothing about
    // such a date.
    if lpr.is_none() {
        return Err(MatchError::NoLpr {
            as_of: opts.as_of,
            first: catalog
                .lpr
                .first()
                .map_or("(empty)".into(), |r| r.effective.to_string()),
        });
    }
    let selected = |p: &Product| {
        p.in_force(opts.as_of) && (opts.product_ids.is_empty() || opts.product_ids.contains(&p.id))
    };
    let mut products = Vec::with_capacity(catalog.products.len());
    for (order, p) in catalog
        .products
        .iter()
        .enumerate()
        .filter(|(_, p)| selected(p))
    {
        products.push(evaluate_product(p, order, profile, cls, opts, lpr));
    }
    drop_replaced(&mut products);
    products.sort_by(|a, b| rank_key(a).cmp(&rank_key(b)).then(a.order.cmp(&b.order)));
    Ok(Evaluation {
        profile,
        as_of: opts.as_of,
        lpr,
        products,
    })
}

/// One product against the profile: its criteria (region, rules with their
/// citations, the term), the status they give, the offer when eligible.
fn evaluate_product<'a>(
    p: &'a Product,
    order: usize,
    profile: &'a Profile,
    cls: &'a Classification,
    opts: &MatchOptions,
    lpr: Option<Decimal>,
) -> ProductEval<'a> {
    let mut crit = Vec::with_capacity(p.rules.len() + 2);
    if !p.regions.is_empty() {
        crit.push(criteria::region(profile, &p.regions));
    }
    for (i, r) in p.rules.iter().enumerate() {
        crit.push(criteria::Criterion {
            source: p.rule_source(i),
            ..criteria::evaluate(r, profile, cls, opts.as_of)
        });
    }
    // A product's maximum term bounds the offer (see cost::offer), not
    // who may apply: no programme text found makes a longer request
    // disqualifying.
    let status = if crit.iter().any(|c| c.outcome == Outcome::Fail) {
        MatchStatus::Ineligible
    } else if crit.iter().any(|c| c.outcome == Outcome::NeedsInfo) {
        MatchStatus::NeedsInfo
    } else {
        MatchStatus::Eligible
    };
    let offer =
        (status == MatchStatus::Eligible).then(|| Box::new(cost::offer(p, &profile.request, lpr)));
    let holding = profile
        .held_products
        .iter()
        .find(|h| h.product_id == p.id)
        .map(|h| h.status);
    ProductEval {
        product: p,
        status,
        criteria: crit,
        offer,
        order,
        holding,
    }
}

/// A regional variant that applies replaces its base product.
fn drop_replaced(products: &mut Vec<ProductEval<'_>>) {
    let replaced: Vec<&str> = products
        .iter()
        .filter(|e| {
            e.product.variant_of.is_some()
                && e.criteria
                    .iter()
                    .any(|c| c.code == "REGION" && c.outcome == Outcome::Pass)
        })
        .filter_map(|e| e.product.variant_of.as_deref())
        .collect();
    if !replaced.is_empty() {
        products.retain(|e| !replaced.contains(&e.product.id.as_str()));
    }
}

/// Ranking: eligible credit offers by annual cost (or rate when no amount was
/// asked), then eligible subsidies and awards by benefit (largest first), then
/// the rest in catalogue order.
fn rank_key(e: &ProductEval<'_>) -> (u8, Decimal) {
    match (&e.offer, e.product.kind.is_credit()) {
        (Some(o), true) => (0, o.cost_key()),
        (Some(_), false) => (1, -e.product.benefit_amount.map_or(Decimal::ZERO, |b| b.0)),
        (None, _) => (2, Decimal::ZERO),
    }
}

/// How much of a report to render.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum View {
    /// Statuses, offers (their figures, not their notes), criterion codes
    /// and outcomes, missing fields: no sentences, no suggestions, no list
    /// of uncertain parameters (GetProduct has it).
    Basic,
    /// Everything, every sentence and suggestion.
    #[default]
    Full,
}

/// Matches a profile: classification, evaluation and report in one call.
pub fn match_profile(
    catalog: &Catalog,
    profile: &Profile,
    opts: &MatchOptions,
) -> Result<MatchReport, MatchError> {
    match_profile_view(catalog, profile, opts, View::Full)
}

/// [`match_profile`] rendering only what `view` asks for.
pub fn match_profile_view(
    catalog: &Catalog,
    profile: &Profile,
    opts: &MatchOptions,
    view: View,
) -> Result<MatchReport, MatchError> {
    let cls = profile.classify();
    let ev = evaluate(catalog, profile, &cls, opts)?;
    Ok(ev.report_view(&cls, view))
}

// ---------------------------------------------------------------------------
// Reports: the owned, serialisable shape of `smefin.v1.MatchResult`.

/// Size classification, reported.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ClassificationReport {
    /// 划型 row, Chinese.
    pub size_industry: String,
    /// Class, when decided.
    pub size_class: Option<SizeClass>,
    /// Explanation.
    pub explanation: String,
    /// Fields needed and absent.
    pub missing_fields: Vec<String>,
}

impl From<&Classification> for ClassificationReport {
    fn from(c: &Classification) -> Self {
        ClassificationReport {
            size_industry: c
                .outcome
                .as_ref()
                .map_or(String::new(), |o| o.industry.name_zh().to_string()),
            size_class: c.class(),
            explanation: c.explanation(),
            missing_fields: c.missing_fields.iter().map(|s| s.to_string()).collect(),
        }
    }
}

/// One criterion, reported.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CriterionReport {
    /// Code.
    pub code: String,
    /// Outcome.
    pub outcome: Outcome,
    /// Chinese sentence.
    pub message: String,
    /// Missing field, for NEEDS_INFO.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub missing_field: String,
    /// The text the rule comes from (FULL view; empty for the region and
    /// term checks).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub source: String,
}

/// An offer, reported: money to the fen, rates as decimal strings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OfferReport {
    /// Amount.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub amount: Option<Yuan>,
    /// Term.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub term_months: Option<u32>,
    /// Lending rate.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rate: Option<String>,
    /// Borrower's rate after subsidy.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub borrower_rate: Option<String>,
    /// Interest, one year.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub annual_interest: Option<Yuan>,
    /// Subsidy, one year.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub annual_subsidy: Option<Yuan>,
    /// Guarantee fee, one year.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub annual_guarantee_fee: Option<Yuan>,
    /// Cost, one year.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub annual_cost: Option<Yuan>,
    /// Cost / amount.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub effective_rate: Option<String>,
    /// Benefit.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub benefit: Option<String>,
    /// Notes.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

impl From<&Offer> for OfferReport {
    fn from(o: &Offer) -> Self {
        let r = |x: Option<Decimal>| x.map(money::rate_string);
        OfferReport {
            amount: o.amount,
            term_months: o.term_months,
            rate: r(o.rate),
            borrower_rate: r(o.borrower_rate),
            annual_interest: o.annual_interest,
            annual_subsidy: o.annual_subsidy,
            annual_guarantee_fee: o.annual_guarantee_fee,
            annual_cost: o.annual_cost,
            effective_rate: r(o.effective_rate),
            benefit: o.benefit.clone(),
            notes: o.notes.clone(),
        }
    }
}

/// One product's match, reported.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProductMatchReport {
    /// Id.
    pub product_id: String,
    /// Chinese name.
    pub product_name: String,
    /// Kind.
    pub kind: ProductKind,
    /// Status.
    pub status: MatchStatus,
    /// Criteria.
    pub criteria: Vec<CriterionReport>,
    /// Offer (eligible only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub offer: Option<OfferReport>,
    /// Suggestions (ineligible only).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub suggestions: Vec<Suggestion>,
    /// Already held or applied for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub holding: Option<Holding>,
    /// Uncertain parameters of the product.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub uncertain_parameters: Vec<String>,
}

/// Everything smefin says about one enterprise: the JSON shape of
/// `smefin.v1.MatchResult`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MatchReport {
    /// Name.
    pub name: String,
    /// Match date.
    pub as_of: NaiveDate,
    /// 1-year LPR.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lpr_1y: Option<String>,
    /// Classification.
    pub classification: ClassificationReport,
    /// Credit-code check.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub credit_code: Option<CreditCode>,
    /// Eligible, cheapest first.
    pub eligible: Vec<ProductMatchReport>,
    /// Needs more information.
    pub needs_info: Vec<ProductMatchReport>,
    /// Ineligible, with suggestions.
    pub ineligible: Vec<ProductMatchReport>,
}

impl Evaluation<'_> {
    /// Renders the full report.
    pub fn report(&self, cls: &Classification) -> MatchReport {
        self.report_view(cls, View::Full)
    }

    /// Renders the report as `view` asks: [`View::Basic`] leaves every
    /// sentence empty and lists no suggestions (they are never rendered).
    pub fn report_view(&self, cls: &Classification, view: View) -> MatchReport {
        let full = view == View::Full;
        let classification = if full {
            ClassificationReport::from(cls)
        } else {
            ClassificationReport {
                size_industry: cls
                    .outcome
                    .as_ref()
                    .map_or(String::new(), |o| o.industry.name_zh().to_string()),
                size_class: cls.class(),
                explanation: String::new(),
                missing_fields: cls.missing_fields.iter().map(|s| s.to_string()).collect(),
            }
        };
        let mut out = MatchReport {
            name: self.profile.name.clone(),
            as_of: self.as_of,
            lpr_1y: self.lpr.map(money::rate_string),
            classification,
            credit_code: self.profile.credit_code.clone(),
            eligible: Vec::new(),
            needs_info: Vec::new(),
            ineligible: Vec::new(),
        };
        for e in &self.products {
            let r = ProductMatchReport {
                product_id: e.product.id.clone(),
                product_name: e.product.name.clone(),
                kind: e.product.kind,
                status: e.status,
                criteria: e
                    .criteria
                    .iter()
                    .map(|c| CriterionReport {
                        code: c.code.to_string(),
                        outcome: c.outcome,
                        message: if full { c.message() } else { String::new() },
                        missing_field: c.missing.to_string(),
                        source: if full {
                            c.source.to_string()
                        } else {
                            String::new()
                        },
                    })
                    .collect(),
                offer: e.offer.as_deref().map(|o| {
                    let mut r = OfferReport::from(o);
                    if !full {
                        r.notes.clear();
                    }
                    r
                }),
                suggestions: if full {
                    e.criteria.iter().flat_map(|c| c.suggestions()).collect()
                } else {
                    Vec::new()
                },
                holding: e.holding,
                uncertain_parameters: if full {
                    e.product.uncertain.clone()
                } else {
                    Vec::new()
                },
            };
            match e.status {
                MatchStatus::Eligible => out.eligible.push(r),
                MatchStatus::NeedsInfo => out.needs_info.push(r),
                MatchStatus::Ineligible => out.ineligible.push(r),
            }
        }
        out
    }
}

#[cfg(test)]
mod tests;

//! What an eligible product would offer and cost for one year.
//!
//! For an amount A (the request, capped at the product maximum), lending rate
//! r (from the rate rule and the 1-year LPR on the match date):
//!
//! - interest  I = A·r
//! - subsidy   S = A_s·(r − max(0, LPR − b)) when the borrower pays at most
//!   LPR − b on the subsidised part A_s = min(A, cap) (创业担保贷款), or
//!   S = A_s·r·share for a share-of-interest subsidy; never below zero
//! - guarantee fee  F = A·f, with f from the product's fee tier for A
//! - annual cost C = I − S + F
//!
//! Each of I, S, F is an amount reported to the borrower and is rounded to the
//! fen (half away from zero) once; C is the sum of the reported parts, so the
//! statement adds up. Rates are exact decimals.

use rust_decimal::Decimal;
use serde::Serialize;

use crate::catalog::{Product, Subsidy};
use crate::enterprise::FinancingRequest;
use crate::kernel::money::Yuan;

/// An offer for an eligible product.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Offer {
    /// Amount offered (request capped at the product maximum); None when no
    /// amount was requested.
    pub amount: Option<Yuan>,
    /// Term in months.
    pub term_months: Option<u32>,
    /// Lending rate before subsidy.
    pub rate: Option<Decimal>,
    /// Rate the borrower bears after subsidy (on the whole amount), and the
    /// guarantee fee rate, when no amount was given: the rates alone.
    pub borrower_rate: Option<Decimal>,
    /// Guarantee fee rate.
    pub fee_rate: Option<Decimal>,
    /// One year of interest, fen.
    pub annual_interest: Option<Yuan>,
    /// One year of subsidy, fen.
    pub annual_subsidy: Option<Yuan>,
    /// One year of guarantee fee, fen.
    pub annual_guarantee_fee: Option<Yuan>,
    /// interest − subsidy + fee, fen.
    pub annual_cost: Option<Yuan>,
    /// annual_cost / amount.
    pub effective_rate: Option<Decimal>,
    /// Benefit of an award or subsidy.
    pub benefit: Option<String>,
    /// Notes (Chinese).
    pub notes: Vec<String>,
}

/// The subsidised rate gap: how much of rate `r` the budget pays on the
/// subsidised part.
fn subsidy_rate(s: Subsidy, r: Decimal, lpr: Decimal) -> (Decimal, Option<Yuan>) {
    match s {
        Subsidy::BorrowerPaysLprMinus {
            bp,
            subsidised_up_to,
        } => {
            let floor = (lpr - crate::kernel::money::bp(bp)).max(Decimal::ZERO);
            ((r - floor).max(Decimal::ZERO), subsidised_up_to)
        }
        Subsidy::ShareOfInterest {
            share,
            subsidised_up_to,
        } => (r * share, subsidised_up_to),
    }
}

/// Computes the offer of an eligible product.
pub fn offer(product: &Product, req: &FinancingRequest, lpr: Option<Decimal>) -> Offer {
    let mut notes = Vec::new();
    // An award or subsidy is not lent: the request's amount does not apply.
    let requested = if product.kind.is_credit() {
        req.amount
    } else {
        None
    };
    let amount = requested.map(|a| match product.max_amount {
        Some(max) if a > max => {
            notes.push(format!(
                "申请金额{}超过产品上限{}，按上限测算",
                a.human(),
                max.human()
            ));
            max
        }
        _ => a,
    });
    let term_months = if product.kind.is_credit() {
        match (req.term_months, product.max_term_months) {
            (Some(t), Some(max)) if t > max => {
                notes.push(format!(
                    "申请期限{t}个月超过产品上限{max}个月，按{max}个月测算"
                ));
                Some(max)
            }
            (t, max) => t.or(max),
        }
    } else {
        None
    };
    let mut o = Offer {
        amount,
        term_months,
        rate: None,
        borrower_rate: None,
        fee_rate: None,
        annual_interest: None,
        annual_subsidy: None,
        annual_guarantee_fee: None,
        annual_cost: None,
        effective_rate: None,
        benefit: product.benefit.clone(),
        notes,
    };
    let (Some(rule), true) = (product.rate, product.kind.is_credit()) else {
        return o;
    };
    // Validation guarantees an LPR when a rule needs one; fixed rules ignore it.
    let lpr = lpr.unwrap_or(Decimal::ZERO);
    let r = rule.rate(lpr);
    let (gap, cap) = product
        .subsidy
        .map_or((Decimal::ZERO, None), |s| subsidy_rate(s, r, lpr));
    o.rate = Some(r);
    match amount {
        None => {
            // No amount: report the rates for the whole of a loan within the cap.
            o.borrower_rate = Some(r - gap);
            let f = product
                .guarantee_fee
                .first()
                .map_or(Decimal::ZERO, |t| t.rate);
            o.fee_rate = Some(f);
            if cap.is_some() && gap > Decimal::ZERO {
                o.notes
                    .push("贴息仅覆盖部分额度，实际综合利率取决于申请金额".into());
            }
        }
        Some(a) => o.price(product, a, r, gap, cap),
    }
    o.borrower_rate = o.borrower_rate.map(|x| x.round_dp(6));
    o
}

impl Offer {
    /// The yearly figures of a loan of `a` at rate `r`, of which `gap` is
    /// subsidised up to `cap`.
    fn price(&mut self, product: &Product, a: Yuan, r: Decimal, gap: Decimal, cap: Option<Yuan>) {
        let f = product.fee_rate(a);
        let subsidised = cap.map_or(a, |c| a.min(c));
        let interest = Yuan(a.0 * r).round_fen();
        let subsidy = Yuan(subsidised.0 * gap).round_fen();
        let fee = Yuan(a.0 * f).round_fen();
        let cost = Yuan(interest.0 - subsidy.0 + fee.0);
        self.fee_rate = Some(f);
        self.borrower_rate = Some(if a.0.is_zero() {
            r - gap
        } else {
            (interest.0 - subsidy.0) / a.0
        });
        self.annual_interest = Some(interest);
        self.annual_subsidy = Some(subsidy);
        self.annual_guarantee_fee = Some(fee);
        self.annual_cost = Some(cost);
        self.effective_rate = if a.0.is_zero() {
            None
        } else {
            Some((cost.0 / a.0).round_dp(6))
        };
        if cap.is_some_and(|c| a > c) && gap > Decimal::ZERO {
            self.notes
                .push(format!("仅前{}享受贴息", subsidised.human()));
        }
    }

    /// Sort key among credit offers: annual cost when an amount is known,
    /// otherwise the rate the borrower bears plus the fee rate.
    pub fn cost_key(&self) -> Decimal {
        match self.annual_cost {
            Some(c) => c.0,
            None => {
                self.borrower_rate.unwrap_or(Decimal::MAX) + self.fee_rate.unwrap_or(Decimal::ZERO)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::Catalog;
    use rust_decimal::dec;

    fn req(amount: &str, term: u32) -> FinancingRequest {
        FinancingRequest {
            amount: Some(Yuan::parse(amount).unwrap()),
            term_months: Some(term),
            purpose: None,
        }
    }

    #[test]
    fn chuangye_subsidy_leaves_borrower_at_lpr_minus_150bp() {
        let c = Catalog::builtin();
        let p = c.product("chuangye_danbao_xiaowei").unwrap();
        // LPR 3.45%: rate = 3.95%, borrower pays 1.95%
        let o = offer(p, &req("200万", 24), Some(dec!(0.0345)));
        assert_eq!(o.rate, Some(dec!(0.0395)));
        assert_eq!(o.annual_interest, Some(Yuan(dec!(79000))));
        assert_eq!(o.annual_subsidy, Some(Yuan(dec!(40000))));
        assert_eq!(o.annual_guarantee_fee, Some(Yuan::ZERO));
        assert_eq!(o.annual_cost, Some(Yuan(dec!(39000))));
        assert_eq!(o.borrower_rate, Some(dec!(0.0195)));
        assert_eq!(o.effective_rate, Some(dec!(0.0195)));
    }

    #[test]
    fn request_above_cap_is_capped_and_noted() {
        let c = Catalog::builtin();
        let p = c.product("chuangye_danbao_xiaowei").unwrap();
        let o = offer(p, &req("500万", 24), Some(dec!(0.0345)));
        assert_eq!(o.amount, Some(Yuan::wan(300)));
        assert!(o.notes[0].contains("超过产品上限300万"), "{:?}", o.notes);
    }

    #[test]
    fn jiangxi_variant_subsidises_only_the_first_300wan() {
        let c = Catalog::builtin();
        let p = c.product("chuangye_danbao_xiaowei_jiangxi").unwrap();
        // LPR 3.00%: rate 3.50%; 500万 × 3.5% = 175000; subsidy 300万 × (3.5% − 1.5%) = 60000
        let o = offer(p, &req("500万", 12), Some(dec!(0.03)));
        assert_eq!(o.annual_interest, Some(Yuan(dec!(175000))));
        assert_eq!(o.annual_subsidy, Some(Yuan(dec!(60000))));
        assert_eq!(o.annual_cost, Some(Yuan(dec!(115000))));
        assert_eq!(o.effective_rate, Some(dec!(0.023)));
        assert_eq!(o.notes, vec!["仅前300万享受贴息".to_string()]);
    }

    #[test]
    fn guarantee_fee_tier_switches_above_500wan() {
        let c = Catalog::builtin();
        let p = c.product("zhengfu_rongzi_danbao").unwrap();
        // LPR 3.00% + 80bp = 3.80%
        let o = offer(p, &req("500万", 12), Some(dec!(0.03)));
        assert_eq!(o.annual_guarantee_fee, Some(Yuan(dec!(50000))));
        assert_eq!(o.annual_cost, Some(Yuan(dec!(240000))));
        let o = offer(p, &req("600万", 12), Some(dec!(0.03)));
        assert_eq!(o.annual_guarantee_fee, Some(Yuan(dec!(90000))));
        assert_eq!(o.annual_cost, Some(Yuan(dec!(318000))));
    }

    #[test]
    fn fen_rounding_half_away_from_zero_and_parts_add_up() {
        let c = Catalog::builtin();
        let p = c.product("zhengfu_rongzi_danbao").unwrap();
        // 123456.78 × 3.8% = 4691.35764 → 4691.36; fee 1% = 1234.5678 → 1234.57
        let o = offer(p, &req("123456.78", 12), Some(dec!(0.03)));
        assert_eq!(o.annual_interest, Some(Yuan(dec!(4691.36))));
        assert_eq!(o.annual_guarantee_fee, Some(Yuan(dec!(1234.57))));
        assert_eq!(o.annual_cost, Some(Yuan(dec!(5925.93))));
    }

    #[test]
    fn awards_carry_their_benefit_not_the_request() {
        let c = Catalog::builtin();
        let p = c.product("award_little_giant_national").unwrap();
        let o = offer(p, &req("500万", 12), Some(dec!(0.03)));
        assert_eq!(o.amount, None);
        assert_eq!(o.term_months, None);
        assert_eq!(o.annual_cost, None);
        assert_eq!(o.benefit.as_deref(), Some("一次性奖励最高30万元"));
    }

    #[test]
    fn no_amount_gives_rates_only() {
        let c = Catalog::builtin();
        let p = c.product("gongxintong").unwrap();
        let o = offer(p, &FinancingRequest::default(), Some(dec!(0.03)));
        assert_eq!(o.amount, None);
        assert_eq!(o.rate, Some(dec!(0.03)));
        assert_eq!(o.borrower_rate, Some(dec!(0.03)));
        assert_eq!(o.annual_cost, None);
        assert_eq!(o.term_months, Some(12));
    }
}

//! A product's own checks, run when a catalogue loads: each names the
//! product and the path of the first problem.

use rust_decimal::Decimal;

use super::{CatalogError, Product, RateRule, Subsidy, invalid};
use crate::kernel::money::Yuan;

impl Product {
    /// Everything a product must be, in the order a reader meets its keys.
    pub(super) fn validate(&self, lpr_known: bool) -> Result<(), CatalogError> {
        let loc = format!("product `{}`", self.id);
        self.validate_identity(&loc)?;
        self.validate_pricing(&loc, lpr_known)?;
        self.validate_fee_tiers(&loc)?;
        self.validate_lists(&loc)
    }

    /// Its id, name, dates and limits.
    fn validate_identity(&self, loc: &str) -> Result<(), CatalogError> {
        let id_ok = !self.id.is_empty()
            && self
                .id
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
        if !id_ok {
            return Err(invalid(
                loc,
                "id",
                "must be non-empty lowercase ASCII letters, digits or `_`",
            ));
        }
        if self.name.trim().is_empty() {
            return Err(invalid(loc, "name", "must not be empty"));
        }
        if let Some(t) = self.valid_to
            && t < self.valid_from
        {
            return Err(invalid(
                loc,
                "valid_to",
                format!("{t} is before valid_from {}", self.valid_from),
            ));
        }
        if self.max_amount.is_some_and(|a| a.0.is_zero()) {
            return Err(invalid(loc, "max_amount", "must be greater than zero"));
        }
        if self.max_term_months == Some(0) {
            return Err(invalid(loc, "max_term_months", "must be at least 1"));
        }
        Ok(())
    }

    /// Rate, subsidy and benefit: credit has a rate, awards a benefit, and
    /// a rule on the LPR needs the LPR table.
    fn validate_pricing(&self, loc: &str, lpr_known: bool) -> Result<(), CatalogError> {
        if self.kind.is_credit() && self.rate.is_none() {
            return Err(invalid(
                loc,
                "rate",
                "loans and guarantees need a rate rule",
            ));
        }
        if !self.kind.is_credit() {
            for (field, present) in [
                ("rate", self.rate.is_some()),
                ("subsidy", self.subsidy.is_some()),
                ("guarantee_fee", !self.guarantee_fee.is_empty()),
            ] {
                if present {
                    return Err(invalid(
                        loc,
                        field,
                        format!("only loans and guarantees have a {field}"),
                    ));
                }
            }
            if self.benefit.is_none() {
                return Err(invalid(
                    loc,
                    "benefit",
                    "awards and subsidies must state their benefit",
                ));
            }
        }
        let needs_lpr = matches!(self.rate, Some(RateRule::LprPlus { .. }))
            || matches!(self.subsidy, Some(Subsidy::BorrowerPaysLprMinus { .. }));
        if needs_lpr && !lpr_known {
            return Err(invalid(
                loc,
                "rate",
                "uses the LPR but the catalogue has no [[lpr]] rows",
            ));
        }
        if let Some(Subsidy::ShareOfInterest { share, .. }) = self.subsidy
            && share > Decimal::ONE
        {
            return Err(invalid(loc, "subsidy.share", "must be at most 1"));
        }
        Ok(())
    }

    /// Guarantee fee tiers rise, and only the last is open-ended.
    fn validate_fee_tiers(&self, loc: &str) -> Result<(), CatalogError> {
        let mut prev: Option<Yuan> = None;
        for (i, t) in self.guarantee_fee.iter().enumerate() {
            if let (Some(p), Some(u)) = (prev, t.up_to)
                && u <= p
            {
                return Err(invalid(
                    loc,
                    format!("guarantee_fee[{i}].up_to"),
                    "tiers must increase",
                ));
            }
            if i + 1 < self.guarantee_fee.len() && t.up_to.is_none() {
                return Err(invalid(
                    loc,
                    format!("guarantee_fee[{i}].up_to"),
                    "only the last tier may be open-ended",
                ));
            }
            prev = t.up_to;
        }
        Ok(())
    }

    /// Regions, rules and dated facts, each by its index.
    fn validate_lists(&self, loc: &str) -> Result<(), CatalogError> {
        for (i, r) in self.regions.iter().enumerate() {
            if r.is_empty() || r.len() > 6 || !r.bytes().all(|b| b.is_ascii_digit()) {
                return Err(invalid(
                    loc,
                    format!("regions[{i}]"),
                    format!("`{r}` is not a GB/T 2260 prefix"),
                ));
            }
        }
        for (i, r) in self.rules.iter().enumerate() {
            r.validate()
                .map_err(|(p, reason)| invalid(loc, format!("rules[{i}]{p}"), reason))?;
        }
        for (i, f) in self.facts.iter().enumerate() {
            if f.name.trim().is_empty() || f.value.trim().is_empty() {
                return Err(invalid(
                    loc,
                    format!("facts[{i}]"),
                    "needs a name and a value",
                ));
            }
            if f.source.trim().is_empty() && !f.uncertain {
                return Err(invalid(
                    loc,
                    format!("facts[{i}].source"),
                    "cite the text that states it, or mark it `uncertain = true`",
                ));
            }
        }
        self.validate_banks(loc)
    }

    /// Its cooperating banks: ids a bank token can name, each sourced or
    /// flagged, none twice.
    fn validate_banks(&self, loc: &str) -> Result<(), CatalogError> {
        for (i, b) in self.banks.iter().enumerate() {
            crate::incentive::check_bank_id(&b.id)
                .map_err(|why| invalid(loc, format!("banks[{i}].id"), why))?;
            if b.name.trim().is_empty() {
                return Err(invalid(loc, format!("banks[{i}].name"), "is required"));
            }
            if b.source.trim().is_empty() && !b.uncertain {
                return Err(invalid(
                    loc,
                    format!("banks[{i}].source"),
                    "cite the text or agreement that names the bank, or mark it `uncertain = true`",
                ));
            }
            if self.banks[..i].iter().any(|o| o.id == b.id) {
                return Err(invalid(
                    loc,
                    format!("banks[{i}].id"),
                    format!("`{}` is listed twice", b.id),
                ));
            }
        }
        Ok(())
    }
}

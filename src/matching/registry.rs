//! A whole registry matched (精准推送): what is counted of each firm, and the
//! counts over all of them that the registry report and MatchRegistry show.

use std::collections::{BTreeMap, HashMap};

use super::criteria::{Outcome, Suggestion, SuggestionKind};
use super::{Evaluation, MatchStatus, ProductEval};
use crate::enterprise::SizeClass;

/// How many firms came out in each status for one product; a firm that
/// already holds the product or has applied for it is counted apart.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StatusCounts {
    /// Eligible and not already holding it: the leads.
    pub eligible: u64,
    /// Eligible once information is supplied.
    pub needs_info: u64,
    /// Ineligible.
    pub ineligible: u64,
    /// Already holding it or applied for it.
    pub already: u64,
}

impl StatusCounts {
    fn add(&mut self, status: MatchStatus, held: bool) {
        match (held, status) {
            (true, _) => self.already += 1,
            (false, MatchStatus::Eligible) => self.eligible += 1,
            (false, MatchStatus::NeedsInfo) => self.needs_info += 1,
            (false, MatchStatus::Ineligible) => self.ineligible += 1,
        }
    }

    /// Firms that are or may be eligible: eligible and needs-info.
    pub fn reachable(&self) -> u64 {
        self.eligible + self.needs_info
    }
}

/// The firms of a group (a region, a size class), and how many of them are
/// eligible for at least one product.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Reach {
    /// Firms in the group.
    pub firms: u64,
    /// Of which eligible for at least one product.
    pub matched: u64,
}

impl Reach {
    fn add(&mut self, matched: bool) {
        self.firms += 1;
        self.matched += u64::from(matched);
    }

    /// Firms eligible for none.
    pub fn unmatched(&self) -> u64 {
        self.firms - self.matched
    }
}

/// What the report counts of one firm.
#[derive(Debug, Clone, Default)]
pub struct FirmTally {
    /// Region code prefix (city level, 4 digits), if known.
    pub region: Option<String>,
    /// Size class, if it could be determined.
    pub size: Option<SizeClass>,
    /// (product order, status, already held or applied for) of every
    /// product in force.
    pub products: Vec<(usize, MatchStatus, bool)>,
    /// Distinct fields some product needs and the profile lacks.
    pub missing: Vec<&'static str>,
    /// (product order, criterion code) of every failed criterion.
    pub failed: Vec<(usize, &'static str)>,
    /// For products the firm misses by exactly one criterion, every other
    /// one passing, whose gap is a simple action it can take itself:
    /// (product order, action, field, example message).
    pub one_step: Vec<(usize, String, String, String)>,
}

impl FirmTally {
    /// The tally of one firm's evaluation.
    pub fn of(ev: &Evaluation<'_>, size: Option<SizeClass>) -> FirmTally {
        let mut t = FirmTally {
            region: ev
                .profile
                .region_code
                .as_ref()
                .map(|r| r.chars().take(4).collect()),
            size,
            ..FirmTally::default()
        };
        for p in &ev.products {
            t.products.push((p.order, p.status, p.holding.is_some()));
            for c in &p.criteria {
                match c.outcome {
                    Outcome::NeedsInfo
                        if !c.missing.is_empty() && !t.missing.contains(&c.missing) =>
                    {
                        t.missing.push(c.missing);
                    }
                    Outcome::Fail => t.failed.push((p.order, c.code)),
                    _ => {}
                }
            }
            if let Some(s) = one_step(p) {
                t.one_step.push((p.order, s.action, s.field, s.message));
            }
        }
        t
    }
}

/// The one simple action between a firm and a product: every criterion
/// but one passes (none is unknown), and that one's remedy is something the
/// firm does itself. A certification to apply for, a date to wait for or a
/// field to supply is not one step.
fn one_step(p: &ProductEval<'_>) -> Option<Suggestion> {
    if p.status != MatchStatus::Ineligible || p.holding.is_some() {
        return None;
    }
    let mut open = p.criteria.iter().filter(|c| c.outcome != Outcome::Pass);
    let (Some(only), None) = (open.next(), open.next()) else {
        return None;
    };
    only.suggestions()
        .into_iter()
        .find(|s| s.kind == SuggestionKind::SimpleAction)
}

/// Counts over a registry, added to firm by firm.
#[derive(Debug, Clone, Default)]
pub struct RegistryStats {
    /// Firms matched.
    pub firms: u64,
    /// Records that were not valid profiles.
    pub invalid: u64,
    /// Per product order: how many firms came out in each status.
    pub by_product: BTreeMap<usize, StatusCounts>,
    /// Firms lacking each field.
    pub missing: HashMap<&'static str, u64>,
    /// Failures per (product order, criterion).
    pub failed: HashMap<(usize, &'static str), u64>,
    /// Per region prefix: its firms, and those eligible for at least one
    /// product.
    pub by_region: BTreeMap<String, Reach>,
    /// Per size class name: its firms, and those eligible for at least one.
    pub by_size: BTreeMap<String, Reach>,
    /// Firms one step away, per (product order, action, field), with an
    /// example.
    pub one_step: HashMap<(usize, String, String), (u64, String)>,
}

impl RegistryStats {
    /// Adds one firm.
    pub fn add(&mut self, t: FirmTally) {
        self.firms += 1;
        // A lead: eligible for a product it does not already hold.
        let any = t
            .products
            .iter()
            .any(|p| p.1 == MatchStatus::Eligible && !p.2);
        for (order, status, held) in t.products {
            self.by_product.entry(order).or_default().add(status, held);
        }
        for f in t.missing {
            *self.missing.entry(f).or_default() += 1;
        }
        for f in t.failed {
            *self.failed.entry(f).or_default() += 1;
        }
        let region = t.region.unwrap_or_else(|| "（未填）".into());
        self.by_region.entry(region).or_default().add(any);
        let size = t.size.map_or("（无法划型）".to_string(), |s| {
            s.name_zh().to_string()
        });
        self.by_size.entry(size).or_default().add(any);
        for (order, action, field, message) in t.one_step {
            let e = self
                .one_step
                .entry((order, action, field))
                .or_insert((0, message));
            e.0 += 1;
        }
    }
}

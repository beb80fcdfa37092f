//! Leads (精准推送): the firms of a registry eligible for a product they do
//! not already hold or apply for, each assigned to one of the product's
//! cooperating banks, with why it qualifies and what it would cost.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{Evaluation, MatchStatus, Outcome};
use crate::enterprise::{Classification, Contact, SizeClass};
use crate::kernel::money::Yuan;

/// One firm sent to one bank for one product.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lead {
    /// `{campaign}-{bank}-{n}`, n counting a bank's leads from 1 in registry
    /// order (`{campaign}-{n}` for leads not assigned to a bank): an id says
    /// nothing of how many leads other banks were sent.
    pub id: String,
    /// The registry line the firm came from.
    pub line: u64,
    /// The product.
    pub product_id: String,
    /// Its Chinese name.
    pub product_name: String,
    /// The cooperating bank it goes to; `None` when the campaign named no
    /// bank for the product.
    pub bank_id: Option<String>,
    /// The firm's name.
    pub firm: String,
    /// Its credit code, when given.
    pub credit_code: Option<String>,
    /// Its area code, when given.
    pub region_code: Option<String>,
    /// Its size class, when it could be decided.
    pub size_class: Option<SizeClass>,
    /// Whom to contact, as the registry gives it.
    pub contact: Option<Contact>,
    /// The amount the product would lend (the request, capped).
    pub amount: Option<Yuan>,
    /// What the loan would cost the firm a year.
    pub annual_cost: Option<Yuan>,
    /// For an award or subsidy: what it gives.
    pub benefit: Option<String>,
    /// Why it qualifies: each criterion's sentence, in Chinese.
    pub reasons: String,
}

/// One firm's leads before a campaign numbers them and picks their banks,
/// and the products it already holds or applied for.
#[derive(Debug, Clone, Default)]
pub struct FirmLeads {
    leads: Vec<Lead>,
    already: Vec<String>,
}

impl FirmLeads {
    /// The leads of one firm, from registry line `line`, in catalogue order.
    pub fn of(line: u64, ev: &Evaluation<'_>, cls: &Classification) -> FirmLeads {
        let mut products: Vec<_> = ev
            .products
            .iter()
            .filter(|e| e.status == MatchStatus::Eligible)
            .collect();
        // catalogue order, whatever the ranking
        products.sort_by_key(|e| e.order);
        let mut out = FirmLeads::default();
        for e in products {
            if e.holding.is_some() {
                out.already.push(e.product.id.clone());
                continue;
            }
            let p = ev.profile;
            let offer = e.offer.as_deref();
            out.leads.push(Lead {
                id: String::new(),
                line,
                product_id: e.product.id.clone(),
                product_name: e.product.name.clone(),
                bank_id: None,
                firm: p.name.clone(),
                credit_code: p.credit_code.as_ref().map(|c| c.code.clone()),
                region_code: p.region_code.clone(),
                size_class: cls.class(),
                contact: p.contact.clone(),
                amount: offer.and_then(|o| o.amount),
                annual_cost: offer.and_then(|o| o.annual_cost),
                benefit: e.product.benefit.clone(),
                reasons: e
                    .criteria
                    .iter()
                    .filter(|c| c.outcome == Outcome::Pass)
                    .map(|c| c.message())
                    .collect::<Vec<_>>()
                    .join("；"),
            });
        }
        out
    }
}

/// A campaign as its leads are found, firm by firm: the banks each
/// product's leads go to in turn, the numbering, and the counts. The leads
/// themselves go to the caller as they are numbered (a file, a store): a
/// registry of millions is never held whole here.
#[derive(Debug, Clone, Default)]
pub struct LeadBook {
    campaign: String,
    banks: BTreeMap<String, Vec<String>>,
    turn: BTreeMap<String, usize>,
    /// Firms matched (every firm pushed, lead or not).
    pub firms: u64,
    /// Leads numbered so far per bank (`""`: unassigned).
    numbered: BTreeMap<String, u64>,
    /// Leads per (product, bank).
    counts: BTreeMap<(String, Option<String>), u64>,
    /// Leads numbered, in all.
    pub leads: u64,
    /// Firms that were eligible for a product they already hold or applied
    /// for, per product: not leads, counted.
    pub already: BTreeMap<String, u64>,
}

impl LeadBook {
    /// A campaign named `campaign` whose leads for a product go to the banks
    /// `banks` names for it, in turn (a product without banks: unassigned).
    pub fn new(campaign: &str, banks: BTreeMap<String, Vec<String>>) -> LeadBook {
        LeadBook {
            campaign: campaign.to_string(),
            banks,
            ..LeadBook::default()
        }
    }

    /// Adds one firm's leads, found apart (in parallel, say): each gets its
    /// id and, in turn, one of its product's banks; returns them.
    pub fn push(&mut self, firm: FirmLeads) -> Vec<Lead> {
        self.firms += 1;
        for id in firm.already {
            *self.already.entry(id).or_default() += 1;
        }
        let mut out = Vec::with_capacity(firm.leads.len());
        for mut lead in firm.leads {
            lead.bank_id = self
                .banks
                .get(&lead.product_id)
                .filter(|b| !b.is_empty())
                .map(|b| {
                    let turn = self.turn.entry(lead.product_id.clone()).or_default();
                    let bank = b[*turn % b.len()].clone();
                    *turn += 1;
                    bank
                });
            let key = lead.bank_id.clone().unwrap_or_default();
            let n = self.numbered.entry(key).or_default();
            *n += 1;
            lead.id = match &lead.bank_id {
                Some(b) => format!("{}-{b}-{:06}", self.campaign, *n),
                None => format!("{}-{:06}", self.campaign, *n),
            };
            *self
                .counts
                .entry((lead.product_id.clone(), lead.bank_id.clone()))
                .or_default() += 1;
            self.leads += 1;
            out.push(lead);
        }
        out
    }

    /// The leads per (product, bank), in product then bank order.
    pub fn counts(&self) -> &BTreeMap<(String, Option<String>), u64> {
        &self.counts
    }
}

/// Checks a campaign's name (the prefix of its lead ids): 1 to 64 letters,
/// digits, `-` or `_`.
pub fn check_campaign_name(name: &str) -> Result<(), String> {
    if crate::kernel::text::is_slug(name) {
        Ok(())
    } else {
        Err(format!(
            "`{name}` must be 1 to 64 letters, digits, `-` or `_`"
        ))
    }
}

/// The banks each product's leads go to: the catalogue's cooperating banks,
/// with `overrides` (a campaign's own assignment) replacing a product's.
pub fn banks_for(
    catalog: &crate::catalog::Catalog,
    overrides: BTreeMap<String, Vec<String>>,
) -> BTreeMap<String, Vec<String>> {
    let mut out: BTreeMap<String, Vec<String>> = catalog
        .products
        .iter()
        .filter(|p| !p.banks.is_empty())
        .map(|p| (p.id.clone(), p.banks.iter().map(|b| b.id.clone()).collect()))
        .collect();
    out.extend(overrides);
    out
}

//! Persistence of the referral service: campaigns, their leads, and the
//! outcomes banks report, on both backends with one behaviour.
//!
//! - A campaign is stored whole (its row and every lead) or not at all; its
//!   id is its name, which prefixes every lead id, so lead ids are unique.
//! - A campaign's request id is scoped to its caller: the same id with the
//!   same content answers the stored campaign; other content, or another
//!   request for a name already used, is ALREADY_EXISTS.
//! - Outcomes are versions 1..n per lead, none ever changed; the lead's
//!   stage is its latest version. The same (caller, request id) with the
//!   same report answers the version it stored; another report is
//!   ALREADY_EXISTS.
//! - A bank reads and reports only the leads assigned to it: another bank's
//!   lead is NOT_FOUND, as an id that does not exist is.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::StoreError;
use crate::matching::funnel::FunnelRow;
use crate::matching::leads::Lead;
use crate::matching::referral::{OutcomeRecord, OutcomeReport};

/// A campaign about to be stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewCampaign {
    /// Its id: the name that prefixes its lead ids.
    pub id: String,
    /// The date the registry was matched for.
    pub as_of: NaiveDate,
    /// Valid firms matched.
    pub firms: u64,
    /// Registry entries that were not valid profiles.
    pub invalid: u64,
    /// Firms eligible for a product they already hold or applied for,
    /// per product: not leads.
    pub already: BTreeMap<String, u64>,
}

/// A stored campaign.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Campaign {
    /// Its id (its name).
    pub id: String,
    /// The match date.
    pub as_of: NaiveDate,
    /// Valid firms matched.
    pub firms: u64,
    /// Entries that were not valid profiles.
    pub invalid: u64,
    /// Leads.
    pub leads: u64,
    /// Firms left out per product because they already hold it.
    pub already: BTreeMap<String, u64>,
    /// The caller's request id.
    pub request_id: String,
    /// Who ran it.
    pub created_by: String,
    /// When (RFC 3339).
    pub created_at: String,
}

/// A stored lead and its latest outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredLead {
    /// Its place in the store: pages run in this order.
    pub seq: u64,
    /// The campaign.
    pub campaign_id: String,
    /// The lead.
    pub lead: Lead,
    /// Its latest outcome, if a bank reported one.
    pub latest: Option<OutcomeRecord>,
}

impl StoredLead {
    /// The lead as the funnel counts it.
    pub fn funnel_row(&self) -> FunnelRow {
        FunnelRow {
            product_id: self.lead.product_id.clone(),
            product_name: self.lead.product_name.clone(),
            bank_id: self.lead.bank_id.clone(),
            region_code: self.lead.region_code.clone(),
            size_class: self.lead.size_class,
            latest: self.latest.as_ref().map(|r| r.report.clone()),
        }
    }
}

/// Which leads a page holds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LeadFilter {
    /// One campaign's (else every campaign's).
    pub campaign: Option<String>,
    /// One bank's (a bank caller: always its own).
    pub bank: Option<String>,
    /// One product's.
    pub product: Option<String>,
}

/// What the referral service needs of a store. Every method is one
/// transaction; calls block.
pub trait ReferralStore: Send + Sync + std::fmt::Debug {
    /// Stores a campaign and its leads (in the order given), or answers the
    /// campaign an earlier call of the same (`by`, `request_id`) stored
    /// with the same `content_hash`.
    fn save_campaign(
        &self,
        request_id: &str,
        content_hash: &str,
        by: &str,
        campaign: &NewCampaign,
        leads: &[Lead],
    ) -> Result<Campaign, StoreError>;

    /// A campaign.
    fn campaign(&self, id: &str) -> Result<Option<Campaign>, StoreError>;

    /// Campaigns, oldest first, paged.
    fn campaigns(&self, offset: u64, limit: u64) -> Result<Vec<Campaign>, StoreError>;

    /// Up to `limit` leads matching `filter` after place `after`, in store
    /// order.
    fn leads(
        &self,
        filter: &LeadFilter,
        after: u64,
        limit: u64,
    ) -> Result<Vec<StoredLead>, StoreError>;

    /// One lead, if it exists and (for `bank`) is that bank's.
    fn lead(&self, id: &str, bank: Option<&str>) -> Result<Option<StoredLead>, StoreError>;

    /// Stores `report` as the next outcome version of lead `lead_id` (for
    /// `bank`: only its own leads, else NOT_FOUND), idempotent by (`by`,
    /// `request_id`) and `content_hash`.
    // (each argument is one part of the report's identity or its scope)
    #[allow(clippy::too_many_arguments)]
    fn report_outcome(
        &self,
        request_id: &str,
        content_hash: &str,
        by: &str,
        lead_id: &str,
        bank: Option<&str>,
        report: &OutcomeReport,
    ) -> Result<OutcomeRecord, StoreError>;

    /// Every outcome of a lead, oldest first.
    fn outcomes(&self, lead_id: &str) -> Result<Vec<OutcomeRecord>, StoreError>;
}

/// The funnel rows of `campaign` (for `bank`: its leads alone), read page
/// by page so a large campaign is never one result set in memory twice.
pub fn funnel_rows(
    store: &dyn ReferralStore,
    campaign: &str,
    bank: Option<&str>,
) -> Result<Vec<FunnelRow>, StoreError> {
    let filter = LeadFilter {
        campaign: Some(campaign.to_string()),
        bank: bank.map(str::to_string),
        product: None,
    };
    let (mut rows, mut after) = (Vec::new(), 0u64);
    loop {
        let page = store.leads(&filter, after, 10_000)?;
        let Some(last) = page.last() else {
            return Ok(rows);
        };
        after = last.seq;
        rows.extend(page.iter().map(StoredLead::funnel_row));
    }
}

/// JSON of a stored value, or a corrupt-data error.
pub(super) fn to_json<T: Serialize>(v: &T) -> Result<String, StoreError> {
    serde_json::to_string(v).map_err(|e| StoreError::Corrupt(e.to_string()))
}

/// A stored JSON value, or a corrupt-data error.
pub(super) fn from_json<T: for<'de> Deserialize<'de>>(s: &str) -> Result<T, StoreError> {
    serde_json::from_str(s).map_err(|e| StoreError::Corrupt(e.to_string()))
}

/// The answer to a repeated campaign request, or why it is refused.
pub(super) fn repeated_campaign(
    stored: Campaign,
    stored_hash: &str,
    content_hash: &str,
    request_id: &str,
) -> Result<Campaign, StoreError> {
    if stored_hash == content_hash {
        Ok(stored)
    } else {
        Err(StoreError::AlreadyExists(format!(
            "request_id `{request_id}` was already used for a different campaign"
        )))
    }
}

/// Why a campaign name cannot be used again.
pub(super) fn name_taken(id: &str) -> StoreError {
    StoreError::AlreadyExists(format!(
        "a campaign named `{id}` already exists; choose another name"
    ))
}

/// Why a lead cannot be reported on.
pub(super) fn no_lead(id: &str) -> StoreError {
    StoreError::NotFound(format!("no lead `{id}` among the caller's leads"))
}

/// Why an outcome request id cannot be used again.
pub(super) fn outcome_reused(request_id: &str) -> StoreError {
    StoreError::AlreadyExists(format!(
        "request_id `{request_id}` was already used for a different outcome"
    ))
}

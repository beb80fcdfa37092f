//! `smefin.v1.ReferralService`: campaigns, the leads banks list and the
//! outcomes they report, the funnel. Who sees what is decided here, once:
//! a bank's calls are narrowed to its own leads before the store is asked.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::NaiveDate;
use prost::Message;
use sha2::{Digest, Sha256};
use tonic::{Request, Response, Status, Streaming};

use crate::catalog::Catalog;
use crate::enterprise::Profile;
use crate::kernel::violation::FieldViolation;
use crate::matching::leads::{FirmLeads, LeadBook, banks_for, check_campaign_name};
use crate::matching::{self, MatchOptions};
use crate::server::auth::{Principal, caller};
use crate::server::convert::referral as conv;
use crate::server::error::{self, ApiError};
use crate::server::page::Page;
use crate::server::pb;
use crate::store::StoreError;
use crate::store::referral::{LeadFilter, NewCampaign, ReferralStore, funnel_rows};

/// Default and largest ListLeads pages.
const LEADS_PAGE: (u64, u64) = (1000, 10_000);

/// The referral service.
#[derive(Debug, Clone)]
pub struct ReferralSvc {
    store: Arc<dyn ReferralStore>,
    catalog: Arc<Catalog>,
    max_leads: u64,
}

impl ReferralSvc {
    /// A service over `store` and `catalog`; one campaign finds at most
    /// `max_leads` leads.
    pub fn new(store: Arc<dyn ReferralStore>, catalog: Arc<Catalog>, max_leads: u64) -> Self {
        ReferralSvc {
            store,
            catalog,
            max_leads,
        }
    }

    async fn db<T: Send + 'static>(
        &self,
        f: impl FnOnce(&(dyn ReferralStore + 'static)) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, Status> {
        super::on_store(&self.store, f).await
    }
}

fn invalid(reason: &'static str, violations: Vec<FieldViolation>) -> Status {
    ApiError::InvalidArgument { reason, violations }.into()
}

fn denied(p: &Principal, what: &str) -> Status {
    ApiError::PermissionDenied {
        reason: "NOT_ALLOWED",
        message: format!("{} may not {what}", p.name()),
    }
    .into()
}

/// The bank a caller is narrowed to (`None`: every bank), refusing a bank
/// that asks for another bank's.
fn scope(who: &Principal, asked: &str) -> Result<Option<String>, Status> {
    match who {
        Principal::Bank(id) if !asked.is_empty() && asked != id => {
            Err(denied(who, &format!("see the leads of bank `{asked}`")))
        }
        Principal::Bank(id) => Ok(Some(id.clone())),
        _ => Ok((!asked.is_empty()).then(|| asked.to_string())),
    }
}

/// A campaign's header, from the first message of its stream.
struct Head {
    request_id: String,
    name: String,
    as_of: NaiveDate,
    opts: MatchOptions,
    banks: BTreeMap<String, Vec<String>>,
}

fn head(first: &pb::RunCampaignRequest, catalog: &Catalog) -> Result<Head, Status> {
    let mut errs = Vec::new();
    if let Err(why) = crate::incentive::check_id(&first.request_id) {
        errs.push(FieldViolation::new("request_id", why));
    }
    if let Err(why) = check_campaign_name(&first.name) {
        errs.push(FieldViolation::new("name", why));
    }
    let as_of = if first.as_of.trim().is_empty() {
        Some(crate::files::today_cst())
    } else {
        crate::kernel::date::parse_date(&first.as_of)
            .map_err(|e| errs.push(FieldViolation::new("as_of", e)))
            .ok()
    };
    for (i, id) in first.product_ids.iter().enumerate() {
        if catalog.product(id).is_none() {
            errs.push(FieldViolation::new(
                format!("product_ids[{i}]"),
                format!("unknown product `{id}`"),
            ));
        }
    }
    let mut overrides = BTreeMap::new();
    for (i, a) in first.assignments.iter().enumerate() {
        if catalog.product(&a.product_id).is_none() {
            errs.push(FieldViolation::new(
                format!("assignments[{i}].product_id"),
                format!("unknown product `{}`", a.product_id),
            ));
        }
        for (j, b) in a.bank_ids.iter().enumerate() {
            if let Err(why) = crate::incentive::check_bank_id(b) {
                errs.push(FieldViolation::new(
                    format!("assignments[{i}].bank_ids[{j}]"),
                    why,
                ));
            }
        }
        overrides.insert(a.product_id.clone(), a.bank_ids.clone());
    }
    let (Some(as_of), true) = (as_of, errs.is_empty()) else {
        return Err(invalid("INVALID_CAMPAIGN", errs));
    };
    Ok(Head {
        request_id: crate::incentive::normalize_id(&first.request_id).unwrap_or_default(),
        name: first.name.clone(),
        as_of,
        opts: MatchOptions {
            as_of,
            product_ids: first.product_ids.clone(),
        },
        banks: banks_for(catalog, overrides),
    })
}

/// What a RunCampaign stream adds up to before it is stored.
struct Intake {
    book: LeadBook,
    leads: Vec<crate::matching::leads::Lead>,
    invalid: u64,
    hasher: Sha256,
}

impl Intake {
    /// Matches one enterprise (message `index`, counting from 1).
    fn add(
        &mut self,
        catalog: &Catalog,
        opts: &MatchOptions,
        index: u64,
        profile: pb::EnterpriseProfile,
    ) -> Result<(), Status> {
        let bytes = profile.encode_to_vec();
        self.hasher.update((bytes.len() as u64).to_le_bytes());
        self.hasher.update(&bytes);
        let Ok(p) = Profile::from_raw_at(profile.into(), "profile.") else {
            self.invalid += 1;
            return Ok(());
        };
        let cls = p.classify();
        let ev = matching::evaluate(catalog, &p, &cls, opts).map_err(ApiError::from)?;
        let leads = self.book.push(FirmLeads::of(index, &ev, &cls));
        self.leads.extend(leads);
        Ok(())
    }
}

impl Intake {
    /// Matches the stream's enterprises (the first message's `profile`,
    /// then one per message), refusing more than `max_leads` leads.
    async fn read(
        &mut self,
        stream: &mut Streaming<pb::RunCampaignRequest>,
        first: Option<pb::EnterpriseProfile>,
        catalog: &Catalog,
        opts: &MatchOptions,
        max_leads: u64,
    ) -> Result<(), Status> {
        let (mut index, mut next) = (0u64, first);
        loop {
            if let Some(p) = next.take() {
                self.add(catalog, opts, index + 1, p)?;
                if self.book.leads > max_leads {
                    return Err(ApiError::Store(StoreError::Quota(format!(
                        "the campaign finds more than {max_leads} leads, the most one call may hold (server.max_campaign_leads); run it with `smefin campaign` or split the registry"
                    )))
                    .into());
                }
            }
            index += 1;
            match stream
                .message()
                .await
                .map_err(|s| error::inbound(s, "requests", index))?
            {
                Some(mut m) => {
                    follow_on(&m, index)?;
                    next = m.profile.take();
                }
                None => return Ok(()),
            }
        }
    }
}

fn follow_on(m: &pb::RunCampaignRequest, index: u64) -> Result<(), Status> {
    let header = !m.request_id.is_empty()
        || !m.name.is_empty()
        || !m.as_of.is_empty()
        || !m.assignments.is_empty()
        || !m.product_ids.is_empty();
    if header {
        return Err(invalid(
            "INVALID_CAMPAIGN",
            vec![FieldViolation::new(
                "request_id",
                format!("message {index}: the campaign's fields belong in the first message only"),
            )],
        ));
    }
    Ok(())
}

#[tonic::async_trait]
impl pb::referral_service_server::ReferralService for ReferralSvc {
    async fn run_campaign(
        &self,
        request: Request<Streaming<pb::RunCampaignRequest>>,
    ) -> Result<Response<pb::RunCampaignResponse>, Status> {
        let who = caller(&request)?;
        if !who.is_bureau() {
            return Err(denied(&who, "run campaigns"));
        }
        let mut stream = request.into_inner();
        let mut first = stream
            .message()
            .await
            .map_err(|s| error::inbound(s, "requests", 0))?
            .ok_or_else(|| {
                invalid(
                    "INVALID_CAMPAIGN",
                    vec![FieldViolation::new("request_id", "the stream is empty")],
                )
            })?;
        let h = head(&first, &self.catalog)?;
        let mut intake = Intake {
            book: LeadBook::new(&h.name, h.banks.clone()),
            leads: Vec::new(),
            invalid: 0,
            hasher: Sha256::new(),
        };
        let profile = first.profile.take();
        first.request_id.clear();
        intake.hasher.update(first.encode_to_vec());
        intake
            .read(&mut stream, profile, &self.catalog, &h.opts, self.max_leads)
            .await?;
        let Intake {
            book,
            leads,
            invalid,
            hasher,
        } = intake;
        let hash = hex::encode(hasher.finalize());
        let counts = book.counts().clone();
        let new = NewCampaign {
            id: h.name.clone(),
            as_of: h.as_of,
            firms: book.firms,
            invalid,
            already: book.already.clone(),
        };
        let by = who.name();
        let request_id = h.request_id.clone();
        let c = self
            .db(move |s| s.save_campaign(&request_id, &hash, &by, &new, &leads))
            .await?;
        Ok(Response::new(pb::RunCampaignResponse {
            campaign: Some(conv::campaign(&c)),
            counts: counts
                .into_iter()
                .map(|((product_id, bank), leads)| pb::CampaignCount {
                    product_id,
                    bank_id: bank.unwrap_or_default(),
                    leads,
                })
                .collect(),
        }))
    }

    async fn list_campaigns(
        &self,
        request: Request<pb::ListCampaignsRequest>,
    ) -> Result<Response<pb::ListCampaignsResponse>, Status> {
        let who = caller(&request)?;
        if matches!(who, Principal::Bank(_)) {
            return Err(denied(
                &who,
                "list campaigns (ListLeads lists the bank's own leads)",
            ));
        }
        let pb::ListCampaignsRequest {
            page_size,
            page_token,
        } = request.into_inner();
        let p = Page::parse(&page_token, page_size, 50, 500)
            .map_err(|v| invalid("INVALID_PAGE", vec![v]))?;
        let rows = self.db(move |s| s.campaigns(p.offset, p.size + 1)).await?;
        let more = rows.len() as u64 > p.size;
        let campaigns: Vec<pb::Campaign> = rows
            .iter()
            .take(p.size as usize)
            .map(conv::campaign)
            .collect();
        let next_page_token = p.next_token(campaigns.len(), more);
        Ok(Response::new(pb::ListCampaignsResponse {
            campaigns,
            next_page_token,
        }))
    }

    async fn list_leads(
        &self,
        request: Request<pb::ListLeadsRequest>,
    ) -> Result<Response<pb::ListLeadsResponse>, Status> {
        let who = caller(&request)?;
        let pb::ListLeadsRequest {
            campaign_id,
            bank_id,
            product_id,
            page_size,
            page_token,
        } = request.into_inner();
        let size = match page_size {
            0 => LEADS_PAGE.0,
            n => u64::from(n).min(LEADS_PAGE.1),
        };
        let filter = LeadFilter {
            campaign: (!campaign_id.is_empty()).then_some(campaign_id),
            bank: scope(&who, &bank_id)?,
            product: (!product_id.is_empty()).then_some(product_id),
        };
        let rows = self
            .db(move |s| {
                let after = after_token(s, &page_token, &filter)?;
                s.leads(&filter, after, size + 1)
            })
            .await?;
        let more = rows.len() as u64 > size;
        let leads: Vec<pb::Lead> = rows.iter().take(size as usize).map(conv::lead).collect();
        // (the token is the page's last lead id, one of the caller's own:
        // nothing in it counts other banks' leads)
        let next_page_token = match (more, leads.last()) {
            (true, Some(last)) => format!("l{}", last.lead_id),
            _ => String::new(),
        };
        Ok(Response::new(pb::ListLeadsResponse {
            leads,
            next_page_token,
        }))
    }

    async fn report_lead_outcome(
        &self,
        request: Request<pb::ReportLeadOutcomeRequest>,
    ) -> Result<Response<pb::ReportLeadOutcomeResponse>, Status> {
        let who = caller(&request)?;
        if matches!(who, Principal::Analyst) {
            return Err(denied(&who, "report outcomes"));
        }
        let req = request.into_inner();
        let hash = hex::encode(Sha256::digest(
            pb::ReportLeadOutcomeRequest {
                request_id: String::new(),
                ..req.clone()
            }
            .encode_to_vec(),
        ));
        let (request_id, lead_id) = (req.request_id.clone(), req.lead_id.clone());
        let today = crate::files::today_cst();
        let mut errs = Vec::new();
        if let Err(why) = crate::incentive::check_id(&request_id) {
            errs.push(FieldViolation::new("request_id", why));
        }
        if lead_id.trim().is_empty() {
            errs.push(FieldViolation::new("lead_id", "is required"));
        }
        let report = conv::outcome_report(req, today);
        let report = match report {
            Ok(r) if errs.is_empty() => r,
            Ok(_) => return Err(invalid("INVALID_OUTCOME", errs)),
            Err(more) => {
                errs.extend(more);
                return Err(invalid("INVALID_OUTCOME", errs));
            }
        };
        let bank = scope(&who, "")?;
        // (the lead, within the caller's, and its campaign's date: one call)
        let (id, b) = (lead_id.clone(), bank.clone());
        let as_of = self
            .db(move |s| {
                let lead = s.lead(&id, b.as_deref())?.ok_or_else(|| {
                    StoreError::NotFound(format!("no lead `{id}` among the caller's leads"))
                })?;
                Ok(s.campaign(&lead.campaign_id)?.map(|c| c.as_of))
            })
            .await?
            .unwrap_or(report.date);
        let problems = report.check(as_of, today);
        if !problems.is_empty() {
            return Err(invalid("INVALID_OUTCOME", problems));
        }
        let by = who.name();
        let request_id = crate::incentive::normalize_id(&request_id).unwrap_or(request_id);
        let stored = self
            .db(move |s| {
                s.report_outcome(&request_id, &hash, &by, &lead_id, bank.as_deref(), &report)
            })
            .await?;
        Ok(Response::new(pb::ReportLeadOutcomeResponse {
            outcome: Some(conv::outcome(&stored)),
        }))
    }

    async fn get_lead(
        &self,
        request: Request<pb::GetLeadRequest>,
    ) -> Result<Response<pb::GetLeadResponse>, Status> {
        let who = caller(&request)?;
        let bank = scope(&who, "")?;
        let id = request.into_inner().lead_id;
        let lead = self
            .db({
                let id = id.clone();
                move |s| s.lead(&id, bank.as_deref())
            })
            .await?
            .ok_or_else(|| {
                ApiError::from(StoreError::NotFound(format!(
                    "no lead `{id}` among the caller's leads"
                )))
            })?;
        let lid = lead.lead.id.clone();
        let outcomes = self.db(move |s| s.outcomes(&lid)).await?;
        Ok(Response::new(pb::GetLeadResponse {
            lead: Some(conv::lead(&lead)),
            outcomes: outcomes.iter().map(conv::outcome).collect(),
        }))
    }

    async fn get_funnel(
        &self,
        request: Request<pb::GetFunnelRequest>,
    ) -> Result<Response<pb::GetFunnelResponse>, Status> {
        let who = caller(&request)?;
        let bank = scope(&who, "")?;
        let pb::GetFunnelRequest {
            campaign_id,
            compare_to,
            report,
        } = request.into_inner();
        let funnel = self
            .funnel(&campaign_id, bank.clone(), "campaign_id")
            .await?;
        let previous = if compare_to.is_empty() {
            None
        } else {
            Some(self.funnel(&compare_to, bank.clone(), "compare_to").await?)
        };
        let report_html = if report {
            crate::report::funnel::html(&funnel, previous.as_ref(), bank.as_deref())
        } else {
            String::new()
        };
        Ok(Response::new(pb::GetFunnelResponse {
            funnel: Some(conv::funnel(&funnel)),
            previous: previous.as_ref().map(conv::funnel),
            report_html,
        }))
    }
}

impl ReferralSvc {
    /// The funnel of campaign `id` over what `bank` may see.
    async fn funnel(
        &self,
        id: &str,
        bank: Option<String>,
        field: &str,
    ) -> Result<crate::matching::funnel::Funnel, Status> {
        if id.is_empty() {
            return Err(invalid(
                "INVALID_FUNNEL",
                vec![FieldViolation::new(field, "is required")],
            ));
        }
        let id = id.to_string();
        self.db(move |s| {
            let c = s
                .campaign(&id)?
                .ok_or_else(|| StoreError::NotFound(format!("no campaign `{id}`")))?;
            let rows = funnel_rows(s, &id, bank.as_deref())?;
            Ok(crate::matching::funnel::fold(&c.id, c.as_of, rows))
        })
        .await
    }
}

/// Where the page after `token` starts: the place of the lead it names,
/// which must be one the same filters show (else the token is not one this
/// service returned, as an invented one is not).
fn after_token(s: &dyn ReferralStore, token: &str, filter: &LeadFilter) -> Result<u64, StoreError> {
    if token.is_empty() {
        return Ok(0);
    }
    let bad = || StoreError::BadToken("page_token: is not a token this service returned".into());
    let id = token
        .strip_prefix('l')
        .filter(|id| !id.is_empty())
        .ok_or_else(bad)?;
    let lead = s.lead(id, filter.bank.as_deref())?.ok_or_else(bad)?;
    let shown = filter
        .campaign
        .as_ref()
        .is_none_or(|c| *c == lead.campaign_id)
        && filter
            .product
            .as_ref()
            .is_none_or(|p| *p == lead.lead.product_id);
    if shown { Ok(lead.seq) } else { Err(bad()) }
}

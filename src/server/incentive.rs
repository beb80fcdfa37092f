//! `smefin.v1.IncentiveService`: banks report balances, the bureau computes
//! statements. Storage calls run on the blocking pool.

use std::sync::Arc;

use prost::Message;
use sha2::{Digest, Sha256};
use tonic::{Request, Response, Status, Streaming};

use crate::incentive::{self, Bank, IncentiveRules, Quarter};
use crate::kernel::money::Yuan;
use crate::kernel::violation::FieldViolation;
use crate::server::auth::{Principal, caller};
use crate::server::convert::incentive as conv;
use crate::server::error::{self, ApiError};
use crate::server::page::Page;
use crate::server::pb;
pub use crate::server::snapshot::{MAX_SNAPSHOT_LOANS, SnapshotMemory};
use crate::server::snapshot::{SnapshotHead, SnapshotIntake, invalid};
use crate::store::{IncentiveStore, Quota, StoreError, Submission};

/// The incentive service.
#[derive(Debug, Clone)]
pub struct IncentiveSvc {
    store: Arc<dyn IncentiveStore>,
    rules: Arc<IncentiveRules>,
    quota: Quota,
    snapshots: SnapshotMemory,
}

impl IncentiveSvc {
    /// A service over a store, each bank within `quota`, snapshots within
    /// `snapshots`.
    pub fn new(
        store: Arc<dyn IncentiveStore>,
        rules: IncentiveRules,
        quota: Quota,
        snapshots: SnapshotMemory,
    ) -> Self {
        IncentiveSvc {
            store,
            rules: Arc::new(rules),
            quota,
            snapshots,
        }
    }

    async fn db<T: Send + 'static>(
        &self,
        f: impl FnOnce(&(dyn IncentiveStore + 'static)) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, Status> {
        super::on_store(&self.store, f).await
    }
}

fn denied(p: &Principal, what: &str) -> Status {
    ApiError::PermissionDenied {
        reason: "NOT_ALLOWED",
        message: format!("{} may not {what}", p.name()),
    }
    .into()
}

fn check_bank_id(field: &str, id: &str, errs: &mut Vec<FieldViolation>) {
    if let Err(why) = crate::incentive::check_bank_id(id) {
        errs.push(FieldViolation::new(field, why));
    }
}

fn check_request_id(id: &str, errs: &mut Vec<FieldViolation>) {
    if let Err(why) = crate::incentive::check_id(id) {
        errs.push(FieldViolation::new("request_id", why));
    }
}

fn period(field: &str, s: &str, errs: &mut Vec<FieldViolation>) -> Option<Quarter> {
    match s.parse::<Quarter>() {
        Ok(q) => Some(q),
        Err(e) => {
            errs.push(FieldViolation::new(field, e));
            None
        }
    }
}

fn page(token: &str, size: u32) -> Result<Page, Status> {
    Page::parse(token, size, 100, 1000).map_err(|v| invalid(vec![v]))
}

#[tonic::async_trait]
impl pb::incentive_service_server::IncentiveService for IncentiveSvc {
    async fn register_bank(
        &self,
        request: Request<pb::RegisterBankRequest>,
    ) -> Result<Response<pb::RegisterBankResponse>, Status> {
        let who = caller(&request)?;
        if !who.is_bureau() {
            return Err(denied(&who, "register banks"));
        }
        let pb::RegisterBankRequest {
            bank_id,
            name,
            institution_type,
        } = request.into_inner();
        let mut errs = Vec::new();
        check_bank_id("bank_id", &bank_id, &mut errs);
        if let Err(why) = incentive::check_text(&name, 200) {
            errs.push(FieldViolation::new("name", why));
        }
        let t = conv::institution_type(institution_type);
        if t.is_none() {
            errs.push(FieldViolation::new(
                "institution_type",
                "must be an INSTITUTION_TYPE_ value other than UNSPECIFIED",
            ));
        }
        let (Some(institution_type), true) = (t, errs.is_empty()) else {
            return Err(invalid(errs));
        };
        let b = Bank {
            bank_id,
            name: name.trim().to_string(),
            institution_type,
        };
        let stored = self.db(move |s| s.register_bank(&b)).await?;
        Ok(Response::new(pb::RegisterBankResponse {
            bank: Some(conv::bank(&stored, &self.rules)),
        }))
    }

    async fn list_banks(
        &self,
        request: Request<pb::ListBanksRequest>,
    ) -> Result<Response<pb::ListBanksResponse>, Status> {
        let who = caller(&request)?;
        let pb::ListBanksRequest {
            page_size,
            page_token,
        } = request.into_inner();
        let p = page(&page_token, page_size)?;
        // Paged in the store; a bank sees only itself, the bureau every bank.
        let only = match &who {
            Principal::Bank(id) => Some(id.clone()),
            Principal::Open | Principal::Bureau => None,
            Principal::Analyst => {
                return Err(denied(&who, "list banks"));
            }
        };
        let rows = self
            .db(move |s| s.banks_page(only.as_deref(), p.offset, p.size + 1))
            .await?;
        let more = rows.len() as u64 > p.size;
        let out: Vec<pb::Bank> = rows
            .iter()
            .take(p.size as usize)
            .map(|b| conv::bank(b, &self.rules))
            .collect();
        let next_page_token = p.next_token(out.len(), more);
        Ok(Response::new(pb::ListBanksResponse {
            banks: out,
            next_page_token,
        }))
    }

    async fn submit_balance_report(
        &self,
        request: Request<pb::SubmitBalanceReportRequest>,
    ) -> Result<Response<pb::SubmitBalanceReportResponse>, Status> {
        let who = caller(&request)?;
        let req = request.into_inner();
        // (the content, not the request id: a resubmission under another
        // id is the same content)
        let hash = hex::encode(Sha256::digest(
            pb::SubmitBalanceReportRequest {
                request_id: String::new(),
                ..req.clone()
            }
            .encode_to_vec(),
        ));
        let pb::SubmitBalanceReportRequest {
            request_id,
            bank_id,
            period: p,
            balance,
        } = req;
        let mut errs = Vec::new();
        check_request_id(&request_id, &mut errs);
        check_bank_id("bank_id", &bank_id, &mut errs);
        let q = period("period", &p, &mut errs);
        let bal = Yuan::parse_fen(&balance)
            .map_err(|e| errs.push(FieldViolation::new("balance", e.to_string())))
            .ok();
        let (Some(q), Some(bal), true) = (q, bal, errs.is_empty()) else {
            return Err(invalid(errs));
        };
        if !who.may_act_for(&bank_id) {
            return Err(denied(
                &who,
                &format!("submit reports for bank `{bank_id}`"),
            ));
        }
        let by = who.name();
        let quota = self.quota;
        let r = self
            .db(move |s| {
                s.submit(
                    &request_id,
                    &hash,
                    &bank_id,
                    q,
                    Submission::Total(bal),
                    &by,
                    &quota,
                )
            })
            .await?;
        Ok(Response::new(pb::SubmitBalanceReportResponse {
            report: Some(r.into()),
        }))
    }

    async fn submit_loan_snapshot(
        &self,
        request: Request<Streaming<pb::SubmitLoanSnapshotRequest>>,
    ) -> Result<Response<pb::SubmitLoanSnapshotResponse>, Status> {
        let who = caller(&request)?;
        let mut stream = request.into_inner();
        let first = stream
            .message()
            .await
            .map_err(|s| error::inbound(s, "requests", 0))?
            .ok_or_else(|| {
                invalid(vec![FieldViolation::new(
                    "request_id",
                    "the stream is empty",
                )])
            })?;
        let (mut head, mut intake) = SnapshotIntake::open(first, self.snapshots.clone());
        let Some(q) = head.period else {
            return Err(invalid(intake.errs));
        };
        if !who.may_act_for(&head.bank_id) {
            return Err(denied(
                &who,
                &format!("submit snapshots for bank `{}`", head.bank_id),
            ));
        }
        intake.push(std::mem::take(&mut head.loans))?;
        intake.read_rest(&mut stream, &head).await?;
        let SnapshotIntake {
            hasher,
            records,
            mut errs,
            ..
        } = intake;
        let SnapshotHead {
            request_id,
            bank_id,
            ..
        } = head;
        let limit = self
            .rules
            .line_limit_for(q)
            .map_err(|why| errs.push(FieldViolation::new("period", why)))
            .ok();
        let (Some(limit), true) = (limit, errs.is_empty()) else {
            return Err(invalid(errs));
        };
        let hash = hex::encode(hasher.finalize());
        let by = who.name();
        let received = records.len() as u64;
        let quota = self.quota;
        let r = self
            .db(move |s| {
                let computed = incentive::snapshot_balance(&records, limit);
                s.submit(
                    &request_id,
                    &hash,
                    &bank_id,
                    q,
                    Submission::Snapshot(&records, &computed),
                    &by,
                    &quota,
                )
            })
            .await?;
        Ok(Response::new(pb::SubmitLoanSnapshotResponse {
            report: Some(r.into()),
            loans_received: received,
        }))
    }

    async fn compute_incentives(
        &self,
        request: Request<pb::ComputeIncentivesRequest>,
    ) -> Result<Response<pb::ComputeIncentivesResponse>, Status> {
        let who = caller(&request)?;
        if !who.is_bureau() {
            return Err(denied(&who, "compute incentives"));
        }
        let pb::ComputeIncentivesRequest { period: p, budget } = request.into_inner();
        let mut errs = Vec::new();
        let q = period("period", &p, &mut errs);
        let budget = if budget.trim().is_empty() {
            None
        } else {
            Yuan::parse_fen(&budget)
                .map_err(|e| errs.push(FieldViolation::new("budget", e.to_string())))
                .ok()
        };
        let (Some(q), true) = (q, errs.is_empty()) else {
            return Err(invalid(errs));
        };
        let rules = self.rules.clone();
        let by = who.name();
        let s = self
            .db(move |s| s.compute_statement(&rules, q, budget, &by))
            .await?;
        Ok(Response::new(pb::ComputeIncentivesResponse {
            statement: Some(conv::statement(s, |_| true)),
        }))
    }

    async fn get_statement(
        &self,
        request: Request<pb::GetStatementRequest>,
    ) -> Result<Response<pb::GetStatementResponse>, Status> {
        let who = caller(&request)?;
        let pb::GetStatementRequest { period: p, version } = request.into_inner();
        let mut errs = Vec::new();
        let q = period("period", &p, &mut errs);
        let (Some(q), true) = (q, errs.is_empty()) else {
            return Err(invalid(errs));
        };
        let v = (version > 0).then_some(version);
        let s = self.db(move |s| s.statement(q, v)).await?.ok_or_else(|| {
            Status::from(ApiError::NotFound {
                reason: "STATEMENT_NOT_FOUND",
                kind: "statement",
                name: format!("{q} v{version}"),
            })
        })?;
        let stmt = conv::statement(s, |l| who.may_act_for(&l.bank_id));
        Ok(Response::new(pb::GetStatementResponse {
            statement: Some(stmt),
        }))
    }

    async fn list_reports(
        &self,
        request: Request<pb::ListReportsRequest>,
    ) -> Result<Response<pb::ListReportsResponse>, Status> {
        let who = caller(&request)?;
        let pb::ListReportsRequest {
            bank_id,
            period: p,
            page_size,
            page_token,
        } = request.into_inner();
        let mut errs = Vec::new();
        let q = if p.is_empty() {
            None
        } else {
            period("period", &p, &mut errs)
        };
        if !bank_id.is_empty() {
            check_bank_id("bank_id", &bank_id, &mut errs);
        }
        if !errs.is_empty() {
            return Err(invalid(errs));
        }
        let p = page(&page_token, page_size)?;
        let bank = match (&who, bank_id.is_empty()) {
            (Principal::Bank(own), true) => Some(own.clone()),
            (_, true) => None,
            (w, false) if w.may_act_for(&bank_id) => Some(bank_id),
            (w, false) => return Err(denied(w, &format!("read reports of bank `{bank_id}`"))),
        };
        let rows = self
            .db(move |s| s.reports(bank.as_deref(), q, p.offset, p.size + 1))
            .await?;
        let more = rows.len() as u64 > p.size;
        let reports: Vec<pb::BalanceReport> = rows
            .into_iter()
            .take(p.size as usize)
            .map(Into::into)
            .collect();
        let next_page_token = p.next_token(reports.len(), more);
        Ok(Response::new(pb::ListReportsResponse {
            reports,
            next_page_token,
        }))
    }
}

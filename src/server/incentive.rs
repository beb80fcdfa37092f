//! `smefin.v1.IncentiveService`: banks report balances, the bureau computes
//! statements. Storage calls run on the blocking pool.

use std::sync::Arc;

use prost::Message;
use sha2::{Digest, Sha256};
use tonic::{Request, Response, Status, Streaming};

use crate::incentive::{self, Bank, IncentiveRules, LoanRecord, Quarter};
use crate::kernel::money::Yuan;
use crate::kernel::violation::FieldViolation;
use crate::server::auth::{Principal, caller};
use crate::server::convert::incentive as conv;
use crate::server::error::{self, ApiError};
use crate::server::page::Page;
use crate::server::pb;
use crate::store::{IncentiveStore, Quota, StoreError, Submission};

/// Most loans accepted in one snapshot.
pub const MAX_SNAPSHOT_LOANS: usize = 5_000_000;

/// The incentive service.
#[derive(Debug, Clone)]
pub struct IncentiveSvc {
    store: Arc<dyn IncentiveStore>,
    rules: Arc<IncentiveRules>,
    quota: Quota,
    snapshots: SnapshotMemory,
}

/// The memory loan snapshots may hold while they stream in: so much per
/// snapshot, so much for all of them at once (a semaphore of KiB).
#[derive(Debug, Clone)]
pub struct SnapshotMemory {
    per_snapshot: u64,
    total: u64,
    pool: Arc<tokio::sync::Semaphore>,
}

impl SnapshotMemory {
    /// `per_snapshot` bytes each, `total` for all at once.
    pub fn new(per_snapshot: u64, total: u64) -> Self {
        let kib = usize::try_from(total >> 10)
            .unwrap_or(usize::MAX)
            .min(tokio::sync::Semaphore::MAX_PERMITS);
        SnapshotMemory {
            per_snapshot,
            total,
            pool: Arc::new(tokio::sync::Semaphore::new(kib)),
        }
    }
}

/// Bytes a loan of the snapshot holds until the stream ends: the record
/// (amounts, enums, two strings' headers), its ids (in the record and in the
/// set of ids seen) and the borrower's entry when the balance is computed,
/// with the allocator's rounding: counted from the types' sizes.
fn loan_bytes(l: &pb::LoanRecord) -> u64 {
    (std::mem::size_of::<LoanRecord>() + 96 + 2 * l.loan_id.len() + 2 * l.borrower_id.len()) as u64
}

/// What one snapshot holds of [`SnapshotMemory`].
struct Held {
    bytes: u64,
    permits: Option<tokio::sync::OwnedSemaphorePermit>,
    kib: u32,
}

impl Held {
    /// Charges `more` bytes, or refuses RESOURCE_EXHAUSTED.
    fn charge(&mut self, m: &SnapshotMemory, more: u64) -> Result<(), Status> {
        self.bytes += more;
        if self.bytes > m.per_snapshot {
            return Err(Status::resource_exhausted(format!(
                "the snapshot holds more than {} MB while it streams in (server.max_snapshot_bytes): \
                 send the quarter's total with SubmitBalanceReport instead, or ask the operator to raise the limit",
                m.per_snapshot >> 20
            )));
        }
        let need = u32::try_from(self.bytes.div_ceil(1 << 10)).unwrap_or(u32::MAX);
        if need > self.kib {
            // (in steps of 1 MiB, so the semaphore is asked seldom)
            let step = (need - self.kib).max(1 << 10);
            let p = m.pool.clone().try_acquire_many_owned(step).map_err(|_| {
                Status::resource_exhausted(format!(
                    "snapshots streaming in hold {} MB, the server's limit (server.max_snapshot_bytes_total); retry later",
                    m.total >> 20
                ))
            })?;
            match &mut self.permits {
                Some(held) => held.merge(p),
                None => self.permits = Some(p),
            }
            self.kib += step;
        }
        Ok(())
    }
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
        f: impl FnOnce(&dyn IncentiveStore) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, Status> {
        let store = self.store.clone();
        tokio::task::spawn_blocking(move || f(store.as_ref()))
            .await
            .map_err(|e| Status::internal(format!("storage worker failed: {e}")))?
            .map_err(|e| ApiError::from(e).into())
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

fn invalid(violations: Vec<FieldViolation>) -> Status {
    ApiError::InvalidArgument {
        reason: "INVALID_INCENTIVE_REQUEST",
        violations,
    }
    .into()
}

fn page(token: &str, size: u32) -> Result<Page, Status> {
    Page::parse(token, size, 100, 1000).map_err(|v| invalid(vec![v]))
}

/// The record of loan `i`, its loan id already admitted (normalised) as
/// `loan_id`, its borrower id normalised by the same rule.
fn loan(
    i: usize,
    loan_id: Option<String>,
    l: pb::LoanRecord,
    errs: &mut Vec<FieldViolation>,
) -> Option<LoanRecord> {
    let pb::LoanRecord {
        loan_id: _,
        borrower_id,
        borrower_type,
        purpose,
        credit_line,
        balance,
    } = l;
    let before = errs.len();
    let f = |name: &str| format!("loans[{i}].{name}");
    let bt = conv::borrower_type(borrower_type);
    if bt.is_none() {
        errs.push(FieldViolation::new(
            f("borrower_type"),
            "must be a BORROWER_TYPE_ value other than UNSPECIFIED",
        ));
    }
    let use_ = conv::loan_use(purpose);
    if use_.is_none() {
        errs.push(FieldViolation::new(
            f("purpose"),
            "must be a LOAN_USE_ value other than UNSPECIFIED",
        ));
    }
    let mut money = |name: &str, s: &str| match Yuan::parse_fen(s) {
        Ok(y) => y,
        Err(e) => {
            errs.push(FieldViolation::new(f(name), e.to_string()));
            Yuan::ZERO
        }
    };
    let credit_line = money("credit_line", &credit_line);
    let balance = money("balance", &balance);
    let borrower_id = incentive::normalize_id(&borrower_id)
        .map_err(|why| errs.push(FieldViolation::new(f("borrower_id"), why)))
        .ok();
    let rec = LoanRecord {
        loan_id: loan_id?,
        borrower_id: borrower_id?,
        borrower_type: bt?,
        purpose: use_?,
        credit_line,
        balance,
    };
    (errs.len() == before).then_some(rec)
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
        let mut index = 0u64;
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
        let mut hasher = Sha256::new();
        let pb::SubmitLoanSnapshotRequest {
            request_id,
            bank_id,
            period: p,
            loans,
        } = first;
        hasher.update(
            pb::SubmitLoanSnapshotRequest {
                request_id: String::new(),
                bank_id: bank_id.clone(),
                period: p.clone(),
                loans: vec![],
            }
            .encode_to_vec(),
        );
        let mut errs = Vec::new();
        check_request_id(&request_id, &mut errs);
        check_bank_id("bank_id", &bank_id, &mut errs);
        let q = period("period", &p, &mut errs);
        let (Some(q), true) = (q, errs.is_empty()) else {
            return Err(invalid(errs));
        };
        if !who.may_act_for(&bank_id) {
            return Err(denied(
                &who,
                &format!("submit snapshots for bank `{bank_id}`"),
            ));
        }
        let mut records = Vec::new();
        // Loans are numbered across the whole stream (`loans[i]`); a loan
        // may have several problems, so the count is kept, not derived.
        let mut seen = 0usize;
        let mut ids = incentive::LoanIds::default();
        let mut held = Held {
            bytes: 0,
            permits: None,
            kib: 0,
        };
        let memory = self.snapshots.clone();
        let mut push = |batch: Vec<pb::LoanRecord>,
                        records: &mut Vec<LoanRecord>,
                        errs: &mut Vec<FieldViolation>|
         -> Result<(), Status> {
            let bytes: u64 = batch.iter().map(loan_bytes).sum();
            held.charge(&memory, bytes)?;
            for l in batch {
                hasher.update(l.encode_to_vec());
                let id = ids
                    .admit(seen, &l.loan_id, |i| format!("loans[{i}]"))
                    .map_err(|why| {
                        errs.push(FieldViolation::new(format!("loans[{seen}].loan_id"), why))
                    })
                    .ok();
                if let Some(r) = loan(seen, id, l, errs) {
                    records.push(r);
                }
                seen += 1;
            }
            Ok(())
        };
        push(loans, &mut records, &mut errs)?;
        while let Some(msg) = {
            index += 1;
            stream
                .message()
                .await
                .map_err(|s| error::inbound(s, "requests", index))?
        } {
            if !msg.request_id.is_empty() && msg.request_id != request_id
                || !msg.bank_id.is_empty() && msg.bank_id != bank_id
            {
                return Err(invalid(vec![FieldViolation::new(
                    "request_id",
                    "later messages must repeat the first message's ids or leave them empty",
                )]));
            }
            push(msg.loans, &mut records, &mut errs)?;
            if records.len() > MAX_SNAPSHOT_LOANS {
                return Err(invalid(vec![FieldViolation::new(
                    "loans",
                    format!("more than {MAX_SNAPSHOT_LOANS} loans"),
                )]));
            }
            if errs.len() > 100 {
                break;
            }
        }
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

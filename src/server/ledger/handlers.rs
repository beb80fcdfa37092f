//! The LedgerService's calls.

use super::*;

#[tonic::async_trait]
impl pb::ledger_service_server::LedgerService for LedgerSvc {
    async fn create_pool(
        &self,
        request: Request<pb::CreatePoolRequest>,
    ) -> Result<Response<pb::CreatePoolResponse>, Status> {
        let who = caller(&request)?;
        if !who.is_bureau() {
            return Err(denied(&who, "create pools"));
        }
        let pb::CreatePoolRequest {
            pool_id,
            programme_id,
        } = request.into_inner();
        let mut errs = Vec::new();
        ids("x", &pool_id, &mut errs);
        if !self.programmes.iter().any(|p| p.id == programme_id) {
            errs.push(FieldViolation::new(
                "programme_id",
                format!("unknown programme `{programme_id}`"),
            ));
        }
        if !errs.is_empty() {
            return Err(invalid(errs));
        }
        let (store, by) = (self.store.clone(), who.name());
        let p =
            tokio::task::spawn_blocking(move || store.create_pool(&pool_id, &programme_id, &by))
                .await
                .map_err(|e| Status::internal(e.to_string()))?
                .map_err(ApiError::from)?;
        Ok(Response::new(pb::CreatePoolResponse {
            pool_id: p.pool_id,
            programme_id: p.programme_id,
        }))
    }

    async fn record_cash(
        &self,
        request: Request<pb::RecordCashRequest>,
    ) -> Result<Response<pb::RecordCashResponse>, Status> {
        let who = caller(&request)?;
        if !who.is_bureau() {
            return Err(denied(&who, "move the pool's cash"));
        }
        let req = request.into_inner();
        let content = hash(&pb::RecordCashRequest {
            request_id: String::new(),
            ..req.clone()
        });
        let mut errs = Vec::new();
        ids(&req.request_id, &req.pool_id, &mut errs);
        let amount = positive(&req.amount, "amount", &mut errs);
        let on = date(&req.date, "date", &mut errs);
        let kind = match pb::CashKind::try_from(req.kind).unwrap_or(pb::CashKind::Unspecified) {
            pb::CashKind::Capital => Some(EventKind::CapitalInjected { amount }),
            pb::CashKind::TopUp => Some(EventKind::TopUp { amount }),
            pb::CashKind::Withdrawal => Some(EventKind::Withdrawal { amount }),
            pb::CashKind::Interest => Some(EventKind::InterestCredited { amount }),
            pb::CashKind::Unspecified => {
                errs.push(FieldViolation::new(
                    "kind",
                    "must be a CASH_KIND_ value other than UNSPECIFIED",
                ));
                None
            }
        };
        let (Some(kind), true) = (kind, errs.is_empty()) else {
            return Err(invalid(errs));
        };
        let ev = self
            .write(req.pool_id, req.request_id, content, &who, on, move |b| {
                kinds(decide::cash(b, kind.clone(), on))
            })
            .await?;
        Ok(Response::new(pb::RecordCashResponse {
            event: one(ev, &who),
        }))
    }

    async fn enroll_loan(
        &self,
        request: Request<pb::EnrollLoanRequest>,
    ) -> Result<Response<pb::EnrollLoanResponse>, Status> {
        let who = caller(&request)?;
        let req = request.into_inner();
        let content = hash(&pb::EnrollLoanRequest {
            request_id: String::new(),
            ..req.clone()
        });
        if !who.may_act_for(&req.bank_id) {
            return Err(denied(
                &who,
                &format!("enrol loans of bank `{}`", req.bank_id),
            ));
        }
        let (loan, borrower, on) = enrolment(&req)?;
        let p = self.programme(req.pool_id.clone()).await?;
        eligible(&self.catalog, &p, &borrower, loan.disbursed)
            .map_err(|r| Status::from(ApiError::from(refused(r))))?;
        let ev = self
            .write(req.pool_id, req.request_id, content, &who, on, move |b| {
                kinds(decide::enrol(b, loan.clone(), on))
            })
            .await?;
        Ok(Response::new(pb::EnrollLoanResponse {
            event: one(ev, &who),
        }))
    }

    async fn enroll_loans(
        &self,
        request: Request<Streaming<pb::EnrollLoansRequest>>,
    ) -> Result<Response<pb::EnrollLoansResponse>, Status> {
        let who = caller(&request)?;
        batch::enrol_many(self, who, request.into_inner()).await
    }

    async fn report_loan_status(
        &self,
        request: Request<Streaming<pb::ReportLoanStatusRequest>>,
    ) -> Result<Response<pb::ReportLoanStatusResponse>, Status> {
        let who = caller(&request)?;
        status::report(self, who, request.into_inner()).await
    }

    async fn file_claim(
        &self,
        request: Request<pb::FileClaimRequest>,
    ) -> Result<Response<pb::FileClaimResponse>, Status> {
        let who = caller(&request)?;
        if matches!(who, Principal::Analyst) {
            return Err(denied(&who, "file claims"));
        }
        let req = request.into_inner();
        let content = hash(&pb::FileClaimRequest {
            request_id: String::new(),
            ..req.clone()
        });
        let mut errs = Vec::new();
        ids(&req.request_id, &req.pool_id, &mut errs);
        named(&req.claim_id, "claim_id", &mut errs);
        named(&req.loan_id, "loan_id", &mut errs);
        bank_named(&req.bank_id, &mut errs);
        let on = date(&req.date, "date", &mut errs);
        if !errs.is_empty() {
            return Err(invalid(errs));
        }
        let (claim, loan, bank) = (req.claim_id.clone(), req.loan_id.clone(), req.bank_id);
        let w = who.clone();
        let ev = self
            .write(req.pool_id, req.request_id, content, &who, on, move |b| {
                let bank = loan_bank(b, &bank, &loan, &w)?;
                kinds(decide::file_claim(b, &bank, &claim, &loan))
            })
            .await?;
        Ok(Response::new(pb::FileClaimResponse {
            event: one(ev, &who),
        }))
    }

    async fn review_claim(
        &self,
        request: Request<pb::ReviewClaimRequest>,
    ) -> Result<Response<pb::ReviewClaimResponse>, Status> {
        let who = caller(&request)?;
        if !who.is_bureau() {
            return Err(denied(&who, "review claims"));
        }
        let req = request.into_inner();
        let content = hash(&pb::ReviewClaimRequest {
            request_id: String::new(),
            ..req.clone()
        });
        let mut errs = Vec::new();
        ids(&req.request_id, &req.pool_id, &mut errs);
        named(&req.claim_id, "claim_id", &mut errs);
        bank_named(&req.bank_id, &mut errs);
        let on = date(&req.date, "date", &mut errs);
        let deny = match pb::ClaimDenial::try_from(req.deny) {
            Ok(pb::ClaimDenial::Unspecified) => None,
            Ok(pb::ClaimDenial::Late) => Some(DenialReason::Late),
            Ok(pb::ClaimDenial::NonCompliant) => Some(DenialReason::NonCompliant),
            Ok(pb::ClaimDenial::NoRecoveryEffort) => Some(DenialReason::NoRecoveryEffort),
            Ok(pb::ClaimDenial::Misrepresentation) => Some(DenialReason::Misrepresentation),
            Ok(pb::ClaimDenial::Other) => Some(DenialReason::Other),
            Err(_) => {
                errs.push(FieldViolation::new("deny", "is not a CLAIM_DENIAL_ value"));
                None
            }
        };
        if !errs.is_empty() {
            return Err(invalid(errs));
        }
        let (claim, bank, w) = (req.claim_id.clone(), req.bank_id, who.clone());
        let ev = self
            .write(req.pool_id, req.request_id, content, &who, on, move |b| {
                let bank = claim_bank(b, &bank, &claim, &w)?;
                kinds(decide::review(b, &bank, &claim, deny))
            })
            .await?;
        Ok(Response::new(pb::ReviewClaimResponse {
            event: one(ev, &who),
        }))
    }

    async fn pay_claim(
        &self,
        request: Request<pb::PayClaimRequest>,
    ) -> Result<Response<pb::PayClaimResponse>, Status> {
        let who = caller(&request)?;
        if !who.is_bureau() {
            return Err(denied(&who, "pay claims"));
        }
        let req = request.into_inner();
        let content = hash(&pb::PayClaimRequest {
            request_id: String::new(),
            ..req.clone()
        });
        let mut errs = Vec::new();
        ids(&req.request_id, &req.pool_id, &mut errs);
        named(&req.claim_id, "claim_id", &mut errs);
        bank_named(&req.bank_id, &mut errs);
        let on = date(&req.date, "date", &mut errs);
        if !errs.is_empty() {
            return Err(invalid(errs));
        }
        let (claim, bank, w) = (req.claim_id.clone(), req.bank_id, who.clone());
        let ev = self
            .write(req.pool_id, req.request_id, content, &who, on, move |b| {
                let bank = claim_bank(b, &bank, &claim, &w)?;
                kinds(decide::pay(b, &bank, &claim, on))
            })
            .await?;
        Ok(Response::new(pb::PayClaimResponse {
            event: one(ev, &who),
        }))
    }

    async fn report_recovery(
        &self,
        request: Request<pb::ReportRecoveryRequest>,
    ) -> Result<Response<pb::ReportRecoveryResponse>, Status> {
        let who = caller(&request)?;
        if matches!(who, Principal::Analyst) {
            return Err(denied(&who, "report recoveries"));
        }
        let req = request.into_inner();
        let content = hash(&pb::ReportRecoveryRequest {
            request_id: String::new(),
            ..req.clone()
        });
        let mut errs = Vec::new();
        ids(&req.request_id, &req.pool_id, &mut errs);
        named(&req.loan_id, "loan_id", &mut errs);
        let amount = positive(&req.amount, "amount", &mut errs);
        bank_named(&req.bank_id, &mut errs);
        let on = date(&req.date, "date", &mut errs);
        if !errs.is_empty() {
            return Err(invalid(errs));
        }
        let (loan, bank, w) = (req.loan_id.clone(), req.bank_id, who.clone());
        let ev = self
            .write(req.pool_id, req.request_id, content, &who, on, move |b| {
                let bank = loan_bank(b, &bank, &loan, &w)?;
                kinds(decide::recovery(b, &bank, &loan, amount, on))
            })
            .await?;
        Ok(Response::new(pb::ReportRecoveryResponse {
            event: one(ev, &who),
        }))
    }

    async fn resume_enrolment(
        &self,
        request: Request<pb::ResumeEnrolmentRequest>,
    ) -> Result<Response<pb::ResumeEnrolmentResponse>, Status> {
        let who = caller(&request)?;
        if !who.is_bureau() {
            return Err(denied(&who, "resume enrolment"));
        }
        let req = request.into_inner();
        let content = hash(&pb::ResumeEnrolmentRequest {
            request_id: String::new(),
            ..req.clone()
        });
        let mut errs = Vec::new();
        ids(&req.request_id, &req.pool_id, &mut errs);
        bank_named(&req.bank_id, &mut errs);
        let on = date(&req.date, "date", &mut errs);
        if !errs.is_empty() {
            return Err(invalid(errs));
        }
        let bank = (!req.bank_id.is_empty()).then(|| req.bank_id.clone());
        let ev = self
            .write(req.pool_id, req.request_id, content, &who, on, move |b| {
                kinds(decide::resume(b, bank.as_deref(), on))
            })
            .await?;
        Ok(Response::new(pb::ResumeEnrolmentResponse {
            event: one(ev, &who),
        }))
    }

    async fn list_events(
        &self,
        request: Request<pb::ListEventsRequest>,
    ) -> Result<Response<pb::ListEventsResponse>, Status> {
        let who = caller(&request)?;
        self.list_events_of(who, request.into_inner()).await
    }

    async fn project_pool(
        &self,
        request: Request<pb::ProjectPoolRequest>,
    ) -> Result<Response<pb::ProjectPoolResponse>, Status> {
        let who = caller(&request)?;
        self.project(who, request.into_inner()).await
    }

    async fn get_pool_state(
        &self,
        request: Request<pb::GetPoolStateRequest>,
    ) -> Result<Response<pb::GetPoolStateResponse>, Status> {
        let who = caller(&request)?;
        let req = request.into_inner();
        let mut errs = Vec::new();
        pool(&req.pool_id, &mut errs);
        let as_of = date(&req.as_of, "as_of", &mut errs);
        let start = (!req.period_start.is_empty())
            .then(|| date(&req.period_start, "period_start", &mut errs));
        let known = (!req.known_at.is_empty()).then(|| {
            chrono::DateTime::parse_from_rfc3339(&req.known_at)
                .map(|t| {
                    t.with_timezone(&chrono::Utc)
                        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
                })
                .unwrap_or_else(|e| {
                    errs.push(FieldViolation::new(
                        "known_at",
                        format!("is not an RFC 3339 time: {e}"),
                    ));
                    String::new()
                })
        });
        if !errs.is_empty() {
            return Err(invalid(errs));
        }
        let bank = match &who {
            Principal::Bank(b) => Some(b.clone()),
            _ => None,
        };
        let s = self.state(req.pool_id, as_of, known, bank, start).await?;
        Ok(Response::new(crate::server::convert::ledger::state(&s)))
    }
}

/// The loan, the borrower and the enrolment date of a request, or every
/// problem with its fields.
pub(super) fn enrolment(req: &pb::EnrollLoanRequest) -> Result<(Loan, Profile, NaiveDate), Status> {
    let mut errs = Vec::new();
    ids(&req.request_id, &req.pool_id, &mut errs);
    if let Err(why) = crate::incentive::check_bank_id(&req.bank_id) {
        errs.push(FieldViolation::new("bank_id", why));
    }
    let loan_id = crate::incentive::normalize_id(&req.loan_id)
        .map_err(|why| errs.push(FieldViolation::new("loan_id", why)))
        .unwrap_or_default();
    let amount = positive(&req.amount, "amount", &mut errs);
    let annual_rate = parse_rate(&req.annual_rate)
        .map_err(|e| errs.push(FieldViolation::new("annual_rate", e.to_string())))
        .unwrap_or_default();
    if !(1..=360).contains(&req.term_months) {
        errs.push(FieldViolation::new("term_months", "must be 1 to 360"));
    }
    let disbursed = date(&req.disbursed, "disbursed", &mut errs);
    if req.disbursed.trim().is_empty() {
        errs.push(FieldViolation::new("disbursed", "is required"));
    }
    let on = date(&req.date, "date", &mut errs);
    let borrower = match req.borrower.clone() {
        None => {
            errs.push(FieldViolation::new("borrower", "is required"));
            None
        }
        Some(b) => Profile::from_raw_at(b.into(), "borrower.")
            .map_err(|e| errs.extend(e.violations))
            .ok(),
    };
    let code = borrower
        .as_ref()
        .and_then(|b| b.credit_code.as_ref().map(|c| c.code.clone()));
    if borrower.is_some() && code.is_none() {
        errs.push(FieldViolation::new(
            "borrower.credit_code",
            "is required to enrol a loan",
        ));
    }
    let (Some(borrower), Some(code), true) = (borrower, code, errs.is_empty()) else {
        return Err(invalid(errs));
    };
    let loan = Loan {
        loan_id,
        bank_id: req.bank_id.clone(),
        credit_code: code,
        firm: borrower.name.clone(),
        amount,
        annual_rate,
        term_months: req.term_months as u16,
        disbursed,
        version_from: on,
    };
    Ok((loan, borrower, on))
}

//! ReportLoanStatus: a bank's monthly file streamed in, every line
//! reconciled against the pool (unknown loan, balance above the original,
//! a status after repayment or charge-off, a line twice), the good lines
//! recorded in one write, the bank's open loans the file left out named.

use std::collections::BTreeSet;

use super::*;

/// Most lines one file may carry.
const MAX_LINES: usize = 2_000_000;

/// Most problems and missing loans a reply names (their counts are whole).
const MAX_NAMED: usize = 1_000;

struct Head {
    request_id: String,
    pool_id: String,
    as_of: NaiveDate,
    bank_id: String,
}

fn head(first: &pb::ReportLoanStatusRequest) -> Result<Head, Status> {
    let mut errs = Vec::new();
    ids(&first.request_id, &first.pool_id, &mut errs);
    if let Err(why) = crate::incentive::check_bank_id(&first.bank_id) {
        errs.push(FieldViolation::new("bank_id", why));
    }
    if first.as_of.trim().is_empty() {
        errs.push(FieldViolation::new(
            "as_of",
            "is required: the day the statuses are as of",
        ));
    }
    let as_of = date(&first.as_of, "as_of", &mut errs);
    if !errs.is_empty() {
        return Err(invalid(errs));
    }
    Ok(Head {
        request_id: first.request_id.clone(),
        pool_id: first.pool_id.clone(),
        as_of,
        bank_id: first.bank_id.clone(),
    })
}

/// Reads the stream and records the file.
pub(super) async fn report(
    svc: &LedgerSvc,
    who: Principal,
    mut stream: Streaming<pb::ReportLoanStatusRequest>,
) -> Result<Response<pb::ReportLoanStatusResponse>, Status> {
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
    let h = head(&first)?;
    if !who.may_act_for(&h.bank_id) {
        return Err(denied(
            &who,
            &format!("report loans of bank `{}`", h.bank_id),
        ));
    }
    let mut hasher = Sha256::new();
    hasher.update(
        pb::ReportLoanStatusRequest {
            request_id: String::new(),
            lines: vec![],
            ..first.clone()
        }
        .encode_to_vec(),
    );
    let mut lines = first.lines;
    let mut index = 1u64;
    while let Some(m) = stream
        .message()
        .await
        .map_err(|s| error::inbound(s, "requests", index))?
    {
        index += 1;
        if lines.len() + m.lines.len() > MAX_LINES {
            return Err(ApiError::Store(StoreError::Quota(format!(
                "a status file holds at most {MAX_LINES} lines; send the rest as another file"
            )))
            .into());
        }
        lines.extend(m.lines);
    }
    for l in &lines {
        hasher.update(l.encode_to_vec());
    }
    let content = hex::encode(hasher.finalize());
    let problems = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let missing = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let (p2, m2, bank) = (problems.clone(), missing.clone(), h.bank_id.clone());
    let ev = svc
        .write(h.pool_id, h.request_id, content, &who, h.as_of, move |b| {
            let (kinds, problems, missing) = reconcile(b, &bank, &lines);
            *p2.lock().unwrap_or_else(|e| e.into_inner()) = problems;
            *m2.lock().unwrap_or_else(|e| e.into_inner()) = missing;
            Ok(kinds)
        })
        .await?;
    let (mut problems, mut missing) = (take(&problems), take(&missing));
    let (problem_count, missing_count) = (problems.len() as u64, missing.len() as u64);
    problems.truncate(MAX_NAMED);
    missing.truncate(MAX_NAMED);
    Ok(Response::new(pb::ReportLoanStatusResponse {
        recorded: ev.len() as u64,
        problems,
        missing,
        problem_count,
        missing_count,
    }))
}

fn take<T>(m: &std::sync::Mutex<Vec<T>>) -> Vec<T> {
    std::mem::take(&mut *m.lock().unwrap_or_else(|e| e.into_inner()))
}

fn problem(loan_id: &str, code: &str, message: String) -> pb::StatusProblem {
    pb::StatusProblem {
        loan_id: loan_id.to_string(),
        code: code.to_string(),
        message,
    }
}

/// The events of the good lines, the problems of the others, and the
/// bank's open loans the file did not mention.
fn reconcile(
    b: &Book,
    bank: &str,
    lines: &[pb::LoanStatusLine],
) -> (Vec<EventKind>, Vec<pb::StatusProblem>, Vec<String>) {
    let (mut kinds, mut problems, mut seen) = (Vec::new(), Vec::new(), BTreeSet::new());
    for l in lines {
        let id = l.loan_id.trim();
        if !seen.insert(id.to_string()) {
            problems.push(problem(
                id,
                "DUPLICATE",
                "the file gives this loan twice".into(),
            ));
            continue;
        }
        let r = if l.repaid {
            decide::repaid(b, bank, id)
        } else {
            match Yuan::parse_fen(&l.outstanding) {
                Err(e) => {
                    problems.push(problem(id, "INVALID", format!("outstanding: {e}")));
                    continue;
                }
                Ok(out) => decide::status(b, bank, id, out, l.days_past_due),
            }
        };
        match r {
            Ok(k) => {
                kinds.push(k);
                if l.charged_off {
                    kinds.push(EventKind::LoanChargedOff {
                        bank_id: bank.into(),
                        loan_id: id.into(),
                    });
                }
            }
            Err(refusal) => problems.push(problem(id, refusal.code, refusal.message)),
        }
    }
    let missing = b
        .loans
        .values()
        .filter(|s| {
            s.loan.bank_id == bank && !s.repaid && !s.charged_off && !seen.contains(&s.loan.loan_id)
        })
        .map(|s| s.loan.loan_id.clone())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    (kinds, problems, missing)
}

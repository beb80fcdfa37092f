//! EnrollLoans: many enrolments in one stream, decided in order as if sent
//! one by one, recorded in batches (memory bounded by the batch, one
//! transaction per batch). Each batch is its own write, idempotent by the
//! stream's request id and the batch's place: the same stream again
//! answers the same.

use rayon::prelude::*;

use super::handlers::enrolment;
use super::*;
use crate::store::ledger::Log;

/// Enrolments per batch.
const BATCH: usize = 10_000;

/// Most refusals a reply names (the count is whole).
const MAX_NAMED: usize = 1_000;

/// One message, checked: its loan and date, or why not.
type Checked = Result<(Loan, NaiveDate), Refusal>;

/// A batch decided: the events to record, each message's refusal (if
/// any), and whether the running fold followed every enrolment in order.
type Decided = (Vec<(NaiveDate, EventKind)>, Vec<Option<Refusal>>, bool);

/// Reads the stream and enrols its loans.
pub(super) async fn enrol_many(
    svc: &LedgerSvc,
    who: Principal,
    mut stream: Streaming<pb::EnrollLoansRequest>,
) -> Result<Response<pb::EnrollLoansResponse>, Status> {
    let mut reply = pb::EnrollLoansResponse::default();
    let (mut head, mut p, mut index, mut batch) = (None, None, 0u64, 0usize);
    let mut pending: Vec<pb::EnrollLoanRequest> = Vec::new();
    loop {
        let next = stream
            .message()
            .await
            .map_err(|s| error::inbound(s, "requests", index))?;
        let done = next.is_none();
        if let Some(next) = next {
            let Some(mut m) = next.loan else {
                return Err(invalid(vec![FieldViolation::new(
                    format!("requests[{index}].loan"),
                    "is required",
                )]));
            };
            let (rid, pool) = head.get_or_insert_with(|| (m.request_id.clone(), m.pool_id.clone()));
            if !who.may_act_for(&m.bank_id) {
                return Err(denied(
                    &who,
                    &format!("enrol loans of bank `{}` (requests[{index}])", m.bank_id),
                ));
            }
            (m.request_id, m.pool_id) = (rid.clone(), pool.clone());
            pending.push(m);
            index += 1;
        }
        if pending.len() == BATCH || (done && !pending.is_empty()) {
            let Some((rid, pool)) = head.clone() else {
                break;
            };
            let programme = match &p {
                Some(x) => Arc::clone(x),
                None => {
                    let mut errs = Vec::new();
                    ids(&rid, &pool, &mut errs);
                    if !errs.is_empty() {
                        return Err(invalid(errs));
                    }
                    let x = svc.programme(pool.clone()).await?;
                    p = Some(Arc::clone(&x));
                    x
                }
            };
            let first = index - pending.len() as u64;
            let items = std::mem::take(&mut pending);
            let refusals = svc
                .enrol_batch(&who, &rid, batch, &pool, programme, first, items)
                .await?;
            reply.enrolled += refusals.1;
            reply.refused_count += refusals.0.len() as u64;
            let room = MAX_NAMED.saturating_sub(reply.refused.len());
            reply.refused.extend(refusals.0.into_iter().take(room));
            batch += 1;
        }
        if done {
            break;
        }
    }
    if head.is_none() {
        return Err(invalid(vec![FieldViolation::new(
            "request_id",
            "the stream is empty",
        )]));
    }
    Ok(Response::new(reply))
}

/// Each message checked apart from the pool: its fields, and the borrower
/// with the matchmaker (in parallel).
fn check(catalog: &Catalog, p: &Programme, items: &[pb::EnrollLoanRequest]) -> Vec<Checked> {
    items
        .par_iter()
        .map(|req| {
            let (loan, borrower, on) = enrolment(req).map_err(|s| Refusal {
                code: "INVALID",
                message: s.message().to_string(),
            })?;
            eligible(catalog, p, &borrower, loan.disbursed)?;
            Ok((loan, on))
        })
        .collect()
}

/// The batch's enrolments decided in order: on the running fold while
/// each one's date is not before the last event folded, otherwise on the
/// log folded as of its date (with the batch's earlier enrolments).
fn decide_all(
    run: &mut Running,
    p: &Arc<Programme>,
    log: &dyn Log,
    checked: &[Checked],
) -> Result<Decided, StoreError> {
    let (mut kinds, mut outcome) = (Vec::new(), Vec::new());
    // (out of order: the log with the batch's enrolments so far, folded as
    // of one date and kept while the dates repeat)
    let mut extra: Vec<Event> = Vec::new();
    let mut scratch: Option<(NaiveDate, Book)> = None;
    // (the sequence numbers the store will give, in order)
    let base = run.seq;
    let mut in_order = true;
    for c in checked {
        let (loan, on) = match c {
            Err(r) => {
                outcome.push(Some(r.clone()));
                continue;
            }
            Ok((loan, on)) => (loan.clone(), *on),
        };
        in_order = in_order && run.covers(on);
        let decided = if in_order {
            decide::enrol(&run.book, loan, on)
        } else {
            let book = match scratch.take() {
                Some((d, book)) if d == on => book,
                _ => folded_with(p, log, &extra, on, run.book.last_cash)?,
            };
            let decided = decide::enrol(&book, loan, on);
            scratch = Some((on, book));
            decided
        };
        match decided {
            Err(r) => outcome.push(Some(r)),
            Ok(kind) => {
                let e = Event {
                    seq: base + 1 + extra.len() as u64,
                    effective: on,
                    recorded_at: String::new(),
                    recorded_by: String::new(),
                    request_id: String::new(),
                    kind: kind.clone(),
                };
                if in_order {
                    in_order = run.extend(std::slice::from_ref(&e));
                } else if let Some((_, book)) = scratch.as_mut() {
                    book.apply(&e);
                }
                extra.push(e);
                kinds.push((on, kind));
                outcome.push(None);
            }
        }
    }
    Ok((kinds, outcome, in_order))
}

/// The log as of `on` with the batch's enrolments so far (`extra`, to be
/// recorded after the log) among its events: read in effective order, each
/// of `extra` folded where its day puts it.
fn folded_with(
    p: &Arc<Programme>,
    log: &dyn Log,
    extra: &[Event],
    on: NaiveDate,
    last_cash: Option<NaiveDate>,
) -> Result<Book, StoreError> {
    let mut mine: Vec<&Event> = extra.iter().filter(|e| e.effective <= on).collect();
    mine.sort_by_key(|e| (e.effective, e.seq));
    let mut mine = mine.into_iter().peekable();
    let mut book = Book::fold_from(
        p,
        |f| {
            log.visit(on, &mut |e: &Event| {
                while let Some(x) = mine.next_if(|x| x.effective < e.effective) {
                    f(x);
                }
                f(e);
            })
        },
        last_cash,
    )?;
    for x in mine {
        book.apply(x);
    }
    Ok(book)
}

impl LedgerSvc {
    /// Checks and records one batch; its refusals (indexed in the stream)
    /// and how many it enrolled.
    #[allow(clippy::too_many_arguments)]
    async fn enrol_batch(
        &self,
        who: &Principal,
        request_id: &str,
        batch: usize,
        pool_id: &str,
        p: Arc<Programme>,
        first: u64,
        items: Vec<pb::EnrollLoanRequest>,
    ) -> Result<(Vec<pb::EnrolmentRefusal>, u64), Status> {
        let mut hasher = Sha256::new();
        for m in &items {
            hasher.update(m.encode_to_vec());
        }
        let content = hex::encode(hasher.finalize());
        let (catalog, by) = (self.catalog.clone(), who.name());
        // (the pool exists: its programme was found)
        let (slot, pool_id) = (slot(&self.books, pool_id), pool_id.to_string());
        let rid = format!("{request_id}#{batch}");
        let bank = matches!(who, Principal::Bank(_));
        crate::server::on_store(&self.store, move |store| {
            let checked = check(&catalog, &p, &items);
            let mut run = hold(&slot);
            restore(&mut run, store, &pool_id, &p);
            let mut outcome = Vec::new();
            let mut kept: Option<Running> = None;
            let recorded = store.record(&pool_id, &rid, &content, &by, &mut |log| {
                caught_up(&mut run, &p, &|seq| log.after(seq), &|f| {
                    log.visit(NaiveDate::MAX, f)
                })?;
                let Some(mut r) = run.take() else {
                    return Err(StoreError::Corrupt("the pool's fold was lost".into()));
                };
                let (kinds, o, in_order) = decide_all(&mut r, &p, log, &checked)?;
                outcome = o;
                kept = in_order.then_some(r);
                Ok(kinds)
            });
            let recorded = recorded.map_err(|e| if bank { for_bank(e) } else { e })?;
            if let Some(r) = kept
                && recorded.last().is_none_or(|e| e.seq == r.seq)
            {
                *run = Some(r);
            }
            persist(&mut run, store, &pool_id, &p, false);
            if outcome.is_empty() {
                // the same batch again: its loans are those it recorded
                outcome = replayed(&items, &checked, &recorded);
            }
            let refusals = outcome
                .iter()
                .enumerate()
                .filter_map(|(i, o)| {
                    let r = o.clone()?;
                    let r = if bank {
                        match for_bank(refused(r)) {
                            StoreError::Refused { code, message } => Refusal { code, message },
                            _ => return None,
                        }
                    } else {
                        r
                    };
                    Some(pb::EnrolmentRefusal {
                        index: first + i as u64,
                        loan_id: items[i].loan_id.clone(),
                        code: r.code.to_string(),
                        message: r.message,
                    })
                })
                .collect();
            Ok((refusals, recorded.len() as u64))
        })
        .await
    }
}

/// A repeated batch's outcome: each loan enrolled by it, or refused: for
/// its fields or its borrower as then (they decide the same again), or by
/// the pool's state when first sent (NOT_ENROLLED: that state has moved
/// on; a new request id has the loan decided again).
fn replayed(
    items: &[pb::EnrollLoanRequest],
    checked: &[Checked],
    recorded: &[Event],
) -> Vec<Option<Refusal>> {
    let mut enrolled: std::collections::HashSet<(&str, &str)> = recorded
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::LoanEnrolled(l) => Some((l.bank_id.as_str(), l.loan_id.as_str())),
            _ => None,
        })
        .collect();
    items
        .iter()
        .zip(checked)
        .map(|(m, c)| match c {
            Err(r) => Some(r.clone()),
            Ok((loan, _)) if enrolled.remove(&(loan.bank_id.as_str(), loan.loan_id.as_str())) => {
                None
            }
            Ok(_) => Some(Refusal {
                code: "NOT_ENROLLED",
                message: format!(
                    "loan `{}` was refused by the pool's rules when this stream was first sent; send it with a new request id to have it decided again",
                    m.loan_id
                ),
            }),
        })
        .collect()
}

//! ListEvents: the pool's log page by page, its audit trail; bureau and
//! analyst. A filter by loan or bank finds whose each event is from the
//! running fold (every loan and claim the log holds); each call reads at
//! most [`MAX_SCAN`] events, so a filtered page may hold fewer than asked.

use super::*;

/// Events per page by default, and at most.
const PAGE: (u32, u32) = (100, 1_000);

/// Most events one call reads.
const MAX_SCAN: usize = 100_000;

/// The query a page token belongs to (a token from another is refused).
fn query_key(r: &pb::ListEventsRequest) -> String {
    let h = Sha256::digest(format!("{}\n{}\n{}", r.pool_id, r.loan_id, r.bank_id));
    hex::encode(&h[..6])
}

/// A filter's value, when given.
fn some(s: &str) -> Option<&str> {
    (!s.is_empty()).then_some(s)
}

fn token(seq: u64, key: &str) -> String {
    format!("{seq}.{key}")
}

/// The sequence number a page token goes on from.
fn after(t: &str, key: &str) -> Result<u64, &'static str> {
    let (seq, k) = t.split_once('.').ok_or("is not a token ListEvents gave")?;
    if k != key {
        return Err("belongs to another query (another pool, loan or bank)");
    }
    seq.parse::<u64>()
        .ok()
        .filter(|s| i64::try_from(*s).is_ok())
        .ok_or("is not a token ListEvents gave")
}

/// The request's page size, the sequence number it goes on from and its
/// query's key, or every problem with its fields.
fn checked(r: &pb::ListEventsRequest) -> Result<(usize, u64, String), Status> {
    let mut errs = Vec::new();
    pool(&r.pool_id, &mut errs);
    for (v, field) in [(&r.loan_id, "loan_id"), (&r.bank_id, "bank_id")] {
        if !v.is_empty() {
            named(v, field, &mut errs);
        }
    }
    let size = match r.page_size {
        0 => PAGE.0,
        n if n <= PAGE.1 => n,
        _ => {
            errs.push(FieldViolation::new("page_size", "must be 1 to 1,000"));
            0
        }
    } as usize;
    let key = query_key(r);
    let from = if r.page_token.is_empty() {
        0
    } else {
        after(&r.page_token, &key).unwrap_or_else(|why| {
            errs.push(FieldViolation::new("page_token", why));
            0
        })
    };
    if !errs.is_empty() {
        return Err(invalid(errs));
    }
    Ok((size, from, key))
}

impl LedgerSvc {
    pub(super) async fn list_events_of(
        &self,
        who: Principal,
        r: pb::ListEventsRequest,
    ) -> Result<Response<pb::ListEventsResponse>, Status> {
        if matches!(who, Principal::Bank(_)) {
            return Err(denied(
                &who,
                "read the pool's log (it holds every bank's loans)",
            ));
        }
        let (size, from, key) = checked(&r)?;
        let (programmes, books) = (self.programmes.clone(), self.books.clone());
        let (events, next) = crate::server::on_store(&self.store, move |store| {
            let p = programme_of(store, &programmes, &r.pool_id)?;
            if r.loan_id.is_empty() && r.bank_id.is_empty() {
                let mut page = store.events_page(&r.pool_id, from, size + 1)?;
                let more = page.len() > size;
                page.truncate(size);
                let next = page.last().filter(|_| more).map(|e| e.seq);
                return Ok((page, next));
            }
            let (loan, bank) = (some(&r.loan_id), some(&r.bank_id));
            let (mut out, mut last, mut scanned) = (Vec::new(), from, 0);
            while out.len() < size && scanned < MAX_SCAN {
                // (each chunk read without the pool's fold; held only to
                // find the loan of a claim's events when a loan is asked)
                let chunk = store.events_page(&r.pool_id, last, 10_000.min(MAX_SCAN - scanned))?;
                if chunk.is_empty() {
                    return Ok((out, None));
                }
                scanned += chunk.len();
                let about: Vec<bool> = match loan {
                    None => (chunk.iter()).map(|e| e.kind.bank() == bank).collect(),
                    Some(_) => {
                        let slot = slot(&books, &r.pool_id);
                        let mut run = hold(&slot);
                        restore(&mut run, store, &r.pool_id, p);
                        let book = &caught_up(
                            &mut run,
                            p,
                            &|seq| store.events_after(&r.pool_id, seq),
                            &|f| store.visit(&r.pool_id, NaiveDate::MAX, None, f),
                        )?
                        .book;
                        (chunk.iter())
                            .map(|e| book.is_about(e, loan, bank))
                            .collect()
                    }
                };
                for (e, keep) in chunk.into_iter().zip(about) {
                    if out.len() == size {
                        break;
                    }
                    last = e.seq;
                    if keep {
                        out.push(e);
                    }
                }
            }
            Ok((out, Some(last)))
        })
        .await?;
        Ok(Response::new(pb::ListEventsResponse {
            events: events.iter().map(event_pb).collect(),
            next_page_token: next.map(|s| token(s, &key)).unwrap_or_default(),
        }))
    }
}

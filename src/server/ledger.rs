//! `smefin.v1.LedgerService`: each write converts its request, then lets the
//! ledger's domain decide on the pool's events inside the store's lock;
//! who may do what is decided here.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use chrono::NaiveDate;
use prost::Message;
use sha2::{Digest, Sha256};
use tonic::{Request, Response, Status, Streaming};

use crate::catalog::Catalog;
use crate::enterprise::Profile;
use crate::kernel::money::{Yuan, parse_rate};
use crate::kernel::violation::FieldViolation;
use crate::ledger::codec;
use crate::ledger::decide::{self, Refusal};
use crate::ledger::event::{DenialReason, Event, EventKind, Loan};
use crate::ledger::rules::Programme;
use crate::ledger::running::Running;
use crate::ledger::state::Book;
use crate::matching::{self, MatchOptions, MatchStatus};
use crate::server::auth::{Principal, caller};
use crate::server::error::{self, ApiError};
use crate::server::pb;
use crate::store::ledger::StoredFold;
use crate::store::{LedgerStore, StoreError};

/// The ledger service.
#[derive(Debug, Clone)]
pub struct LedgerSvc {
    store: Arc<dyn LedgerStore>,
    catalog: Arc<Catalog>,
    programmes: Arc<Vec<Arc<Programme>>>,
    books: Books,
    /// One projection per core at a time.
    projections: Arc<tokio::sync::Semaphore>,
}

/// One pool's running fold (see [`Running`]), shared by this process's
/// calls; a write holds it for the whole write.
type Slot = Arc<Mutex<Option<Running>>>;

/// Every pool's slot.
type Books = Arc<Mutex<HashMap<String, Slot>>>;

/// The slot of pool `pool_id` (asked only once the pool is known to
/// exist: an invented id must not grow the map).
fn slot(books: &Books, pool_id: &str) -> Slot {
    let mut books = books.lock().unwrap_or_else(|e| e.into_inner());
    books.entry(pool_id.to_string()).or_default().clone()
}

/// A slot's fold; one a panic left behind is dropped, to be refolded.
fn hold(slot: &Slot) -> MutexGuard<'_, Option<Running>> {
    slot.lock().unwrap_or_else(|poisoned| {
        let mut g = poisoned.into_inner();
        *g = None;
        g
    })
}

/// The whole log handed in effective order (see [`LedgerStore::visit`]).
type All<'a> = &'a dyn Fn(&mut dyn FnMut(&Event)) -> Result<(), StoreError>;

/// The running fold brought up to the log's end: the events after it
/// folded in, or the whole log refolded (read in effective order, a page at
/// a time) when they cannot be (none yet, a backdated event, a gap).
fn caught_up<'r>(
    run: &'r mut Option<Running>,
    p: &Arc<Programme>,
    after: &dyn Fn(u64) -> Result<Vec<Event>, StoreError>,
    all: All<'_>,
) -> Result<&'r Running, StoreError> {
    let fresh = match run.as_mut() {
        Some(r) => {
            let tail = after(r.seq)?;
            !r.extend(&tail)
        }
        None => true,
    };
    if fresh {
        *run = None;
        *run = Some(Running::of_from(p.clone(), |f| all(f))?);
    }
    run.as_ref()
        .ok_or_else(|| StoreError::Corrupt("the pool's fold was lost".into()))
}

/// Events folded after the stored fold before it is stored anew: at least
/// this many, and at least [`FOLD_PER_LOAN`] times as many as the pool has
/// loans. Storing it costs about what folding a loan's two status lines
/// costs, per loan (1.7 s for 1,000,000 loans on SQLite), so this keeps it
/// near a tenth of the ingest; a server started after a crash folds at most
/// that many events after reading it (a clean stop stores it whole).
const FOLD_EVERY: u64 = 20_000;

/// See [`FOLD_EVERY`].
const FOLD_PER_LOAN: u64 = 4;

/// The slot's fold when this process has none yet: the pool's stored fold,
/// if it was written under this build and the pool's programme and reads
/// back; otherwise none is set, and the caller folds the log.
fn restore(run: &mut Option<Running>, store: &dyn LedgerStore, pool_id: &str, p: &Arc<Programme>) {
    if run.is_some() {
        return;
    }
    match crate::store::ledger::read_fold(store, pool_id, p) {
        Ok(stored) => *run = stored,
        Err(why) => tracing::warn!(
            pool = pool_id,
            "the pool's stored fold cannot be read ({why}); folding its log"
        ),
    }
}

/// Stores the slot's fold once enough has been folded since the last one
/// stored (see [`FOLD_EVERY`]), or, `always`, once anything has. A failure
/// costs only speed: it is logged.
fn persist(
    run: &mut Option<Running>,
    store: &dyn LedgerStore,
    pool_id: &str,
    p: &Programme,
    always: bool,
) {
    let Some(r) = run.as_mut() else {
        return;
    };
    let due = FOLD_EVERY.max(FOLD_PER_LOAN * r.book.loans.len() as u64);
    if r.seq <= r.persisted || !always && r.seq - r.persisted < due {
        return;
    }
    let fold = StoredFold {
        seq: r.seq,
        fingerprint: codec::fingerprint(p),
        data: codec::encode(r),
    };
    match store.save_fold(pool_id, &fold) {
        Ok(()) => r.persisted = r.seq,
        Err(e) => tracing::warn!(pool = pool_id, "the pool's fold was not stored ({e})"),
    }
}

fn invalid(violations: Vec<FieldViolation>) -> Status {
    ApiError::InvalidArgument {
        reason: "INVALID_LEDGER_REQUEST",
        violations,
    }
    .into()
}

fn denied(p: &Principal, what: &str) -> Status {
    ApiError::PermissionDenied {
        reason: "NOT_ALLOWED",
        message: format!("{} may not {what}", p.name()),
    }
    .into()
}

fn refused(r: Refusal) -> StoreError {
    StoreError::Refused {
        code: r.code,
        message: r.message,
    }
}

/// A refusal as a bank may read it: the rule, without the pool-wide or
/// other banks' figures the bureau's message carries (the scale left, the
/// capital, a firm's debts at other banks, the programme's rate).
fn for_bank(e: StoreError) -> StoreError {
    let StoreError::Refused { code, message } = e else {
        return e;
    };
    let message = match code {
        "SCALE_EXCEEDED" => {
            "the loan would pass the programme's credit scale; the bureau can say what is left"
                .into()
        }
        "LEVERAGE_EXCEEDED" => {
            "the loan would pass the programme's leverage limit against its capital".into()
        }
        "FIRM_CAP_EXCEEDED" => {
            "the firm would pass its cap under the programme, counting its loans at every bank"
                .into()
        }
        "ENROLMENT_SUSPENDED" => {
            "new enrolment under the programme is suspended by its breaker".into()
        }
        "NO_CASH" => "the pool cannot pay now".into(),
        _ => message,
    };
    StoreError::Refused { code, message }
}

fn date(s: &str, field: &str, errs: &mut Vec<FieldViolation>) -> NaiveDate {
    if s.trim().is_empty() {
        return crate::files::today_cst();
    }
    crate::kernel::date::parse_date(s).unwrap_or_else(|e| {
        errs.push(FieldViolation::new(field, e));
        NaiveDate::MIN
    })
}

fn money(s: &str, field: &str, errs: &mut Vec<FieldViolation>) -> Yuan {
    Yuan::parse_fen(s).unwrap_or_else(|e| {
        errs.push(FieldViolation::new(field, e.to_string()));
        Yuan::ZERO
    })
}

/// A money field that must be above zero.
fn positive(s: &str, field: &str, errs: &mut Vec<FieldViolation>) -> Yuan {
    let before = errs.len();
    let y = money(s, field, errs);
    if errs.len() == before && y <= Yuan::ZERO {
        errs.push(FieldViolation::new(field, "must be above zero"));
    }
    y
}

/// An id a request names (a claim, a loan): required, readable.
fn named(id: &str, field: &str, errs: &mut Vec<FieldViolation>) {
    if let Err(why) = crate::incentive::check_id(id) {
        errs.push(FieldViolation::new(field, why));
    }
}

/// An optional bank id: empty, or a bank id.
fn bank_named(bank_id: &str, errs: &mut Vec<FieldViolation>) {
    if !bank_id.is_empty()
        && let Err(why) = crate::incentive::check_bank_id(bank_id)
    {
        errs.push(FieldViolation::new("bank_id", why));
    }
}

fn ids(request_id: &str, pool_id: &str, errs: &mut Vec<FieldViolation>) {
    if let Err(why) = crate::incentive::check_id(request_id) {
        errs.push(FieldViolation::new("request_id", why));
    }
    pool(pool_id, errs);
}

/// A pool id a request names (for reads: no request id).
fn pool(pool_id: &str, errs: &mut Vec<FieldViolation>) {
    if let Err(why) = crate::matching::leads::check_campaign_name(pool_id) {
        errs.push(FieldViolation::new("pool_id", why));
    }
}

fn hash<M: Message>(m: &M) -> String {
    hex::encode(Sha256::digest(m.encode_to_vec()))
}

fn event_pb(e: &Event) -> pb::LedgerEvent {
    pb::LedgerEvent {
        seq: e.seq,
        effective: e.effective.to_string(),
        recorded_at: e.recorded_at.clone(),
        recorded_by: e.recorded_by.clone(),
        json: serde_json::to_string(&e.kind).unwrap_or_default(),
        request_id: e.request_id.clone(),
    }
}

impl LedgerSvc {
    /// A service over `store`, checking eligibility against `catalog`,
    /// with `programmes`.
    pub fn new(
        store: Arc<dyn LedgerStore>,
        catalog: Arc<Catalog>,
        programmes: Vec<Programme>,
    ) -> Self {
        LedgerSvc {
            store,
            catalog,
            programmes: Arc::new(programmes.into_iter().map(Arc::new).collect()),
            books: Books::default(),
            projections: Arc::new(tokio::sync::Semaphore::new(
                std::thread::available_parallelism().map_or(2, |n| n.get()),
            )),
        }
    }

    /// Stores the fold of every pool this process has folded further than
    /// the store's (at shutdown: the next start reads it instead of the
    /// log).
    pub async fn store_folds(&self) {
        let (books, programmes) = (self.books.clone(), self.programmes.clone());
        let r = crate::server::on_store(&self.store, move |store| {
            let slots: Vec<(String, Slot)> = books
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            let mut stored = 0;
            for (pool_id, slot) in slots {
                let mut run = hold(&slot);
                let Ok(p) = programme_of(store, &programmes, &pool_id) else {
                    continue;
                };
                let before = run.as_ref().map(|r| r.persisted);
                persist(&mut run, store, &pool_id, p, true);
                stored += usize::from(run.as_ref().map(|r| r.persisted) != before);
            }
            Ok(stored)
        })
        .await;
        match r {
            Ok(n) if n > 0 => tracing::info!(pools = n, "stored the ledger's folds"),
            Ok(_) => {}
            Err(e) => tracing::warn!("the ledger's folds were not stored: {}", e.message()),
        }
    }

    /// Records what `decide` decides on the pool's book as of `on` (all
    /// its events known), as `who`, idempotent by the request.
    async fn write(
        &self,
        pool_id: String,
        request_id: String,
        content: String,
        who: &Principal,
        on: NaiveDate,
        decide: impl Fn(&Book) -> Result<Vec<EventKind>, StoreError> + Send + 'static,
    ) -> Result<Vec<Event>, Status> {
        let (programmes, by) = (self.programmes.clone(), who.name());
        let bank = matches!(who, Principal::Bank(_));
        let books = self.books.clone();
        crate::server::on_store(&self.store, move |store| {
            let p = programme_of(store, &programmes, &pool_id)?;
            let slot = slot(&books, &pool_id);
            let mut run = hold(&slot);
            restore(&mut run, store, &pool_id, p);
            let out = store.record(&pool_id, &request_id, &content, &by, &mut |log| {
                let r = caught_up(&mut run, p, &|seq| log.after(seq), &|f| {
                    log.visit(NaiveDate::MAX, f)
                })?;
                let kinds = if r.covers(on) {
                    decide(&r.book)?
                } else {
                    decide(&Book::fold_from(p, |f| log.visit(on, f), r.book.last_cash)?)?
                };
                Ok(kinds.into_iter().map(|k| (on, k)).collect())
            });
            if let (Ok(new), Some(r)) = (&out, run.as_mut())
                && new.first().is_some_and(|e| e.seq == r.seq + 1)
                && !r.extend(new)
            {
                *run = None;
            }
            persist(&mut run, store, &pool_id, p, false);
            out.map_err(|e| if bank { for_bank(e) } else { e })
        })
        .await
    }

    /// The programme pool `pool_id` follows.
    async fn programme(&self, pool_id: String) -> Result<Arc<Programme>, Status> {
        let programmes = self.programmes.clone();
        crate::server::on_store(&self.store, move |store| {
            programme_of(store, &programmes, &pool_id).cloned()
        })
        .await
    }

    /// The pool's state on `as_of` (see [`crate::ledger::pool_state`]):
    /// as known now, from its running fold where that gives it; otherwise
    /// folded from its log.
    async fn state(
        &self,
        pool_id: String,
        as_of: NaiveDate,
        known: Option<String>,
        bank: Option<String>,
        start: Option<NaiveDate>,
    ) -> Result<crate::ledger::PoolState, Status> {
        let (programmes, books) = (self.programmes.clone(), self.books.clone());
        crate::server::on_store(&self.store, move |store| {
            let p = programme_of(store, &programmes, &pool_id)?;
            if known.is_none() {
                let slot = slot(&books, &pool_id);
                let mut run = hold(&slot);
                restore(&mut run, store, &pool_id, p);
                caught_up(
                    &mut run,
                    p,
                    &|seq| store.events_after(&pool_id, seq),
                    &|f| store.visit(&pool_id, NaiveDate::MAX, None, f),
                )?;
                persist(&mut run, store, &pool_id, p, false);
                let r = run
                    .as_ref()
                    .ok_or_else(|| StoreError::Corrupt("the pool's fold was lost".into()))?;
                if let Some(s) = crate::ledger::running_state(r, as_of, bank.as_deref(), start) {
                    return Ok(s);
                }
            }
            crate::ledger::pool_state_from(
                p,
                |f| store.visit(&pool_id, as_of, known.as_deref(), f),
                as_of,
                known.as_deref(),
                bank.as_deref(),
                start,
            )
        })
        .await
    }
}

/// Refuses a borrower the matchmaker does not find eligible for the
/// programme's product on the day it was lent, with the reasons.
fn eligible(
    catalog: &Catalog,
    p: &Programme,
    borrower: &Profile,
    on: NaiveDate,
) -> Result<(), Refusal> {
    let cls = borrower.classify();
    let opts = MatchOptions {
        as_of: on,
        product_ids: vec![p.product_id.clone()],
    };
    let not = |message: String| Refusal {
        code: "NOT_ELIGIBLE",
        message,
    };
    let ev = matching::evaluate(catalog, borrower, &cls, &opts).map_err(|e| not(e.to_string()))?;
    let Some(m) = ev.products.iter().find(|m| m.product.id == p.product_id) else {
        return Err(not(format!("{} is not in force on {on}", p.name)));
    };
    if m.status == MatchStatus::Eligible {
        return Ok(());
    }
    let why: Vec<String> = m
        .criteria
        .iter()
        .filter(|c| c.outcome != matching::Outcome::Pass)
        .map(|c| c.message())
        .collect();
    Err(not(format!(
        "the borrower does not qualify for {} on {on}: {}",
        p.name,
        why.join("；")
    )))
}

/// The programme pool `pool_id` follows, among the server's.
fn programme_of<'p>(
    store: &dyn LedgerStore,
    programmes: &'p [Arc<Programme>],
    pool_id: &str,
) -> Result<&'p Arc<Programme>, StoreError> {
    let pool = store
        .pool(pool_id)?
        .ok_or_else(|| StoreError::NotFound(format!("no pool `{pool_id}`")))?;
    programmes
        .iter()
        .find(|p| p.id == pool.programme_id)
        .ok_or_else(|| StoreError::Refused {
            code: "UNKNOWN_PROGRAMME",
            message: format!(
                "pool `{pool_id}` follows programme `{}`, which this server's programmes (ledger.programmes) do not have",
                pool.programme_id
            ),
        })
}

/// What a write recorded, as its caller may read it: a bank's reply
/// carries no sequence number (it would count the pool's events, and so
/// the other banks' activity).
fn one(events: Vec<Event>, who: &Principal) -> Option<pb::LedgerEvent> {
    events.first().map(|e| pb::LedgerEvent {
        seq: if matches!(who, Principal::Bank(_)) {
            0
        } else {
            e.seq
        },
        ..event_pb(e)
    })
}

fn kinds(r: Result<EventKind, Refusal>) -> Result<Vec<EventKind>, StoreError> {
    r.map(|k| vec![k]).map_err(refused)
}

/// Whose loan `loan_id` is (loan ids are each bank's own): a bank
/// caller's own (another bank's loan answers as no loan at all); for the
/// bureau, `bank` when given, else the one bank with a loan of that id.
fn loan_bank(
    book: &Book,
    bank: &str,
    loan_id: &str,
    who: &Principal,
) -> Result<String, StoreError> {
    let banks = book.banks_with_loan(loan_id);
    owner(who, bank, &banks, "loan", loan_id)
}

/// Whose claim `claim_id` is, as [`loan_bank`].
fn claim_bank(
    book: &Book,
    bank: &str,
    claim_id: &str,
    who: &Principal,
) -> Result<String, StoreError> {
    let banks = book.banks_with_claim(claim_id);
    owner(who, bank, &banks, "claim", claim_id)
}

fn owner(
    who: &Principal,
    bank: &str,
    banks: &[&str],
    what: &str,
    id: &str,
) -> Result<String, StoreError> {
    let named = match who {
        Principal::Bank(own) if bank.is_empty() => own.as_str(),
        _ => bank,
    };
    let picked = match (named.is_empty(), banks) {
        (false, _) => banks.contains(&named).then_some(named),
        (true, [one]) => Some(*one),
        (true, []) => None,
        (true, many) => {
            return Err(StoreError::Invalid {
                field: "bank_id",
                why: format!(
                    "banks {} each have a {what} `{id}`; name the bank",
                    many.join(", ")
                ),
            });
        }
    };
    match picked {
        Some(b) if who.may_act_for(b) => Ok(b.to_string()),
        _ => Err(StoreError::NotFound(format!(
            "no {what} `{id}` among the caller's"
        ))),
    }
}

mod batch;
mod events;
mod handlers;
mod live;
mod project;
mod status;

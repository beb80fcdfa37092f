//! A loan snapshot as its stream comes in (SubmitLoanSnapshot): the first
//! message's ids, every loan read and checked as it arrives, the digest of
//! what was sent, and the memory it holds, charged before it is held.

use std::sync::Arc;

use prost::Message;
use sha2::{Digest, Sha256};
use tonic::{Status, Streaming};

use crate::incentive::{self, LoanRecord, Quarter};

use crate::kernel::violation::FieldViolation;
use crate::server::convert::incentive as conv;
use crate::server::error::{self, ApiError};
use crate::server::pb;

/// Most loans accepted in one snapshot.
pub const MAX_SNAPSHOT_LOANS: usize = 5_000_000;

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

/// A request's problems: INVALID_ARGUMENT, reason
/// `INVALID_INCENTIVE_REQUEST`, a violation per field.
pub(super) fn invalid(violations: Vec<FieldViolation>) -> Status {
    ApiError::InvalidArgument {
        reason: "INVALID_INCENTIVE_REQUEST",
        violations,
    }
    .into()
}

/// What the first message of a snapshot says: whose, for when, under
/// which request id (`period` is `None` when it, or an id, is invalid).
pub(super) struct SnapshotHead {
    pub(super) request_id: String,
    pub(super) bank_id: String,
    pub(super) period: Option<Quarter>,
    /// The first message's loans, read once the caller may submit.
    pub(super) loans: Vec<pb::LoanRecord>,
}

/// A loan snapshot as its stream comes in: the loans read so far and their
/// problems, the digest of what was sent, the memory they hold.
pub(super) struct SnapshotIntake {
    pub(super) hasher: Sha256,
    pub(super) records: Vec<LoanRecord>,
    pub(super) errs: Vec<FieldViolation>,
    /// Loans are numbered across the whole stream (`loans[i]`); a loan may
    /// have several problems, so the count is kept, not derived.
    seen: usize,
    ids: incentive::LoanIds,
    held: Held,
    memory: SnapshotMemory,
}

impl SnapshotIntake {
    /// Starts from the first message: its ids checked, its loans kept.
    pub(super) fn open(
        first: pb::SubmitLoanSnapshotRequest,
        memory: SnapshotMemory,
    ) -> (SnapshotHead, SnapshotIntake) {
        let pb::SubmitLoanSnapshotRequest {
            request_id,
            bank_id,
            period,
            loans,
        } = first;
        let mut hasher = Sha256::new();
        hasher.update(
            pb::SubmitLoanSnapshotRequest {
                request_id: String::new(),
                bank_id: bank_id.clone(),
                period: period.clone(),
                loans: vec![],
            }
            .encode_to_vec(),
        );
        let mut errs = Vec::new();
        if let Err(why) = incentive::check_id(&request_id) {
            errs.push(FieldViolation::new("request_id", why));
        }
        if let Err(why) = incentive::check_bank_id(&bank_id) {
            errs.push(FieldViolation::new("bank_id", why));
        }
        let q = period
            .parse::<Quarter>()
            .map_err(|e| errs.push(FieldViolation::new("period", e)))
            .ok();
        let period = q.filter(|_| errs.is_empty());
        let intake = SnapshotIntake {
            hasher,
            records: Vec::new(),
            errs,
            seen: 0,
            ids: incentive::LoanIds::default(),
            held: Held {
                bytes: 0,
                permits: None,
                kib: 0,
            },
            memory,
        };
        let head = SnapshotHead {
            request_id,
            bank_id,
            period,
            loans,
        };
        (head, intake)
    }

    /// Reads the messages after the first, each repeating the first's ids
    /// or leaving them empty, until the stream ends, the loans pass
    /// [`MAX_SNAPSHOT_LOANS`] or over 100 problems are found.
    pub(super) async fn read_rest(
        &mut self,
        stream: &mut Streaming<pb::SubmitLoanSnapshotRequest>,
        head: &SnapshotHead,
    ) -> Result<(), Status> {
        let mut index = 0u64;
        while let Some(msg) = {
            index += 1;
            stream
                .message()
                .await
                .map_err(|s| error::inbound(s, "requests", index))?
        } {
            if !msg.request_id.is_empty() && msg.request_id != head.request_id
                || !msg.bank_id.is_empty() && msg.bank_id != head.bank_id
            {
                return Err(invalid(vec![FieldViolation::new(
                    "request_id",
                    "later messages must repeat the first message's ids or leave them empty",
                )]));
            }
            self.push(msg.loans)?;
            if self.records.len() > MAX_SNAPSHOT_LOANS {
                return Err(invalid(vec![FieldViolation::new(
                    "loans",
                    format!("more than {MAX_SNAPSHOT_LOANS} loans"),
                )]));
            }
            if self.errs.len() > 100 {
                break;
            }
        }
        Ok(())
    }

    /// Reads one message's loans, charging their memory first.
    pub(super) fn push(&mut self, batch: Vec<pb::LoanRecord>) -> Result<(), Status> {
        let bytes: u64 = batch.iter().map(loan_bytes).sum();
        self.held.charge(&self.memory, bytes)?;
        for l in batch {
            self.hasher.update(l.encode_to_vec());
            let seen = self.seen;
            let errs = &mut self.errs;
            let id = self
                .ids
                .admit(seen, &l.loan_id, |i| format!("loans[{i}]"))
                .map_err(|why| {
                    errs.push(FieldViolation::new(format!("loans[{seen}].loan_id"), why))
                })
                .ok();
            if let Some(r) = conv::loan_record(seen, id, l, errs) {
                self.records.push(r);
            }
            self.seen += 1;
        }
        Ok(())
    }
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

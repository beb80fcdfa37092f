//! The running fold as bytes: what the store keeps as a pool's snapshot, so
//! that a server starting cold (or a replica that has not seen the pool)
//! folds only the events recorded after it instead of the whole log.
//!
//! A snapshot is a cache, never a second rule: it is the fold of every
//! event up to its sequence number, written by the same code that folds;
//! it is used only under the fingerprint it was written with (the codec's
//! format, the build, and the programme's rules), and anything it cannot
//! be read as is refused, so the caller refolds from the log. Amounts keep
//! their exact decimal (mantissa and scale), so a restored fold prints the
//! same figures as the one it was taken from (tested).

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use chrono::NaiveDate;
use rust_decimal::Decimal;
use sha2::{Digest, Sha256};

use super::event::Loan;
use super::rules::Programme;
use super::running::{Running, Snapshot};
use super::state::{Book, Breaker, Claim, ClaimStatus, Figures, Level, LoanState};
use crate::kernel::money::Yuan;

/// The layout's version: a change to it, or to the fold's structures,
/// makes every stored snapshot unusable (the fold is then taken from the
/// log and stored anew).
const FORMAT: u32 = 1;

/// What a snapshot must have been written under to be used: the layout,
/// this build's version, and the pool's programme (its rules decide the
/// fold).
pub fn fingerprint(p: &Programme) -> String {
    let mut h = Sha256::new();
    h.update(FORMAT.to_le_bytes());
    h.update(env!("CARGO_PKG_VERSION").as_bytes());
    h.update(serde_json::to_vec(p).unwrap_or_default());
    hex::encode(h.finalize())
}

/// The running fold as bytes.
pub fn encode(r: &Running) -> Vec<u8> {
    let mut w = Writer(Vec::with_capacity(256 * (r.book.loans.len() + 16)));
    w.u64(r.seq);
    w.book(&r.book);
    w.u64(r.marks().len() as u64);
    for (year, s) in r.marks() {
        w.i32(*year);
        w.snapshot(s);
    }
    w.0
}

/// The running fold from bytes written by [`encode`], for `programme`; an
/// error says where they could not be read.
pub fn decode(programme: Arc<Programme>, bytes: &[u8]) -> Result<Running, String> {
    let mut r = Reader { b: bytes, at: 0 };
    let seq = r.u64()?;
    let book = r.book(programme)?;
    let mut marks = BTreeMap::new();
    for _ in 0..r.len()? {
        let year = r.i32()?;
        marks.insert(year, r.snapshot()?);
    }
    if r.at != bytes.len() {
        return Err(format!("{} bytes left over", bytes.len() - r.at));
    }
    Ok(Running::restored(book, seq, marks))
}

struct Writer(Vec<u8>);

impl Writer {
    fn u8(&mut self, v: u8) {
        self.0.push(v);
    }
    fn u32(&mut self, v: u32) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    fn i32(&mut self, v: i32) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    fn u64(&mut self, v: u64) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    fn str(&mut self, s: &str) {
        self.u32(s.len() as u32);
        self.0.extend_from_slice(s.as_bytes());
    }
    /// Mantissa and scale in 9 bytes when the mantissa fits 64 bits (every
    /// amount in fen does), else the 16-byte form.
    fn dec(&mut self, d: Decimal) {
        match i64::try_from(d.mantissa()) {
            Ok(m) if !(d.is_zero() && d.is_sign_negative()) => {
                self.u8(d.scale() as u8);
                self.0.extend_from_slice(&m.to_le_bytes());
            }
            _ => {
                self.u8(u8::MAX);
                self.0.extend_from_slice(&d.serialize());
            }
        }
    }
    fn yuan(&mut self, y: Yuan) {
        self.dec(y.0);
    }
    fn date(&mut self, d: NaiveDate) {
        self.i32(chrono::Datelike::num_days_from_ce(&d));
    }
    fn opt_date(&mut self, d: Option<NaiveDate>) {
        match d {
            Some(d) => {
                self.u8(1);
                self.date(d);
            }
            None => self.u8(0),
        }
    }
    fn opt_str(&mut self, s: Option<&str>) {
        match s {
            Some(s) => {
                self.u8(1);
                self.str(s);
            }
            None => self.u8(0),
        }
    }

    fn figures(&mut self, f: &Figures) {
        self.u64(f.enrolled_loans);
        self.yuan(f.enrolled);
        self.yuan(f.outstanding);
        for b in f.buckets {
            self.yuan(b);
        }
        self.yuan(f.npl);
        self.yuan(f.claims_paid);
        self.u64(f.claims_paid_loans);
        self.yuan(f.recovered);
        self.u64(f.pipeline_loans);
        self.yuan(f.pipeline);
        self.yuan(f.committed);
    }

    fn banks(&mut self, banks: &BTreeMap<String, Figures>) {
        self.u64(banks.len() as u64);
        for (b, f) in banks {
            self.str(b);
            self.figures(f);
        }
    }

    fn snapshot(&mut self, s: &Snapshot) {
        self.figures(&s.total);
        self.banks(&s.banks);
    }

    fn breaker(&mut self, b: &Breaker) {
        self.u8(level_code(b.level));
        self.u64(b.history.len() as u64);
        for (d, l) in &b.history {
            self.date(*d);
            self.u8(level_code(*l));
        }
    }

    fn loan(&mut self, l: &LoanState) {
        let n = &l.loan;
        for s in [&n.loan_id, &n.bank_id, &n.credit_code, &n.firm] {
            self.str(s);
        }
        self.yuan(n.amount);
        self.dec(n.annual_rate);
        self.u32(u32::from(n.term_months));
        self.date(n.disbursed);
        self.date(n.version_from);
        self.yuan(l.outstanding);
        self.u32(l.dpd);
        self.u8(u8::from(l.charged_off) | u8::from(l.repaid) << 1);
        self.opt_str(l.claim.as_deref());
        self.u32(l.trigger);
    }

    fn claim(&mut self, c: &Claim) {
        for s in [&c.claim_id, &c.loan_id, &c.bank_id] {
            self.str(s);
        }
        self.u8(match c.status {
            ClaimStatus::Filed => 0,
            ClaimStatus::Approved => 1,
            ClaimStatus::Denied => 2,
            ClaimStatus::Paid => 3,
        });
        self.yuan(c.outstanding_at_default);
        self.yuan(c.claimable);
        self.yuan(c.paid);
    }

    fn book(&mut self, b: &Book) {
        self.u64(b.loans.len() as u64);
        for l in b.loans.values() {
            self.loan(l);
        }
        self.u64(b.claims.len() as u64);
        for c in b.claims.values() {
            self.claim(c);
        }
        self.u64(b.firms.len() as u64);
        for (f, y) in &b.firms {
            self.str(f);
            self.yuan(*y);
        }
        for y in [b.cash, b.capital, b.interest] {
            self.yuan(y);
        }
        self.figures(&b.total);
        self.banks(&b.banks);
        self.breaker(&b.breaker);
        self.u64(b.bank_breakers.len() as u64);
        for (bank, br) in &b.bank_breakers {
            self.str(bank);
            self.breaker(br);
        }
        self.opt_date(b.last_cash);
        self.opt_date(b.last_effective);
    }
}

fn level_code(l: Level) -> u8 {
    match l {
        Level::Normal => 0,
        Level::Warning => 1,
        Level::Suspended => 2,
    }
}

struct Reader<'a> {
    b: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        let end = self.at.checked_add(n).filter(|&e| e <= self.b.len());
        let end = end.ok_or_else(|| format!("cut short at byte {}", self.at))?;
        let s = &self.b[self.at..end];
        self.at = end;
        Ok(s)
    }
    fn arr<const N: usize>(&mut self) -> Result<[u8; N], String> {
        let mut a = [0u8; N];
        a.copy_from_slice(self.take(N)?);
        Ok(a)
    }
    fn u8(&mut self) -> Result<u8, String> {
        Ok(self.take(1)?[0])
    }
    fn u32(&mut self) -> Result<u32, String> {
        Ok(u32::from_le_bytes(self.arr()?))
    }
    fn i32(&mut self) -> Result<i32, String> {
        Ok(i32::from_le_bytes(self.arr()?))
    }
    fn u64(&mut self) -> Result<u64, String> {
        Ok(u64::from_le_bytes(self.arr()?))
    }
    /// A count, which cannot exceed the bytes left (every item takes one).
    fn len(&mut self) -> Result<usize, String> {
        let n = self.u64()?;
        usize::try_from(n)
            .ok()
            .filter(|&n| n <= self.b.len() - self.at)
            .ok_or_else(|| format!("a count of {n} at byte {} is impossible", self.at))
    }
    fn str(&mut self) -> Result<String, String> {
        let n = self.u32()? as usize;
        let at = self.at;
        String::from_utf8(self.take(n)?.to_vec()).map_err(|_| format!("bad text at byte {at}"))
    }
    fn dec(&mut self) -> Result<Decimal, String> {
        let at = self.at;
        let scale = self.u8()?;
        if scale == u8::MAX {
            let raw: [u8; 16] = self.arr()?;
            let flags = u32::from_le_bytes([raw[0], raw[1], raw[2], raw[3]]);
            if flags & 0x7F00_FFFF != 0 || (flags >> 16) & 0xFF > 28 {
                return Err(format!("bad decimal at byte {at}"));
            }
            return Ok(Decimal::deserialize(raw));
        }
        let m = i64::from_le_bytes(self.arr()?);
        Decimal::try_from_i128_with_scale(i128::from(m), u32::from(scale))
            .map_err(|_| format!("bad decimal at byte {at}"))
    }
    fn yuan(&mut self) -> Result<Yuan, String> {
        self.dec().map(Yuan)
    }
    fn date(&mut self) -> Result<NaiveDate, String> {
        let at = self.at;
        NaiveDate::from_num_days_from_ce_opt(self.i32()?)
            .ok_or_else(|| format!("bad date at byte {at}"))
    }
    fn flag(&mut self) -> Result<bool, String> {
        match self.u8()? {
            0 => Ok(false),
            1 => Ok(true),
            x => Err(format!("bad flag {x} at byte {}", self.at - 1)),
        }
    }
    fn opt_date(&mut self) -> Result<Option<NaiveDate>, String> {
        Ok(if self.flag()? {
            Some(self.date()?)
        } else {
            None
        })
    }
    fn opt_str(&mut self) -> Result<Option<String>, String> {
        Ok(if self.flag()? {
            Some(self.str()?)
        } else {
            None
        })
    }
    fn level(&mut self) -> Result<Level, String> {
        match self.u8()? {
            0 => Ok(Level::Normal),
            1 => Ok(Level::Warning),
            2 => Ok(Level::Suspended),
            x => Err(format!("bad breaker level {x} at byte {}", self.at - 1)),
        }
    }

    fn figures(&mut self) -> Result<Figures, String> {
        Ok(Figures {
            enrolled_loans: self.u64()?,
            enrolled: self.yuan()?,
            outstanding: self.yuan()?,
            buckets: [
                self.yuan()?,
                self.yuan()?,
                self.yuan()?,
                self.yuan()?,
                self.yuan()?,
            ],
            npl: self.yuan()?,
            claims_paid: self.yuan()?,
            claims_paid_loans: self.u64()?,
            recovered: self.yuan()?,
            pipeline_loans: self.u64()?,
            pipeline: self.yuan()?,
            committed: self.yuan()?,
        })
    }

    fn banks(&mut self) -> Result<BTreeMap<String, Figures>, String> {
        let mut out = BTreeMap::new();
        for _ in 0..self.len()? {
            let b = self.str()?;
            out.insert(b, self.figures()?);
        }
        Ok(out)
    }

    fn snapshot(&mut self) -> Result<Snapshot, String> {
        Ok(Snapshot {
            total: self.figures()?,
            banks: self.banks()?,
        })
    }

    fn breaker(&mut self) -> Result<Breaker, String> {
        let level = self.level()?;
        let mut history = Vec::new();
        for _ in 0..self.len()? {
            history.push((self.date()?, self.level()?));
        }
        Ok(Breaker { level, history })
    }

    fn loan(&mut self) -> Result<LoanState, String> {
        let loan = Loan {
            loan_id: self.str()?,
            bank_id: self.str()?,
            credit_code: self.str()?,
            firm: self.str()?,
            amount: self.yuan()?,
            annual_rate: self.dec()?,
            term_months: u16::try_from(self.u32()?).map_err(|_| "bad term".to_string())?,
            disbursed: self.date()?,
            version_from: self.date()?,
        };
        let outstanding = self.yuan()?;
        let dpd = self.u32()?;
        let flags = self.u8()?;
        if flags > 3 {
            return Err(format!("bad loan flags at byte {}", self.at - 1));
        }
        Ok(LoanState {
            loan,
            outstanding,
            dpd,
            charged_off: flags & 1 != 0,
            repaid: flags & 2 != 0,
            claim: self.opt_str()?,
            trigger: self.u32()?,
        })
    }

    fn claim(&mut self) -> Result<Claim, String> {
        let (claim_id, loan_id, bank_id) = (self.str()?, self.str()?, self.str()?);
        let status = match self.u8()? {
            0 => ClaimStatus::Filed,
            1 => ClaimStatus::Approved,
            2 => ClaimStatus::Denied,
            3 => ClaimStatus::Paid,
            x => return Err(format!("bad claim status {x} at byte {}", self.at - 1)),
        };
        Ok(Claim {
            claim_id,
            loan_id,
            bank_id,
            status,
            outstanding_at_default: self.yuan()?,
            claimable: self.yuan()?,
            paid: self.yuan()?,
        })
    }

    fn book(&mut self, programme: Arc<Programme>) -> Result<Book, String> {
        let mut b = Book::new(programme);
        let n = self.len()?;
        b.loans = HashMap::with_capacity(n);
        for _ in 0..n {
            let l = self.loan()?;
            b.loans
                .insert(super::state::key(&l.loan.bank_id, &l.loan.loan_id), l);
        }
        for _ in 0..self.len()? {
            let c = self.claim()?;
            b.claims
                .insert(super::state::key(&c.bank_id, &c.claim_id), c);
        }
        let n = self.len()?;
        b.firms = HashMap::with_capacity(n);
        for _ in 0..n {
            let f = self.str()?;
            b.firms.insert(f, self.yuan()?);
        }
        (b.cash, b.capital, b.interest) = (self.yuan()?, self.yuan()?, self.yuan()?);
        b.total = self.figures()?;
        b.banks = self.banks()?;
        b.breaker = self.breaker()?;
        for _ in 0..self.len()? {
            let bank = self.str()?;
            b.bank_breakers.insert(bank, self.breaker()?);
        }
        b.last_cash = self.opt_date()?;
        b.last_effective = self.opt_date()?;
        Ok(b)
    }
}

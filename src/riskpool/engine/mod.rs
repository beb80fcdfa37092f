//! The Monte Carlo engine.
//!
//! Reproducibility: scenario *i* draws only from its own stream — ChaCha8
//! seeded once from the spec's seed, then `set_stream(i)` — so a scenario's
//! outcome depends on (seed, i) alone, never on the thread that ran it or on
//! how the scenarios were split into shards. Money is accumulated in integer
//! fen; per-scenario outcomes are kept in scenario order, so sums, quantiles
//! and merges are exact and bit-identical on 1, 2 or 8 threads.
//!
//! Cost: conditional on the period's factors, loans of one class (same PD,
//! ρ and sector) default independently with the same probability p, so the
//! set of defaulters is a uniformly random subset whose size is Bin(n, p).
//! The engine computes p once per class and period, draws the count K from
//! the binomial (BTPE), and picks the K defaulters with Floyd's algorithm: a
//! class of n loans costs one binomial and K uniform draws instead of n.

use std::ops::Range;
use std::sync::Mutex;
use std::sync::atomic::Ordering;

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Binomial, ChiSquared, Distribution, StandardNormal};
use rayon::prelude::*;

use super::control::{Cancelled, Control};
use super::model::{CopulaLaw, Model};
use super::oracle::{conditional_pd, phi};
use super::plan::{Amounts, Class, DefaultAmounts, Draw, Plan};
use super::raw::{BALANCE_BINS, Period, Raw};

mod draw;
mod pool;
mod scratch;
mod shift;

use self::draw::{draw_count, floyd, packed_defaults};
use self::pool::{Books, Outcome, PoolState, TopUp};
use self::scratch::{Local, Scratch, schedule};
pub use self::shift::{auto_shift, engine_for};

/// Most scenarios per batch of a run: progress is counted and cancellation
/// acted on between batches (within a batch, a cancelled run skips its
/// remaining scenarios). About 35 ms of work on two cores for a one-period
/// 2,000-loan book; books with more loans × periods get smaller batches
/// (down to [`MIN_BATCH`]), so a batch is about as much work whatever the
/// model.
pub const BATCH: u64 = 1 << 17;

/// Fewest scenarios per batch.
pub const MIN_BATCH: u64 = 2048;

/// A compiled engine for one model.
#[derive(Debug, Clone)]
pub struct Engine<'m> {
    model: &'m Model,
    plan: &'m Plan,
    /// ν and χ²(ν) under the t copula.
    mixing: Option<(f64, ChiSquared<f64>)>,
    /// By period: the amount of the book whose first lending matures at
    /// its end (multi-period runs). Loans lent together mature together
    /// and, until the breaker trips, are lent again at once: a cohort's
    /// maturity changes nothing but the amount lent, so a period's end
    /// costs its defaults, not a pass over what matures.
    base_matured: Vec<i64>,
    base: ChaCha8Rng,
    periods: usize,
    multi: bool,
    phi_ar: f64,
    /// Factor mean shift for importance sampling (0: plain Monte Carlo).
    is_shift: f64,
    /// Top-up rule.
    top_up: Option<TopUp>,
    /// Total exposure, fen.
    book_fen: i64,
}

impl<'m> Engine<'m> {
    /// Prepares a model: classes, thresholds, fixed losses.
    pub fn new(model: &'m Model) -> Engine<'m> {
        let spec = model.spec();
        let mixing = match *model.copula() {
            CopulaLaw::Gaussian => None,
            CopulaLaw::T { nu, chi2, .. } => Some((nu, chi2)),
        };
        let mut e = Engine {
            model,
            plan: model.plan(),
            mixing,
            base_matured: Vec::new(),
            base: ChaCha8Rng::seed_from_u64(spec.seed),
            periods: spec.periods as usize,
            multi: spec.periods > 1,
            phi_ar: spec.factor_ar,
            is_shift: 0.0,
            top_up: spec.pool.top_up.as_ref().map(|t| TopUp {
                below: t.below.to_fen(),
                refill_to: t.refill_to.to_fen(),
                max_per_year: t.max_per_year.to_fen(),
            }),
            book_fen: model.exposure_fen(),
        };
        if e.multi {
            let mut by_period = vec![0i64; e.periods];
            for l in model.loans() {
                for t in schedule(l.term_periods, None, 0, e.periods) {
                    by_period[t] += l.amount_fen;
                }
            }
            e.base_matured = by_period;
        }
        e
    }

    /// Switches to importance sampling with the global factor's mean shifted
    /// to `mu` (Glasserman & Li 2005); each scenario then carries the
    /// likelihood ratio exp(−μz + μ²/2).
    pub fn with_factor_shift(mut self, mu: f64) -> Self {
        self.is_shift = mu;
        self
    }

    /// The importance-sampling factor shift μ (0 for plain Monte Carlo).
    pub fn factor_shift(&self) -> f64 {
        self.is_shift
    }

    /// Expected pool claims conditional on the global factor z (single
    /// period, Gaussian, no sector factors), fen: Σ share·EAD·E\[LGD\]·p(z).
    pub fn expected_claims_given_factor(&self, z: f64) -> f64 {
        let mut s = 0.0;
        for c in self.plan.classes() {
            let rho = c.sqrt_rho * c.sqrt_rho;
            let p = conditional_pd(c.pd, rho, z);
            for &i in &c.loans {
                let l = &self.model.loans()[i as usize];
                s += self.plan.share() * l.amount_fen as f64 * l.lgd.mean() * p;
            }
        }
        s
    }

    /// Simulates scenario `i`. When `sector_loss` is given, adds each
    /// defaulted loan's loss to its sector's entry. Each period: the
    /// factors are drawn, the defaults picked and their claims paid, then
    /// (multi-period) recoveries come back, loans mature, the breaker is
    /// tested and the book re-lent, the top-up applied, and the balance
    /// binned.
    fn scenario(
        &self,
        i: u64,
        scratch: &mut Scratch,
        mut sector_loss: Option<&mut [i64]>,
        hist: &mut [Vec<u64>],
    ) -> Outcome {
        let model = self.model;
        let mut rng = self.base.clone();
        rng.set_stream(i);
        let mut out = Outcome {
            weight: 1.0,
            ..Outcome::default()
        };
        let mut st = PoolState::new(model.capital_fen());
        if self.multi {
            scratch.reset(model, self.periods);
            st.lent = self.book_fen;
        } else if model.spec().pool.recovery_lag > 0 {
            scratch.recoveries.clear();
            scratch.recoveries.resize(self.periods + 1, 0);
        }
        let mut z = 0.0f64;
        for (t, period_hist) in hist.iter_mut().enumerate().take(self.periods) {
            z = self.factor(t, z, &mut rng, &mut out);
            let scale = self.draw_period_shocks(&mut rng, scratch);
            let mut books = Books {
                st: &mut st,
                out: &mut out,
                sector_loss: sector_loss.as_deref_mut(),
            };
            let claims = self.period_defaults(t, (z, scale), &mut rng, scratch, &mut books);
            let paid = st.pay(claims, t, &mut out);
            if scratch.period_back != 0 {
                let lag = model.spec().pool.recovery_lag as usize;
                let back = std::mem::take(&mut scratch.period_back);
                scratch.recoveries[t + lag] += pool_part(back, paid, claims);
            }
            if self.multi {
                self.period_end(t, scratch, &mut st, &mut out);
            }
            // a top-up is counted in the row's extra slot (see `run`)
            if let Some(rule) = self.top_up
                && st.top_up(rule, t, model.spec().periods_per_year as usize)
            {
                period_hist[BALANCE_BINS] += 1;
            }
            let width = (2 * model.capital_fen() / BALANCE_BINS as i64).max(1);
            let bin = ((st.balance.max(0) / width) as usize).min(BALANCE_BINS - 1);
            period_hist[bin] += 1;
        }
        out.compensation = st.paid_cum - st.returned_cum;
        out
    }

    /// The global factor of period `t`: N(0, 1) (shifted under importance
    /// sampling, whose likelihood ratio goes into `out`), then AR(1).
    #[inline]
    fn factor(&self, t: usize, z: f64, rng: &mut ChaCha8Rng, out: &mut Outcome) -> f64 {
        let eps: f64 = StandardNormal.sample(rng);
        if t == 0 {
            if self.is_shift != 0.0 {
                let zz = eps + self.is_shift;
                out.weight = (-self.is_shift * zz + 0.5 * self.is_shift * self.is_shift).exp();
                zz
            } else {
                eps
            }
        } else {
            self.phi_ar * z + (1.0 - self.phi_ar * self.phi_ar).sqrt() * eps
        }
    }

    /// The sector factors (into `scratch.sector_z`) and the t copula's
    /// common scale √(χ²ν/ν) of a period (1 under the Gaussian copula).
    #[inline]
    fn draw_period_shocks(&self, rng: &mut ChaCha8Rng, scratch: &mut Scratch) -> f64 {
        if self.plan.sector_loading() > 0.0 {
            scratch.sector_z.clear();
            for _ in 0..self.model.sectors().len() {
                scratch.sector_z.push(StandardNormal.sample(rng));
            }
        }
        match &self.mixing {
            Some((nu, chi)) => (chi.sample(rng) / nu).sqrt(),
            None => 1.0,
        }
    }

    /// The defaults of period `t`, class by class: their losses into
    /// `books`, their recoveries queued, the defaulted loans set aside for
    /// re-lending. Returns the period's claims, fen.
    #[inline]
    fn period_defaults(
        &self,
        t: usize,
        (z, scale): (f64, f64),
        rng: &mut ChaCha8Rng,
        scratch: &mut Scratch,
        books: &mut Books<'_>,
    ) -> i64 {
        let s_load = self.plan.sector_loading();
        let mut claims: i64 = 0;
        for c in self.plan.classes() {
            let s = if s_load > 0.0 {
                scratch.sector_z[c.sector]
            } else {
                0.0
            };
            let p = match c.draw {
                Draw::Never => 0.0,
                Draw::Always => 1.0,
                Draw::Threshold(thr) => {
                    phi((thr * scale - c.sqrt_rho * z - s_load * s) / c.resid_sd)
                }
            };
            if p <= 0.0 {
                continue;
            }
            // Which loans of the class default: their number K ~ Bin(n, p),
            // then K distinct positions drawn uniformly (Floyd's algorithm).
            // In a single period a class whose loans all cost the same
            // needs only K.
            let n = c.loans.len();
            claims += match &c.amounts {
                Amounts::Uniform(u) => {
                    let k = draw_count(n, p, rng);
                    books.add(
                        c.sector,
                        u32::try_from(k).unwrap_or(u32::MAX),
                        k as i64 * u.loss,
                    );
                    k as i64 * u.claim
                }
                Amounts::Packed(packed) => {
                    // (a single period, fixed amounts: the sums are
                    // integers, so the order of the defaults does not matter)
                    debug_assert!(!self.multi, "packed amounts are for a single period");
                    let k = draw_count(n, p, rng) as usize;
                    let (loss, claim) = packed_defaults(packed, k, rng, scratch);
                    books.add(c.sector, u32::try_from(k).unwrap_or(u32::MAX), loss);
                    claim
                }
                Amounts::PerLoan => self.loan_defaults(c, p, t, rng, scratch, books),
            };
        }
        claims
    }

    /// The defaults of a class whose loans are drawn one by one (a drawn
    /// LGD, or several periods). Returns their claims, fen.
    #[inline]
    fn loan_defaults(
        &self,
        c: &Class,
        p: f64,
        t: usize,
        rng: &mut ChaCha8Rng,
        scratch: &mut Scratch,
        books: &mut Books<'_>,
    ) -> i64 {
        let model = self.model;
        let lag = model.spec().pool.recovery_lag as usize;
        let n = c.loans.len();
        let mut claims = 0;
        let mut chosen = std::mem::take(&mut scratch.chosen);
        chosen.clear();
        if p >= 1.0 {
            chosen.extend(0..n as u32);
        } else {
            let k = Binomial::new(n as u64, p).map_or(0, |b| b.sample(rng)) as usize;
            floyd(n, k, rng, &mut scratch.bits, &mut chosen);
        }
        for &pos in &chosen {
            let loan = c.loans[pos as usize] as usize;
            // (before the breaker trips every loan is lent at the start
            // of a period, and a class's picks are distinct)
            if self.multi && scratch.tripped && !scratch.active[loan] {
                continue;
            }
            let l = &model.loans()[loan];
            let amount = l.amount_fen;
            let DefaultAmounts { loss, claim, back } = self.plan.draw_amounts(loan, l, rng);
            books.add(c.sector, 1, loss);
            claims += claim;
            // A recovery due after the horizon is not returned
            // within it (the pool has paid the gross claim); one due
            // within it is queued once the period's claims are paid.
            if lag > 0 && t + lag < self.periods {
                scratch.period_back += back;
            }
            if self.multi {
                if scratch.tripped {
                    scratch.active[loan] = false;
                } else {
                    // its maturities from now on will not come
                    let term = l.term_periods;
                    for m in schedule(term, scratch.lent_at(loan), t, self.periods) {
                        scratch.delta[m] -= amount;
                    }
                }
                scratch.pending.push(loan as u32);
                books.st.defaulted_amount += amount;
            }
        }
        scratch.chosen = chosen;
        claims
    }

    /// The end of period `t` of a multi-period run: recoveries due now come
    /// back, loans mature, the breaker is tested, and (unless it tripped)
    /// matured and defaulted loans are lent again.
    #[inline]
    fn period_end(&self, t: usize, scratch: &mut Scratch, st: &mut PoolState, out: &mut Outcome) {
        let model = self.model;
        let back = scratch.recoveries[t];
        st.balance += back;
        st.returned_cum += back;
        if scratch.tripped {
            // After the breaker: loans run off as they mature.
            let due = std::mem::take(&mut scratch.maturing[t]);
            for &loan in &due {
                scratch.active[loan as usize] = false;
            }
            scratch.maturing[t] = due;
            scratch.pending.clear();
            return;
        }
        // What matures now: the first lendings' cohorts, less the loans
        // that defaulted before their maturity, plus those lent again since.
        let matured = self.base_matured[t] + scratch.delta[t];
        if let Some(b) = &model.spec().pool.breaker {
            let dr = b
                .default_rate
                .is_some_and(|r| st.defaulted_amount as f64 >= r * st.lent as f64);
            let cr = b
                .compensation_ratio
                .is_some_and(|r| st.paid_cum as f64 >= r * st.provided as f64);
            if dr || cr {
                st.tripped = true;
                out.breaker_period = Period::new((t + 1) as u16);
                self.trip(t, scratch);
                return;
            }
        }
        // Matured and defaulted loans are lent again.
        st.lent += matured;
        for &loan in &scratch.pending {
            let l = loan as usize;
            let term = model.loans()[l].term_periods;
            st.lent += model.loans()[l].amount_fen;
            scratch.stamp[l] = scratch.epoch;
            scratch.lent[l] = t as u32;
            for m in schedule(term, Some(t), t + 1, self.periods) {
                scratch.delta[m] += model.loans()[l].amount_fen;
            }
        }
        scratch.pending.clear();
    }

    /// The breaker trips at the end of period `t`: nothing is lent again.
    /// The loans still out (neither defaulted in `t` nor maturing at its
    /// end) are listed by when they mature — once per scenario that trips.
    fn trip(&self, t: usize, scratch: &mut Scratch) {
        scratch.tripped = true;
        let n = self.model.loans().len();
        scratch.active.clear();
        scratch.active.resize(n, true);
        for &loan in &scratch.pending {
            scratch.active[loan as usize] = false;
        }
        scratch.pending.clear();
        for (l, loan) in self.model.loans().iter().enumerate() {
            if !scratch.active[l] {
                continue;
            }
            match schedule(loan.term_periods, scratch.lent_at(l), t, self.periods).next() {
                Some(m) if m == t => scratch.active[l] = false,
                Some(m) => scratch.maturing[m].push(l as u32),
                None => {}
            }
        }
    }

    /// Runs scenarios `range` on `threads` threads (0: on the pool it is
    /// called from; see [`super::control::workers`]), batch by
    /// batch. Workers write outcomes in place into the columns' spare
    /// capacity, in scenario order whatever the scheduling; nothing is
    /// zeroed first, so a large run's memory is touched only as it fills,
    /// by the workers, and a cancelled run stops within one batch.
    pub fn run(
        &self,
        range: Range<u64>,
        threads: usize,
        control: &Control,
    ) -> Result<Raw, Cancelled> {
        // A run cancelled while it waited for a worker stops here.
        control.check()?;
        let n = (range.end - range.start) as usize;
        let is = self.is_shift != 0.0;
        let mut raw = Raw {
            start: range.start,
            end: range.end,
            defaults: Vec::with_capacity(n),
            loss: Vec::with_capacity(n),
            compensation: Vec::with_capacity(n),
            unfunded: Vec::with_capacity(n),
            bank_loss: Vec::with_capacity(n),
            exhausted_period: Vec::with_capacity(n),
            breaker_period: Vec::with_capacity(n),
            weight: is.then(|| Vec::with_capacity(n)),
            balance_hist: Vec::new(),
            top_ups: Vec::new(),
        };
        // Each period's row: BALANCE_BINS balance bins, then the number of
        // scenarios topped up at its end.
        let hist = Mutex::new(vec![vec![0u64; BALANCE_BINS + 1]; self.periods]);
        let loan_periods = (self.model.loans().len().max(1) * self.periods.max(1)) as u64;
        let batch = (BATCH * 2000 / loan_periods).clamp(MIN_BATCH, BATCH);
        let mut work = || -> Result<(), Cancelled> {
            let mut s = range.start;
            while s < range.end {
                let e = range.end.min(s + batch);
                if is {
                    self.fill::<Vec<f64>, f64>(
                        s..e,
                        control,
                        &hist,
                        &mut raw,
                        |w| w,
                        |r, _| r.weight.get_or_insert_with(Vec::new),
                    );
                } else {
                    self.fill::<(), ()>(s..e, control, &hist, &mut raw, |_| (), |_, w| w);
                }
                // A batch the cancel reached is incomplete: discard it all.
                control.check()?;
                control.done.fetch_add(e - s, Ordering::Relaxed);
                s = e;
            }
            Ok(())
        };
        if threads == 0 {
            work()?
        } else {
            let pool = super::control::workers(threads).map_err(|_| Cancelled)?;
            pool.install(work)?
        };
        let mut rows = hist.into_inner().unwrap_or_else(|e| e.into_inner());
        if self.top_up.is_some() {
            raw.top_ups = rows.iter().map(|r| r[BALANCE_BINS]).collect();
        }
        rows.iter_mut().for_each(|r| r.truncate(BALANCE_BINS));
        raw.balance_hist = rows;
        Ok(raw)
    }

    /// Appends the outcomes of scenarios `batch` to `raw`'s columns, in
    /// parallel. The weight column is `W`: `Vec<f64>` under importance
    /// sampling, `()` (nothing kept) otherwise. Once `control` is cancelled
    /// the remaining scenarios of the batch are filled with zeros at once.
    fn fill<W, X>(
        &self,
        batch: Range<u64>,
        control: &Control,
        hist: &Mutex<Vec<Vec<u64>>>,
        raw: &mut Raw,
        weight: impl Fn(f64) -> X + Sync + Send,
        weights: impl for<'r> Fn(&'r mut Raw, &'r mut W) -> &'r mut W,
    ) where
        W: ParallelExtend<X> + Send + Default,
        X: Send,
    {
        use std::mem::take;
        let mut unit = W::default();
        let mut cols = (
            (
                (take(&mut raw.defaults), take(&mut raw.loss)),
                (take(&mut raw.compensation), take(&mut raw.unfunded)),
            ),
            (
                (take(&mut raw.bank_loss), take(&mut raw.exhausted_period)),
                (take(&mut raw.breaker_period), take(weights(raw, &mut unit))),
            ),
        );
        cols.par_extend(
            (0..(batch.end - batch.start) as usize)
                .into_par_iter()
                .with_min_len(256)
                .map_init(
                    || Local {
                        scratch: Scratch::default(),
                        hist: vec![vec![0u64; BALANCE_BINS + 1]; self.periods],
                        sink: hist,
                    },
                    |local, i| {
                        if control.cancel.load(Ordering::Relaxed) {
                            return Outcome::default();
                        }
                        let i = batch.start + i as u64;
                        self.scenario(i, &mut local.scratch, None, &mut local.hist)
                    },
                )
                .map(|o| {
                    (
                        ((o.defaults, o.loss), (o.compensation, o.unfunded)),
                        (
                            (o.loss - o.compensation, o.exhausted_period),
                            (o.breaker_period, weight(o.weight)),
                        ),
                    )
                }),
        );
        let (((d, l), (c, u)), ((b, e), (r, w))) = cols;
        (raw.defaults, raw.loss, raw.compensation, raw.unfunded) = (d, l, c, u);
        (raw.bank_loss, raw.exhausted_period, raw.breaker_period) = (b, e, r);
        *weights(raw, &mut unit) = w;
    }

    /// How many sectors the book has.
    pub fn sectors(&self) -> usize {
        self.model.sectors().len()
    }

    /// Re-simulates scenario `i` and returns its loss by sector (fen).
    pub fn sector_losses(&self, i: u64) -> Vec<i64> {
        let mut by_sector = vec![0i64; self.model.sectors().len()];
        let mut scratch = Scratch::default();
        let mut hist = vec![vec![0u64; BALANCE_BINS + 1]; self.periods];
        self.scenario(i, &mut scratch, Some(&mut by_sector), &mut hist);
        by_sector
    }
}

/// The pool's part of a period's recoveries `back` (its full share, as if
/// it had paid every claim): in proportion to what it paid of the period's
/// claims (按风险补偿比例反向退补; the claims of a period are paid alike), the
/// rest the bank's. Rounded to the fen, half away from zero.
#[inline]
fn pool_part(back: i64, paid: i64, claims: i64) -> i64 {
    if paid >= claims || claims <= 0 {
        return back;
    }
    let num = 2 * i128::from(back) * i128::from(paid) + i128::from(claims);
    (num / (2 * i128::from(claims))) as i64
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The pool's rules on random multi-period paths against a model that
    /// states the yearly cap by the year of each period (t / ppy) rather
    /// than with a counter reset at the boundary: random claims, capital,
    /// top-up rule and periods per year; after every period the balance,
    /// the capital provided, the unfunded claims and the period the pool
    /// ran dry agree, and no year's top-ups exceed the cap.
    #[test]
    fn top_ups_on_random_paths_keep_the_yearly_cap_by_calendar_year() {
        let mut x = 0x2545_F491_4F6C_DD1Du64;
        let mut next = |m: u64| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x % m
        };
        for _ in 0..2000 {
            let ppy = [1usize, 2, 4, 12][next(4) as usize];
            let periods = 1 + next(40) as usize;
            let capital = 1 + next(1_000) as i64;
            let rule = TopUp {
                below: next(1_200) as i64,
                refill_to: next(1_500) as i64,
                max_per_year: next(2_000) as i64,
            };
            let mut st = PoolState::new(capital);
            let mut out = Outcome::default();
            // the model
            let (mut bal, mut provided, mut unfunded, mut dry) = (capital, capital, 0i64, 0usize);
            let mut added_in_year: std::collections::HashMap<usize, i64> = Default::default();
            for t in 0..periods {
                let claims = next(700) as i64;
                st.pay(claims, t, &mut out);
                st.top_up(rule, t, ppy);
                let paid = claims.min(bal.max(0));
                if claims > 0 && claims >= bal && dry == 0 {
                    dry = t + 1;
                }
                bal -= paid;
                unfunded += claims - paid;
                let year = t / ppy;
                let used = added_in_year.get(&year).copied().unwrap_or(0);
                if bal < rule.below {
                    let add = (rule.refill_to - bal).min(rule.max_per_year - used).max(0);
                    bal += add;
                    provided += add;
                    *added_in_year.entry(year).or_default() += add;
                }
                assert_eq!(
                    (
                        st.balance,
                        st.provided,
                        out.unfunded,
                        out.exhausted_period.map_or(0, |p| usize::from(p.get()))
                    ),
                    (bal, provided, unfunded, dry),
                    "period {t}, ppy {ppy}, {rule:?}"
                );
            }
            assert!(
                added_in_year
                    .values()
                    .all(|&a| a <= rule.max_per_year.max(0))
            );
        }
    }

    #[test]
    fn floyd_draws_distinct_uniform_subsets() {
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        let mut bits = Vec::new();
        let (n, k, draws) = (10usize, 3usize, 200_000u32);
        let mut freq = vec![0u32; n];
        let mut pairs = 0u32; // how often positions 0 and 9 are drawn together
        for _ in 0..draws {
            let mut out = Vec::new();
            floyd(n, k, &mut rng, &mut bits, &mut out);
            assert_eq!(out.len(), k);
            let mut sorted = out.clone();
            sorted.sort_unstable();
            sorted.dedup();
            assert_eq!(sorted.len(), k, "repeated position in {out:?}");
            assert!(bits.iter().all(|&w| w == 0));
            for &p in &out {
                freq[p as usize] += 1;
            }
            if out.contains(&0) && out.contains(&9) {
                pairs += 1;
            }
        }
        // each position: p = k/n; a pair: k(k−1)/(n(n−1)); within 4 SE
        let check = |count: u32, p: f64| {
            let se = (p * (1.0 - p) / f64::from(draws)).sqrt();
            let est = f64::from(count) / f64::from(draws);
            assert!((est - p).abs() <= 4.0 * se, "{est} vs {p}");
        };
        for &f in &freq {
            check(f, 0.3);
        }
        check(pairs, 6.0 / 90.0);
    }
}

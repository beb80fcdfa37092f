//! The semi-analytic engine: a single period's loss and claim distributions
//! without sampling.
//!
//! Conditional on the factors the loans default independently, so the
//! period's loss is a sum of independent terms whose distribution is a
//! convolution (`conv`) on an integer lattice of amounts (`lattice`);
//! the factors are then integrated out by adaptive Gauss–Kronrod quadrature
//! over z with its normal weight, the infinite end pieces in u = Φ(z)
//! (`quadrature`), so that tails of 10⁻⁹ are resolved:
//!
//! - the global factor z: one integral;
//! - sector factors (up to [`MAX_SECTORS`]): given z the sectors are
//!   independent, so each sector's distribution is its own inner integral
//!   over its factor, and the sectors are convolved; a sector whose classes
//!   share one ρ takes that integral from a table computed once (`table`),
//!   any other anew at every node;
//! - the t copula: an outer integral over the χ²(ν) mixing variable, whose
//!   scale w = √(χ²/ν) multiplies every default threshold (as the Monte
//!   Carlo engine draws it);
//! - a Beta LGD: each loan's loss given default is discretised on the
//!   lattice.
//!
//! Errors are bounded, not guessed: a lattice whose unit divides every
//! amount is exact; otherwise the amounts are also rounded down and up, and
//! the floor and ceiling results bracket the truth. The quadrature's error
//! estimate widens every probability bound and the quantiles' levels.
//!
//! Where it does not apply it says why ([`applicability`]): several periods
//! (each period's defaults change the next period's book and pool, and the
//! factor path is a many-dimensional integral), or more sector factors than
//! the nested quadrature handles.

mod conv;
mod cost;
mod lattice;
mod quadrature;
mod table;

use serde::{Deserialize, Serialize};
use statrs::distribution::{ChiSquared, ContinuousCDF};

use self::conv::{Group, Pmf, Scratch};
pub use self::cost::Cost;
use self::lattice::{Amount, Law, Rounding};
use self::quadrature::{Integrand, Tally, Var};
use self::table::Table;
use super::control::{Cancelled, Control};
use super::model::{CopulaLaw, Lgd, Model};
use super::oracle::phi_inv;
use super::plan::{Class, Plan};
use super::stats::yuan_f;
use crate::kernel::money::Yuan;

/// Most sector factors the nested quadrature integrates.
pub const MAX_SECTORS: usize = 3;

/// Quantile levels reported (as for Monte Carlo).
const LEVELS: [f64; 5] = [0.5, 0.9, 0.95, 0.99, 0.999];

/// How the engine is run.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Options {
    /// Most lattice points per distribution (more: a finer lattice and a
    /// tighter bracket, at proportional cost).
    pub lattice_points: usize,
    /// Tolerance of the quadrature: the largest error in any tail
    /// probability it aims at.
    pub tolerance: f64,
    /// Most bytes the run may hold (`riskpool.max_run_bytes`): its set-up
    /// is sized before it allocates, its tables as they grow.
    pub max_bytes: u64,
    /// Most work the run may take, in multiply-adds
    /// (`riskpool.max_analytic_work`): estimated before it starts, charged
    /// as it runs.
    pub max_work: u64,
}

pub use super::spec::DEFAULT_MAX_ANALYTIC_WORK as DEFAULT_MAX_WORK;

/// The exact method's work, in the cost model's multiply-adds, up to which
/// it is run by default beside Monte Carlo (a few seconds at most).
pub const DEFAULT_METHOD_WORK: f64 = 1.5e11;

/// The exact method's memory, bytes, up to which it is run by default.
pub const DEFAULT_METHOD_BYTES: u64 = 256 << 20;

impl Default for Options {
    fn default() -> Self {
        Options {
            lattice_points: 4096,
            tolerance: 1e-7,
            max_bytes: super::spec::Limits::default().max_run_bytes,
            max_work: DEFAULT_MAX_WORK,
        }
    }
}

/// A value with bounds that contain the exact one.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Bounded<T> {
    /// The estimate (nearest lattice; exact on an exact lattice, up to the
    /// quadrature).
    pub estimate: T,
    /// Lower bound.
    pub low: T,
    /// Upper bound.
    pub high: T,
}

/// A bounded quantile.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct AnalyticQuantile {
    /// Level.
    pub level: f64,
    /// The quantile (the smallest x with P(X ≤ x) ≥ level) and its bounds.
    #[serde(flatten)]
    pub value: Bounded<Yuan>,
}

/// Distribution figures of one money outcome.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AnalyticMoney {
    /// Mean.
    pub mean: Bounded<Yuan>,
    /// Quantiles at 50%, 90%, 95%, 99%, 99.9%.
    pub quantiles: Vec<AnalyticQuantile>,
    /// VaR at the tail level.
    pub var: AnalyticQuantile,
    /// Expected shortfall at the tail level (the continuous
    /// Acerbi–Tasche form: (E[X·1{X > VaR}] + VaR·(F(VaR) − α)) / (1 − α)).
    pub es: Bounded<Yuan>,
}

/// The lattice a run used.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LatticeInfo {
    /// Unit of the loss lattice.
    pub loss_unit: Yuan,
    /// Points of the loss lattice.
    pub loss_points: u64,
    /// Unit of the claims lattice.
    pub claim_unit: Yuan,
    /// Points of the claims lattice.
    pub claim_points: u64,
    /// Whether both units divide every amount (no discretisation error).
    pub exact: bool,
}

/// The quadrature a run took.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct QuadratureInfo {
    /// Integrand evaluations (conditional distributions computed).
    pub nodes: u64,
    /// Its error estimate: the largest error in a tail probability.
    pub error_estimate: f64,
    /// The tolerance it aimed at.
    pub tolerance: f64,
}

/// The semi-analytic figures of a single-period run, in the shapes of the
/// Monte Carlo summary.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AnalyticSummary {
    /// What made these figures.
    pub method: String,
    /// P(claims ≥ capital): the pool runs dry.
    pub exhaustion_probability: Bounded<f64>,
    /// Expected number of defaults.
    pub mean_defaults: f64,
    /// Net credit loss of the book.
    pub loss: AnalyticMoney,
    /// Claims on the pool (before it runs dry).
    pub claims: AnalyticMoney,
    /// Compensation paid: min(claims, capital).
    pub compensation: AnalyticMoney,
    /// Claims the pool could not pay: max(claims − capital, 0).
    pub unfunded_claims: AnalyticMoney,
    /// Tail level of VaR and ES.
    pub tail_level: f64,
    /// The lattice.
    pub lattice: LatticeInfo,
    /// The quadrature.
    pub quadrature: QuadratureInfo,
    /// What the figures leave out, if anything.
    pub notes: Vec<String>,
}

/// Why there are no analytic figures.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AnalyticError {
    /// The model is outside what the engine computes.
    #[error("the analytic method does not apply: {0}")]
    NotApplicable(String),
    /// The run would take, or took, more memory or work than its budget.
    #[error("{0}")]
    TooCostly(String),
    /// The run was cancelled.
    #[error("analysis cancelled")]
    Cancelled,
}

impl From<Cancelled> for AnalyticError {
    fn from(_: Cancelled) -> Self {
        AnalyticError::Cancelled
    }
}

/// Which engine computes a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Method {
    /// Monte Carlo only.
    MonteCarlo,
    /// The semi-analytic engine only.
    Analytic,
    /// Both, with a certificate of their agreement.
    Both,
}

/// Loans above which `both` is not the default: the analytic engine's cost
/// grows with the book, Monte Carlo's with its defaults.
pub const BOTH_BY_DEFAULT_MAX_LOANS: usize = 10_000;

/// Why the engine would be slow on this model (tens of seconds to
/// minutes), if it applies and would be: the t copula with sector factors
/// nests three integrals (the χ² scale, then z, then each sector's tables
/// at every scale); a sector whose loans differ in ρ (`basel_sme`) has no
/// table and is integrated anew at every node of z. It still computes them
/// when asked (`--method analytic` or `both`).
pub fn slow_reason(model: &Model) -> Option<String> {
    applicability(model).ok()?;
    if model.spec().dependence.sector_rho <= 0.0 {
        return None;
    }
    if matches!(model.copula(), CopulaLaw::T { .. }) {
        return Some("the t copula with sector factors nests three integrals".into());
    }
    let s = shared_rho(model).iter().position(Option::is_none)?;
    Some(format!(
        "the loans of sector {} differ in ρ, so its factor is integrated anew at every node",
        model.sectors()[s]
    ))
}

/// Per sector, the ρ its loans share (those that may default and may not;
/// 0 when there are none), or `None` where they differ: such a sector has
/// no table.
fn shared_rho(model: &Model) -> Vec<Option<f64>> {
    let mut first: Vec<Option<f64>> = vec![None; model.sectors().len()];
    let mut differ = vec![false; first.len()];
    for l in model.loans().iter().filter(|l| l.pd > 0.0 && l.pd < 1.0) {
        let s = usize::from(l.sector);
        match first[s] {
            None => first[s] = Some(l.rho),
            Some(r) => differ[s] |= r.to_bits() != l.rho.to_bits(),
        }
    }
    first
        .into_iter()
        .zip(differ)
        .map(|(r, d)| if d { None } else { Some(r.unwrap_or(0.0)) })
        .collect()
}

/// Whether the engine can compute this model, and if not, why.
pub fn applicability(model: &Model) -> Result<(), String> {
    let spec = model.spec();
    if spec.periods > 1 {
        return Err(format!(
            "{} periods: each period's defaults change the next period's book (re-lending, \
             the breaker) and pool (recoveries, top-ups), and the factor path is a \
             {}-dimensional integral; it is a single-period method",
            spec.periods, spec.periods
        ));
    }
    if spec.dependence.sector_rho > 0.0 && model.sectors().len() > MAX_SECTORS {
        return Err(format!(
            "{} sector factors: the nested quadrature integrates at most {MAX_SECTORS}",
            model.sectors().len()
        ));
    }
    if model.loans().is_empty() {
        return Err("the book has no loans".into());
    }
    Ok(())
}

/// The conditional default probability of a class given the scale w, the
/// global factor z and its sector's factor s.
#[inline]
fn conditional(c: &Class, w: f64, z: f64, s_load: f64, s: f64) -> f64 {
    conditional_at(c, w, c.sqrt_rho * z + s_load * s)
}

/// The conditional default probability of a class given the scale w and
/// a = √ρ·z + √ρ_s·s (a sector table's argument).
#[inline]
fn conditional_at(c: &Class, w: f64, a: f64) -> f64 {
    c.conditional_at(w, a)
}

/// One outcome (loss or claims) on its lattice: its groups by rounding and
/// sector, and each rounding's exact mean in units.
struct Quantity {
    unit: i64,
    points: usize,
    exact: bool,
    /// [rounding][sector] → groups.
    groups: Vec<Vec<Vec<Group>>>,
    /// [rounding] → mean units.
    mean_units: Vec<f64>,
    /// Largest possible total, fen.
    max_total: f64,
}

/// Key of a group: class and law (a step, or the loan's Beta amount).
type LawKey = (usize, u8, u64, u64, u64, u64);

/// The key of `amount`'s group in class `class` on a lattice of `unit`
/// rounded by `r` (a fixed amount's step law costs nothing to build).
fn law_key_of(class: usize, amount: Amount, unit: i64, r: Rounding) -> LawKey {
    match amount {
        Amount::Fixed(_) => law_key(class, &lattice::law(amount, unit, r), amount),
        Amount::Beta { .. } => law_key(class, &Law::Pmf(Vec::new()), amount),
    }
}

fn law_key(class: usize, law: &Law, amount: Amount) -> LawKey {
    match (law, amount) {
        (Law::Step(a), _) => (class, 0, *a as u64, 0, 0, 0),
        (
            Law::Pmf(_),
            Amount::Beta {
                scale, cap, a, b, ..
            },
        ) => (
            class,
            1,
            scale.to_bits(),
            cap.map_or(u64::MAX, |c| c as u64),
            a.to_bits(),
            b.to_bits(),
        ),
        (Law::Pmf(_), Amount::Fixed(v)) => (class, 2, v as u64, 0, 0, 0),
    }
}

impl Quantity {
    /// The lattice (unit, points, exact) of `amounts` covering [0, range]
    /// fen with at most `max_points` points.
    fn lattice(amounts: &[Amount], range: f64, max_points: usize) -> (i64, usize, bool) {
        let max_total: f64 = amounts.iter().map(|a| a.max()).sum();
        let range = range.min(max_total).max(1.0);
        let all_fixed = amounts.iter().all(|a| matches!(a, Amount::Fixed(_)));
        let g = amounts.iter().fold(0i64, |g, a| match a {
            Amount::Fixed(v) => lattice::gcd(g, *v),
            Amount::Beta { .. } => g,
        });
        let exact_points = if g > 0 {
            (range / g as f64).ceil() + 1.0
        } else {
            1.0
        };
        if all_fixed && g > 0 && exact_points <= max_points as f64 {
            (g, exact_points as usize, true)
        } else if all_fixed && g == 0 {
            (1, 1, true)
        } else {
            let unit = ((range / (max_points - 1) as f64).ceil() as i64).max(1);
            (unit, max_points, false)
        }
    }

    /// The groups of `amounts` (per loan; `class_of` per loan) on the
    /// lattice `(unit, points, exact)`, as `plans` planned them (see
    /// [`cost::plan`]), checking `control` as it builds.
    fn build(
        amounts: &[Amount],
        class_of: &[usize],
        classes: &[Class],
        sectors: usize,
        (unit, points, exact): (i64, usize, bool),
        plans: &[cost::ChannelPlan],
        control: &Control,
    ) -> Result<Quantity, Cancelled> {
        let max_total: f64 = amounts.iter().map(|a| a.max()).sum();
        let mut groups = Vec::with_capacity(plans.len());
        let mut mean_units = Vec::with_capacity(plans.len());
        for plan in plans {
            let mut per_sector = vec![Vec::new(); sectors.max(1)];
            let mut means = Vec::with_capacity(plan.groups.len());
            for (s, p) in &plan.groups {
                control.check()?;
                let g = cost::build_group(p, unit, plan.rounding, points, control)?;
                means.push(g.law.mean());
                per_sector[*s].push(g);
            }
            // (summed loan by loan, in the book's order)
            let mean = plan
                .group_of
                .iter()
                .zip(class_of)
                .fold(0.0, |m, (&g, &c)| m + classes[c].pd * means[g as usize]);
            groups.push(per_sector);
            mean_units.push(mean);
        }
        Ok(Quantity {
            unit,
            points,
            exact,
            groups,
            mean_units,
            max_total,
        })
    }

    /// An empty quantity (before the first lattice).
    fn empty() -> Quantity {
        Quantity {
            unit: 1,
            points: 1,
            exact: true,
            groups: Vec::new(),
            mean_units: Vec::new(),
            max_total: 0.0,
        }
    }
}

/// Everything a run integrates.
struct Setup<'e> {
    classes: &'e [Class],
    loss: Quantity,
    claims: Quantity,
    /// √ρ_s (0: no sector factors).
    s_load: f64,
    /// Sectors with their own factor (0 without).
    sectors: usize,
    /// Per sector, the ρ its classes share ([`shared_rho`]).
    shared_rho: Vec<Option<f64>>,
    /// Per channel: an earlier channel with the same groups, whose
    /// distribution it shares.
    twins: Vec<Option<usize>>,
    /// Per sector (one without sectors), the work of one conditional
    /// distribution over the distinct channels.
    work_of: Vec<f64>,
    /// The work of one outer node besides its conditional distributions
    /// (the sector tables' sums, the sectors' convolutions).
    node_work: f64,
    /// The run's budget.
    meter: cost::Meter,
    /// Whether the thresholds are scaled by a χ² variable (the t copula).
    student: bool,
}

/// Per channel, the first earlier channel with the same points and groups
/// (its distribution is the same: computed once).
fn twins(channels: &[(&Quantity, usize)]) -> Vec<Option<usize>> {
    channels
        .iter()
        .enumerate()
        .map(|(j, (q, r))| {
            channels[..j]
                .iter()
                .position(|(p, s)| p.points == q.points && p.groups[*s] == q.groups[*r])
        })
        .collect()
}

/// A unit for the claims lattice on which every loan's claim takes the
/// same number of units as its loss does on the loss lattice, in every
/// rounding, when there is one near the claims-to-loss ratio (as when each
/// claim is a share of its loss): then each claims channel has the groups
/// of a loss channel, and its distribution is computed once for both.
/// `None` when an amount is drawn (Beta), a lattice is exact, or no unit
/// near the ratio (and at least the claims' own) agrees on every loan.
fn twin_unit(
    loss: &[Amount],
    claims: &[Amount],
    (loss_unit, loss_points, loss_exact): (i64, usize, bool),
    (claim_unit, claim_points, claim_exact): (i64, usize, bool),
) -> Option<i64> {
    if loss_exact || claim_exact || loss_points != claim_points {
        return None;
    }
    let mut pairs = Vec::with_capacity(loss.len());
    let (mut sum_l, mut sum_c) = (0.0, 0.0);
    for (l, c) in loss.iter().zip(claims) {
        let (Amount::Fixed(l), Amount::Fixed(c)) = (*l, *c) else {
            return None;
        };
        sum_l += l as f64;
        sum_c += c as f64;
        pairs.push((l, c));
    }
    if sum_l <= 0.0 {
        return None;
    }
    let guess = (loss_unit as f64 * sum_c / sum_l).round() as i64;
    let rounds = [Rounding::Nearest, Rounding::Floor, Rounding::Ceil];
    (0..=16)
        .map(|k: i64| guess + if k % 2 == 0 { k / 2 } else { -(k + 1) / 2 })
        .filter(|&u| u >= claim_unit)
        .find(|&u| {
            pairs.iter().all(|&(l, c)| {
                rounds.iter().all(|&r| {
                    lattice::law(Amount::Fixed(l), loss_unit, r)
                        == lattice::law(Amount::Fixed(c), u, r)
                })
            })
        })
}

impl Setup<'_> {
    /// The channels: each rounding of the loss, then of the claims.
    fn channels(&self) -> Vec<(&Quantity, usize)> {
        let mut out = Vec::new();
        for q in [&self.loss, &self.claims] {
            for r in 0..q.groups.len() {
                out.push((q, r));
            }
        }
        out
    }

    /// The channels computed: each set of twins once (the first of it).
    fn distinct(&self) -> Vec<(&Quantity, usize)> {
        let mut out = self.channels();
        let mut j = 0;
        out.retain(|_| {
            j += 1;
            self.twins.get(j - 1).copied().flatten().is_none()
        });
        out
    }

    /// Every channel's distribution from the [`distinct`](Self::distinct)
    /// ones'.
    fn expand(&self, distinct: &[Pmf]) -> Vec<Pmf> {
        let mut slot: Vec<usize> = Vec::with_capacity(self.twins.len());
        let mut next = 0;
        for j in 0..self.channels().len() {
            let s = match self.twins.get(j).copied().flatten() {
                // (a twin's first is itself distinct, and earlier)
                Some(i) => slot[i],
                None => {
                    next += 1;
                    next - 1
                }
            };
            slot.push(s);
        }
        slot.iter().map(|&s| distinct[s].clone()).collect()
    }

    /// Per sector, its table at the scale w, when its classes share one ρ
    /// (see [`table`]); `None` for a sector whose classes differ in ρ (as
    /// Basel's SME correlation makes them), which is integrated at every
    /// outer node. The first pieces the outer integral's first partition
    /// needs are computed at once, in parallel.
    fn tables<'s>(
        &'s self,
        w: f64,
        tol: f64,
        control: &'s Control,
    ) -> Result<Vec<Option<Table<'s>>>, Cancelled> {
        let mut out = Vec::with_capacity(self.sectors);
        for s in 0..self.sectors {
            let Some(rho) = self.shared_rho[s] else {
                out.push(None);
                continue;
            };
            let first = rho.sqrt();
            let channels = self.distinct();
            let points = channels.iter().map(|(q, _)| q.points).collect();
            let f = move |a: f64| -> Result<Vec<Pmf>, Cancelled> {
                control.check()?;
                self.sector_given(&channels, s, |c| conditional_at(c, w, a), true)
            };
            let t = Table::new(Box::new(f), first, self.s_load, tol, points);
            let reach = quadrature::BREAKS[quadrature::BREAKS.len() - 2] * first;
            t.warm(-reach, reach)?;
            out.push(Some(t));
        }
        Ok(out)
    }

    /// The `channels`' distributions of sector `s`'s loans (of the whole
    /// book without sector factors), each class defaulting with
    /// probability `pd(class)`.
    fn sector_given(
        &self,
        channels: &[(&Quantity, usize)],
        s: usize,
        pd: impl Fn(&Class) -> f64,
        kept: bool,
    ) -> Result<Vec<Pmf>, Cancelled> {
        let bytes: usize = channels.iter().map(|(q, _)| 8 * q.points).sum();
        let kept = if kept {
            bytes
        } else {
            bytes / quadrature::NODES
        };
        self.meter
            .charge(self.work_of.get(s).copied().unwrap_or(0.0), kept as u64)?;
        let pd: Vec<f64> = self
            .classes
            .iter()
            .map(|c| {
                if self.sectors == 0 || c.sector == s {
                    pd(c)
                } else {
                    0.0
                }
            })
            .collect();
        let mut scratch = Scratch::default();
        Ok(channels
            .iter()
            .map(|(q, r)| conv::distribution(&q.groups[*r][s], &pd, q.points, &mut scratch))
            .collect())
    }

    /// The distributions of the distinct channels given the scale w and
    /// the global factor z (sector factors integrated out, each to `tol`:
    /// by their `tables`, or where a sector has none, by an integral of its
    /// own).
    fn given(
        &self,
        w: f64,
        z: f64,
        tol: f64,
        tally: &std::sync::Mutex<Tally>,
        control: &Control,
        tables: &[Option<Table<'_>>],
    ) -> Result<Vec<Pmf>, Cancelled> {
        control.check()?;
        let channels = self.distinct();
        let kept: usize = channels.iter().map(|(q, _)| 8 * q.points).sum();
        self.meter
            .charge(self.node_work, (kept / quadrature::NODES) as u64)?;
        if self.sectors == 0 {
            return self.sector_given(&channels, 0, |c| conditional(c, w, z, 0.0, 0.0), false);
        }
        // Given z the sectors are independent: each sector's distribution
        // is an integral over its own factor; then they are convolved.
        let mut total: Option<Vec<Pmf>> = None;
        let mut sector_error = 0.0;
        for s in 0..self.sectors {
            if let Some(t) = tables.get(s).and_then(Option::as_ref) {
                let mut e = Tally::default();
                let d = t.integrate(t.sqrt_rho * z, tol, &mut e)?;
                sector_error += e.error;
                total = Some(match total {
                    None => d,
                    Some(acc) => acc.iter().zip(&d).map(|(a, b)| a.convolve(b)).collect(),
                });
                continue;
            }
            // A sector whose classes differ in ρ: an integral over its
            // factor s for this node alone, adaptive on the dyadic pieces of
            // a table in s whose weight is s's own (centre 0, sd 1).
            let ch = &channels;
            let inner = move |zs: f64| -> Result<Vec<Pmf>, Cancelled> {
                control.check()?;
                self.sector_given(ch, s, |c| conditional(c, w, z, self.s_load, zs), false)
            };
            let points = channels.iter().map(|(q, _)| q.points).collect();
            let own = Table::new(Box::new(inner), 0.0, 1.0, tol, points);
            let mut t = Tally::default();
            let d = own.integrate(0.0, tol, &mut t)?;
            t.nodes += own.evaluations();
            {
                // (the sectors' errors add up in the convolution; the
                // outer integral's worst node bounds their average)
                let mut g = tally.lock().unwrap_or_else(|e| e.into_inner());
                g.nodes += t.nodes;
                sector_error += t.error;
            }
            total = Some(match total {
                None => d,
                Some(acc) => acc.iter().zip(&d).map(|(a, b)| a.convolve(b)).collect(),
            });
        }
        let mut g = tally.lock().unwrap_or_else(|e| e.into_inner());
        g.error = g.error.max(sector_error);
        Ok(total.unwrap_or_default())
    }
}

/// Distributions the sector tables computed.
fn evaluations(tables: &[Option<Table<'_>>]) -> u64 {
    tables.iter().flatten().map(Table::evaluations).sum()
}

/// Per-loan amounts of the loss and the claim.
fn amounts(plan: &Plan, model: &Model) -> (Vec<Amount>, Vec<Amount>) {
    let spec = model.spec();
    let lag = spec.pool.recovery_lag > 0;
    let share = spec.pool.compensation_share;
    let mut loss = Vec::with_capacity(model.loans().len());
    let mut claims = Vec::with_capacity(model.loans().len());
    for (i, l) in model.loans().iter().enumerate() {
        match (plan.fixed_amounts(i), l.lgd) {
            (Some((lo, cl)), _) => {
                loss.push(Amount::Fixed(lo));
                claims.push(Amount::Fixed(cl));
            }
            (None, Lgd::Beta(a, b)) => {
                loss.push(Amount::Beta {
                    scale: l.amount_fen as f64,
                    cap: None,
                    a,
                    b,
                });
                claims.push(if lag {
                    Amount::Fixed(plan.amounts(l, 0).claim)
                } else {
                    Amount::Beta {
                        scale: share * l.amount_fen as f64,
                        cap: model.cap_fen(),
                        a,
                        b,
                    }
                });
            }
            (None, Lgd::Fixed(x)) => {
                // (the engine precomputes every fixed LGD; kept total)
                let lo = (l.amount_fen as f64 * x).round() as i64;
                loss.push(Amount::Fixed(lo));
                claims.push(Amount::Fixed(plan.amounts(l, lo).claim));
            }
        }
    }
    (loss, claims)
}

/// A first range for the figures asked for: the conditional mean plus 4
/// standard deviations at a factor (and sector factor and scale) of
/// probability a quarter of the highest level's tail (a range found too
/// short is doubled).
fn range_guess(
    setup: &Setup<'_>,
    amounts: &[Amount],
    class_of: &[usize],
    w: f64,
    top_level: f64,
) -> f64 {
    let z = phi_inv((1.0 - top_level) / 4.0);
    let (mut mean, mut var, mut top) = (0.0, 0.0, 0.0f64);
    for (i, a) in amounts.iter().enumerate() {
        let p = conditional(&setup.classes[class_of[i]], w, z, setup.s_load, z);
        let (m, x) = (a.mean(), a.max());
        mean += p * m;
        var += p * x * x - (p * m) * (p * m);
        top = top.max(x);
    }
    mean + 4.0 * var.max(0.0).sqrt() + top
}

/// One channel's result: its pmf, unit and exact mean.
struct Dist<'a> {
    pmf: &'a [f64],
    unit: f64,
    mean_units: f64,
}

impl Dist<'_> {
    fn overflow(&self) -> f64 {
        (1.0 - self.pmf.iter().sum::<f64>()).max(0.0)
    }
    /// E[X·1{X beyond the lattice}], units.
    fn overflow_moment(&self) -> f64 {
        let inside: f64 = self
            .pmf
            .iter()
            .enumerate()
            .map(|(x, &p)| x as f64 * p)
            .sum();
        (self.mean_units - inside).max(self.overflow() * self.pmf.len() as f64)
    }
    /// The smallest x with P(X ≤ x) ≥ level, units; `None` beyond the lattice.
    fn quantile(&self, level: f64) -> Option<usize> {
        let mut c = 0.0;
        for (x, &p) in self.pmf.iter().enumerate() {
            c += p;
            if c >= level - 1e-13 {
                return Some(x);
            }
        }
        None
    }
    /// P(X ≥ x).
    fn tail(&self, x: usize) -> f64 {
        self.pmf.iter().skip(x).sum::<f64>() + self.overflow()
    }
}

/// A monotone function of the outcome, fen → fen, with its expectation
/// over the overflow given P(overflow) and E[X·1{overflow}] (fen).
struct Transform {
    f: Box<dyn Fn(f64) -> f64>,
    over: Box<dyn Fn(f64, f64) -> f64>,
}

impl Transform {
    fn identity() -> Transform {
        Transform {
            f: Box::new(|x| x),
            over: Box::new(|_, m| m),
        }
    }
    fn capped(k: f64) -> Transform {
        Transform {
            f: Box::new(move |x| x.min(k)),
            over: Box::new(move |p, _| k * p),
        }
    }
    fn excess(k: f64) -> Transform {
        Transform {
            f: Box::new(move |x| (x - k).max(0.0)),
            over: Box::new(move |p, m| (m - k * p).max(0.0)),
        }
    }
}

/// (mean, VaR, ES) of g(X) in fen, and g's quantile at a level.
fn money(d: &Dist<'_>, g: &Transform, alpha: f64, top: f64) -> (f64, f64, f64) {
    let u = d.unit;
    let (ovf, ovm) = (d.overflow(), d.overflow_moment() * u);
    let mean: f64 = d
        .pmf
        .iter()
        .enumerate()
        .map(|(x, &p)| (g.f)(x as f64 * u) * p)
        .sum::<f64>()
        + (g.over)(ovf, ovm);
    let q = d.quantile(alpha);
    let var = q.map_or((g.f)(top), |q| (g.f)(q as f64 * u));
    let es = match q {
        Some(q) => {
            let above: f64 = d
                .pmf
                .iter()
                .enumerate()
                .skip(q + 1)
                .map(|(x, &p)| (g.f)(x as f64 * u) * p)
                .sum::<f64>()
                + (g.over)(ovf, ovm);
            let at_or_below: f64 = d.pmf[..=q].iter().sum();
            (above + var * (at_or_below - alpha)) / (1.0 - alpha)
        }
        None => var,
    };
    (mean, var, es)
}

fn quantile_of(d: &Dist<'_>, g: &Transform, level: f64, top: f64) -> f64 {
    let level = level.clamp(0.0, 1.0 - 1e-15);
    d.quantile(level)
        .map_or((g.f)(top), |q| (g.f)(q as f64 * d.unit))
}

/// Bounded money figures of g(X) from the rounding channels (nearest, and
/// floor and ceiling when the lattice is not exact); `err` is the
/// quadrature's error in probabilities.
fn bounded_money(
    ds: &[Dist<'_>],
    g: &Transform,
    alpha: f64,
    err: f64,
    top: f64,
    exact_mean: Option<f64>,
) -> AnalyticMoney {
    let (near, lo, hi) = match ds {
        [n, l, h] => (n, l, h),
        [n, ..] => (n, n, n),
        [] => unreachable!("a quantity has at least one channel"),
    };
    let (m, v, e) = money(near, g, alpha, top);
    // (the mean of the loss or the claims needs no lattice: Σ PDᵢ·E[amountᵢ])
    let m = exact_mean.unwrap_or(m);
    let (ml, _, el) = money(lo, g, alpha, top);
    let (mh, _, eh) = money(hi, g, alpha, top);
    let q = |level: f64| AnalyticQuantile {
        level,
        value: Bounded {
            estimate: yuan_f(quantile_of(near, g, level, top)),
            low: yuan_f(quantile_of(lo, g, level - err, top)),
            high: yuan_f(quantile_of(hi, g, level + err, top)),
        },
    };
    let var = q(alpha);
    debug_assert!((var.value.estimate.to_fen() as f64 - v.round()).abs() < 1.0);
    AnalyticMoney {
        mean: Bounded {
            estimate: yuan_f(m),
            low: yuan_f(ml.min(m)),
            high: yuan_f(mh.max(m)),
        },
        quantiles: LEVELS.iter().map(|&l| q(l)).collect(),
        var,
        es: Bounded {
            estimate: yuan_f(e),
            low: yuan_f(el.min(e)),
            high: yuan_f(eh.max(e)),
        },
    }
}

/// What a run knows before its lattice.
struct Prelude<'e> {
    setup: Setup<'e>,
    class_of: Vec<usize>,
    loss_amounts: Vec<Amount>,
    claim_amounts: Vec<Amount>,
    student: Option<(f64, ChiSquared)>,
    capital: f64,
    top_level: f64,
    loss_range: f64,
    claim_range: f64,
}

fn prelude<'e>(model: &'e Model, opts: &Options) -> Prelude<'e> {
    let plan = model.plan();
    let spec = model.spec();
    let classes = plan.classes();
    let mut class_of = vec![0usize; model.loans().len()];
    for (c, cv) in classes.iter().enumerate() {
        for &l in &cv.loans {
            class_of[l as usize] = c;
        }
    }
    let s_load = plan.sector_loading();
    let sectors = if s_load > 0.0 {
        model.sectors().len()
    } else {
        0
    };
    let (loss_amounts, claim_amounts) = amounts(plan, model);
    let student = match model.copula() {
        CopulaLaw::Gaussian => None,
        CopulaLaw::T { nu, .. } => ChiSquared::new(*nu).ok().map(|c| (*nu, c)),
    };
    let capital = model.capital_fen() as f64;
    // (the scale at which the thresholds are least negative, for the range)
    let w_bad = student.map_or(1.0, |(nu, c)| (c.inverse_cdf(1e-4) / nu).sqrt());
    let setup = Setup {
        classes,
        loss: Quantity::empty(),
        claims: Quantity::empty(),
        twins: Vec::new(),
        s_load,
        sectors,
        shared_rho: shared_rho(model),
        work_of: Vec::new(),
        node_work: 0.0,
        meter: cost::Meter::new(opts.max_work, opts.max_bytes),
        student: student.is_some(),
    };
    let top_level = LEVELS[LEVELS.len() - 1].max(spec.output.tail_level);
    let loss_range = range_guess(&setup, &loss_amounts, &class_of, w_bad, top_level);
    let claim_range =
        range_guess(&setup, &claim_amounts, &class_of, w_bad, top_level).max(1.1 * capital);
    Prelude {
        setup,
        class_of,
        loss_amounts,
        claim_amounts,
        student,
        capital,
        top_level,
        loss_range,
        claim_range,
    }
}

/// The lattices and groups planned for one pair of ranges, and their cost.
struct RunPlan {
    loss_lattice: (i64, usize, bool),
    claim_lattice: (i64, usize, bool),
    loss_plans: Vec<cost::ChannelPlan>,
    claim_plans: Vec<cost::ChannelPlan>,
    work_of: Vec<f64>,
    node_work: f64,
    cost: Cost,
}

/// Evaluations of the first partition of the global factor's integral.
const FIRST_OUTER: f64 = ((quadrature::BREAKS.len() - 1) * quadrature::NODES) as f64;
/// … of the χ² scale's.
const FIRST_MIXING: f64 = ((quadrature::UNIFORM_BREAKS.len() - 1) * quadrature::NODES) as f64;
/// The adaptive refinement's evaluations over the first partitions' (420
/// nodes for 252 on the built-in book; refusals count only the first).
const REFINEMENT: f64 = 1.7;

/// Plans a run on the ranges `(loss, claims)` and prices it (see
/// [`cost`]): nothing of the lattice is allocated but the plan.
fn plan_run(
    setup: &Setup<'_>,
    class_of: &[usize],
    (loss, claims): (&[Amount], &[Amount]),
    (loss_range, claim_range): (f64, f64),
    model: &Model,
    opts: &Options,
    control: &Control,
) -> Result<RunPlan, AnalyticError> {
    let loss_lattice = Quantity::lattice(loss, loss_range, opts.lattice_points);
    let mut claim_lattice = Quantity::lattice(claims, claim_range, opts.lattice_points);
    if let Some(unit) = twin_unit(loss, claims, loss_lattice, claim_lattice) {
        claim_lattice.0 = unit;
    }
    let sector_of: Vec<usize> = setup
        .classes
        .iter()
        .map(|c| if setup.sectors > 0 { c.sector } else { 0 })
        .collect();
    // Convolution powers get at most half the memory.
    let mut power_floats = (opts.max_bytes / 16) as usize;
    let loss_plans = cost::plan(
        loss,
        class_of,
        &sector_of,
        loss_lattice,
        &mut power_floats,
        control,
    )?;
    let claim_plans = cost::plan(
        claims,
        class_of,
        &sector_of,
        claim_lattice,
        &mut power_floats,
        control,
    )?;
    let mut channels: Vec<(&cost::ChannelPlan, usize)> = Vec::new();
    for p in &loss_plans {
        channels.push((p, loss_lattice.1));
    }
    for p in &claim_plans {
        channels.push((p, claim_lattice.1));
    }
    let mut distinct: Vec<(&cost::ChannelPlan, usize)> = Vec::new();
    for &(p, n) in &channels {
        if !distinct
            .iter()
            .any(|&(q, m)| m == n && cost::same_groups(p, q))
        {
            distinct.push((p, n));
        }
    }
    let sectors = setup.sectors;
    let work_of: Vec<f64> = (0..sectors.max(1))
        .map(|s| cost::sector_work(&distinct, s))
        .collect();
    let row: usize = distinct.iter().map(|&(_, n)| n).sum();
    let points = loss_lattice.1.max(claim_lattice.1);
    // One outer node besides its distributions: each tabled sector's sum
    // of its table (its first pieces' nodes × the channels), the sectors'
    // convolutions; one sector without a table integrates a table of its
    // own (about 13 pieces) at every node.
    let tol = opts.tolerance * if setup.student { 0.5 } else { 1.0 };
    let sector_tol = tol * 0.5 / sectors.max(1) as f64;
    let reach = -phi_inv(sector_tol / 64.0).min(-1.0);
    let own_pieces = (2.0 * reach).ceil() + 1.0;
    let (mut node_work, mut per_node, mut tables) = (0.0, 0.0, 0.0);
    if sectors == 0 {
        per_node = work_of[0];
    } else {
        node_work += (sectors - 1) as f64 * distinct.len() as f64 * cost::convolution_work(points);
        for (&w, rho) in work_of.iter().zip(&setup.shared_rho).take(sectors) {
            node_work += own_pieces * quadrature::NODES as f64 * row as f64;
            match *rho {
                None => per_node += own_pieces * quadrature::NODES as f64 * w,
                Some(rho) => {
                    let (first, sd) = (rho.sqrt(), setup.s_load);
                    let h = 2f64.powi(sd.log2().floor() as i32);
                    let width = 2.0 * quadrature::BREAKS[quadrature::BREAKS.len() - 2] * first
                        + 2.0 * reach * sd;
                    tables += ((width / h).ceil() + 2.0) * quadrature::NODES as f64 * w;
                }
            }
        }
    }
    let scales = if setup.student { FIRST_MIXING } else { 1.0 };
    let first_pass_work = scales * (FIRST_OUTER * (per_node + node_work) + tables);
    let (loss_bytes, loss_setup) = cost::setup_of(&loss_plans, loss_lattice.1);
    let (claim_bytes, claim_setup) = cost::setup_of(&claim_plans, claim_lattice.1);
    // In flight: a piece's 21 node values and its neighbour's (and the χ²
    // piece's around them), each thread's sectors and scratch; per loan
    // its amounts and class.
    let threads = rayon::current_num_threads() as u64;
    let levels = if setup.student { 2 } else { 1 };
    let in_flight = (2 * quadrature::NODES as u64 * levels + 4 * threads) * 8 * row as u64;
    let per_loan = 2 * std::mem::size_of::<Amount>() + 16;
    let setup_work = loss_setup + claim_setup;
    let cost = Cost {
        bytes: loss_bytes + claim_bytes + in_flight + (model.loans().len() * per_loan) as u64,
        setup_work,
        first_pass_work,
        expected_work: setup_work + REFINEMENT * first_pass_work,
        groups: channels.iter().map(|(p, _)| p.groups.len() as u64).sum(),
        points: points as u64,
    };
    Ok(RunPlan {
        loss_lattice,
        claim_lattice,
        loss_plans,
        claim_plans,
        work_of,
        node_work,
        cost,
    })
}

/// What the exact method would hold and do on this model, estimated in
/// milliseconds, before anything of its lattice is allocated (see
/// [`Cost`]). A run checks the same estimate, and then charges what it
/// computes against `opts`' budget.
pub fn cost(model: &Model, opts: &Options) -> Result<Cost, AnalyticError> {
    check_options(model, opts)?;
    let p = prelude(model, opts);
    plan_run(
        &p.setup,
        &p.class_of,
        (&p.loss_amounts, &p.claim_amounts),
        (p.loss_range, p.claim_range),
        model,
        opts,
        &Control::default(),
    )
    .map(|r| r.cost)
}

fn check_options(model: &Model, opts: &Options) -> Result<(), AnalyticError> {
    applicability(model).map_err(AnalyticError::NotApplicable)?;
    if opts.lattice_points < 16 || !(opts.tolerance > 0.0 && opts.tolerance < 1e-2) {
        return Err(AnalyticError::NotApplicable(
            "lattice_points must be ≥ 16 and tolerance in (0, 0.01)".into(),
        ));
    }
    Ok(())
}

/// Computes the analytic figures of a single-period model.
pub fn analyze(
    model: &Model,
    opts: &Options,
    control: &Control,
) -> Result<AnalyticSummary, AnalyticError> {
    check_options(model, opts)?;
    let spec = model.spec();
    let Prelude {
        mut setup,
        class_of,
        loss_amounts,
        claim_amounts,
        student,
        capital,
        top_level,
        mut loss_range,
        mut claim_range,
    } = prelude(model, opts);
    let sectors = setup.sectors;
    let tol = opts.tolerance;
    let stopped = |e: Cancelled, meter: &cost::Meter| match meter.reason() {
        Some(why) => AnalyticError::TooCostly(why),
        None => AnalyticError::from(e),
    };
    loop {
        let plan = plan_run(
            &setup,
            &class_of,
            (&loss_amounts, &claim_amounts),
            (loss_range, claim_range),
            model,
            opts,
            control,
        )?;
        if let Some(why) = plan.cost.over(opts.max_bytes, opts.max_work) {
            return Err(AnalyticError::TooCostly(why));
        }
        // (the last range's groups go before the next are built)
        setup.loss = Quantity::empty();
        setup.claims = Quantity::empty();
        setup.work_of = plan.work_of.clone();
        setup.node_work = plan.node_work;
        setup
            .meter
            .charge(plan.cost.setup_work, 0)
            .map_err(|e| stopped(e, &setup.meter))?;
        setup.loss = Quantity::build(
            &loss_amounts,
            &class_of,
            setup.classes,
            sectors,
            plan.loss_lattice,
            &plan.loss_plans,
            control,
        )?;
        setup.claims = Quantity::build(
            &claim_amounts,
            &class_of,
            setup.classes,
            sectors,
            plan.claim_lattice,
            &plan.claim_plans,
            control,
        )?;
        drop(plan);
        setup.twins = twins(&setup.channels());
        let tally = std::sync::Mutex::new(Tally::default());
        let mut outer = Tally::default();
        // The tolerance is shared out so that the errors add up to it: the
        // χ² integral (t copula) takes half; of what is left, the sector
        // integrals at each node take half, split between the sectors, and
        // the global factor's integral the rest. An inner integral's error,
        // at its worst node, bounds its effect on the integral around it.
        let sector_share = if sectors > 0 { 0.5 } else { 0.0 };
        let per_sector = |budget: f64| budget * sector_share / sectors.max(1) as f64;
        let mut run = || -> Result<Vec<Pmf>, Cancelled> {
            Ok(match student {
                None => {
                    let tables = setup.tables(1.0, per_sector(tol), control)?;
                    let f = |z: f64| setup.given(1.0, z, per_sector(tol), &tally, control, &tables);
                    let r = quadrature::integrate(
                        &f as &Integrand<'_>,
                        Var::Normal,
                        &quadrature::BREAKS,
                        tol * (1.0 - sector_share),
                        quadrature::OUTER_PIECES,
                        &mut outer,
                    )?;
                    outer.nodes += evaluations(&tables);
                    r
                }
                Some((nu, chi2)) => {
                    let rest = tol / 2.0;
                    let f = |v: f64| -> Result<Vec<Pmf>, Cancelled> {
                        let w = (chi2.inverse_cdf(v) / nu).sqrt();
                        let tables = setup.tables(w, per_sector(rest), control)?;
                        let here = std::sync::Mutex::new(Tally::default());
                        let g =
                            |z: f64| setup.given(w, z, per_sector(rest), &here, control, &tables);
                        let mut t = Tally::default();
                        let r = quadrature::integrate(
                            &g as &Integrand<'_>,
                            Var::Normal,
                            &quadrature::BREAKS,
                            rest * (1.0 - sector_share),
                            quadrature::OUTER_PIECES,
                            &mut t,
                        )?;
                        let here = here.into_inner().unwrap_or_else(|e| e.into_inner());
                        let mut all = tally.lock().unwrap_or_else(|e| e.into_inner());
                        all.nodes += t.nodes + here.nodes + evaluations(&tables);
                        all.error = all.error.max(t.error + here.error);
                        Ok(r)
                    };
                    quadrature::integrate(
                        &f as &Integrand<'_>,
                        Var::Uniform,
                        &quadrature::UNIFORM_BREAKS,
                        tol / 2.0,
                        quadrature::MIXING_PIECES,
                        &mut outer,
                    )?
                }
            })
        };
        let dists = run().map_err(|e| stopped(e, &setup.meter))?;
        let inner = tally.into_inner().unwrap_or_else(|e| e.into_inner());
        let err = outer.error + inner.error;
        // (each set of twins was integrated once)
        let dists = setup.expand(&dists);
        let channels = setup.channels();
        let ds: Vec<Dist<'_>> = channels
            .iter()
            .zip(&dists)
            .map(|((q, r), d)| Dist {
                pmf: &d.p,
                unit: q.unit as f64,
                mean_units: q.mean_units[*r],
            })
            .collect();
        let nl = setup.loss.groups.len();
        let (loss_d, claim_d) = ds.split_at(nl);
        // Widen a range whose highest quantile falls beyond it.
        let short = |d: &[Dist<'_>], q: &Quantity| {
            q.points as f64 * (q.unit as f64) < q.max_total
                && d.iter()
                    .any(|d| d.quantile((top_level + err).min(1.0 - 1e-15)).is_none())
        };
        let (short_loss, short_claims) =
            (short(loss_d, &setup.loss), short(claim_d, &setup.claims));
        if short_loss || short_claims {
            if short_loss {
                loss_range *= 2.0;
            }
            if short_claims {
                claim_range *= 2.0;
            }
            continue;
        }
        let alpha = spec.output.tail_level;
        let exact_mean = |amounts: &[Amount]| -> f64 {
            amounts
                .iter()
                .zip(&class_of)
                .map(|(a, &c)| setup.classes[c].pd * a.mean())
                .sum()
        };
        let top_l = setup.loss.max_total;
        let top_c = setup.claims.max_total;
        let k0 = ((capital / setup.claims.unit as f64).ceil() as usize).max(1);
        let exhaust: Vec<f64> = claim_d.iter().map(|d| d.tail(k0)).collect();
        let (pe, pl, ph) = match exhaust.as_slice() {
            [n, l, h] => (*n, *l, *h),
            [n, ..] => (*n, *n, *n),
            [] => unreachable!("claims have a channel"),
        };
        let mut notes = Vec::new();
        if spec.pool.top_up.is_some() || spec.pool.breaker.is_some() {
            notes.push(
                "top-ups and the breaker act at the period's end, after its claims: no figure here depends on them"
                    .into(),
            );
        }
        // Loans below half a unit are put at 0 by the nearest rounding: say
        // how much of the book that is.
        let unit = setup.loss.unit as f64;
        let (small, total) = loss_amounts.iter().fold((0.0, 0.0), |(s, t), a| {
            let m = a.max();
            (if m < 0.5 * unit { s + m } else { s }, t + m)
        });
        if total > 0.0 && small > 0.01 * total {
            notes.push(format!(
                "{:.0}% of the loss amounts are below half the lattice unit and count as 0 in the estimate (the bounds still hold): raise lattice_points",
                100.0 * small / total
            ));
        }
        if spec.importance_sampling.is_some() {
            notes.push("importance sampling concerns Monte Carlo only".into());
        }
        let summary = AnalyticSummary {
            method: "analytic: conditional convolution on an amount lattice, adaptive Gauss–Kronrod over the factors".into(),
            exhaustion_probability: Bounded {
                estimate: pe,
                low: (pl.min(pe) - err).max(0.0),
                high: (ph.max(pe) + err).min(1.0),
            },
            mean_defaults: setup
                .classes
                .iter()
                .map(|c| c.pd * c.loans.len() as f64)
                .sum(),
            loss: bounded_money(
                loss_d,
                &Transform::identity(),
                alpha,
                err,
                top_l,
                Some(exact_mean(&loss_amounts)),
            ),
            claims: bounded_money(
                claim_d,
                &Transform::identity(),
                alpha,
                err,
                top_c,
                Some(exact_mean(&claim_amounts)),
            ),
            compensation: bounded_money(
                claim_d,
                &Transform::capped(capital),
                alpha,
                err,
                top_c,
                None,
            ),
            unfunded_claims: bounded_money(
                claim_d,
                &Transform::excess(capital),
                alpha,
                err,
                top_c,
                None,
            ),
            tail_level: alpha,
            lattice: LatticeInfo {
                loss_unit: Yuan::from_fen(setup.loss.unit),
                loss_points: setup.loss.points as u64,
                claim_unit: Yuan::from_fen(setup.claims.unit),
                claim_points: setup.claims.points as u64,
                exact: setup.loss.exact && setup.claims.exact,
            },
            quadrature: QuadratureInfo {
                nodes: outer.nodes + inner.nodes,
                error_estimate: err,
                tolerance: tol,
            },
            notes,
        };
        return Ok(summary);
    }
}

/// One line of a certificate: a Monte Carlo estimate against the analytic
/// value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CertificateLine {
    /// What is compared.
    pub quantity: String,
    /// The Monte Carlo estimate.
    pub monte_carlo: f64,
    /// Its standard error (for a plain Monte Carlo probability, that of the
    /// analytic value at the run's scenario count).
    pub std_error: f64,
    /// The analytic estimate.
    pub analytic: f64,
    /// The analytic lower bound.
    pub analytic_low: f64,
    /// The analytic upper bound.
    pub analytic_high: f64,
    /// The Monte Carlo estimate's distance from the analytic bounds, in
    /// standard errors (0 inside them; signed: negative below).
    pub z: f64,
    /// |z| > 4: the two methods disagree.
    pub flagged: bool,
}

/// Two independent methods on one run: where they agree.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Certificate {
    /// Exhaustion probability, mean loss, mean compensation.
    pub lines: Vec<CertificateLine>,
    /// No line flagged.
    pub agree: bool,
}

/// |z| above this flags a line.
pub const FLAG_Z: f64 = 4.0;

/// The signed distance of `x` from [lo, hi] (0 inside, negative below).
pub(crate) fn outside(x: f64, lo: f64, hi: f64) -> f64 {
    if x < lo {
        x - lo
    } else if x > hi {
        x - hi
    } else {
        0.0
    }
}

fn line(quantity: &str, mc: f64, se: f64, a: f64, lo: f64, hi: f64) -> CertificateLine {
    let d = outside(mc, lo, hi);
    let z = if d == 0.0 {
        0.0
    } else if se > 0.0 {
        d / se
    } else {
        d.signum() * f64::INFINITY
    };
    CertificateLine {
        quantity: quantity.into(),
        monte_carlo: mc,
        std_error: se,
        analytic: a,
        analytic_low: lo,
        analytic_high: hi,
        z,
        flagged: z.abs() > FLAG_Z,
    }
}

/// The certificate of a Monte Carlo summary against the analytic figures
/// of the same model.
pub fn certify(mc: &super::stats::Summary, a: &AnalyticSummary) -> Certificate {
    let e = &a.exhaustion_probability;
    let n = mc.scenarios.max(1) as f64;
    // Plain Monte Carlo: the binomial standard error at the analytic value
    // (the run's own is 0 when it saw no exhaustion); weighted: its own.
    let se = if mc.importance_sampling.is_some() {
        mc.exhaustion_probability.std_error
    } else {
        (e.estimate * (1.0 - e.estimate) / n).sqrt()
    };
    let f = |y: Yuan| y.to_fen() as f64 / 100.0;
    let money = |q: &str, m: &super::stats::MoneyStats, b: &Bounded<Yuan>| {
        line(
            q,
            f(m.mean),
            f(m.mean_std_error),
            f(b.estimate),
            f(b.low),
            f(b.high),
        )
    };
    let lines = vec![
        line(
            "exhaustion_probability",
            mc.exhaustion_probability.estimate,
            se,
            e.estimate,
            e.low,
            e.high,
        ),
        money("mean_loss", &mc.loss, &a.loss.mean),
        money("mean_compensation", &mc.compensation, &a.compensation.mean),
    ];
    Certificate {
        agree: lines.iter().all(|l| !l.flagged),
        lines,
    }
}

#[cfg(test)]
mod tests;

//! The set-up of a run: each outcome's lattice and groups, the per-loan
//! amounts, and the conditional distributions the quadrature integrates.

use super::conv::{Group, Pmf, Scratch};
use super::cost;
use super::lattice::{self, Amount, Grid, Law, Rounding};
use super::quadrature::{self, Tally};
use super::table::Table;
use super::*;
use crate::riskpool::control::{Cancelled, Control};
use crate::riskpool::model::{Lgd, Model};
use crate::riskpool::oracle::phi_inv;
use crate::riskpool::plan::{Class, Plan};

/// The conditional default probability of a class given the scale w, the
/// global factor z and its sector's factor s.
#[inline]
pub(super) fn conditional(c: &Class, w: f64, z: f64, s_load: f64, s: f64) -> f64 {
    c.conditional_at(w, c.sqrt_rho * z + s_load * s)
}

/// One outcome (loss or claims) on its lattice: its groups by rounding and
/// sector, and each rounding's exact mean in units.
pub(super) struct Quantity {
    pub(super) unit: i64,
    pub(super) points: usize,
    pub(super) exact: bool,
    /// [rounding][sector] → groups.
    pub(super) groups: Vec<Vec<Vec<Group>>>,
    /// [rounding] → mean units.
    pub(super) mean_units: Vec<f64>,
    /// Largest possible total, fen.
    pub(super) max_total: f64,
}

/// Key of a group: class and law (a step, or the loan's Beta amount).
pub(super) type LawKey = (usize, u8, u64, u64, u64, u64);

/// The key of `amount`'s group in class `class` on a lattice of `unit`
/// rounded by `r` (a fixed amount's step law costs nothing to build).
pub(super) fn law_key_of(class: usize, amount: Amount, unit: i64, r: Rounding) -> LawKey {
    match amount {
        Amount::Fixed(_) => law_key(class, &lattice::law(amount, unit, r), amount),
        Amount::Beta { .. } => law_key(class, &Law::Pmf(Vec::new()), amount),
    }
}

pub(super) fn law_key(class: usize, law: &Law, amount: Amount) -> LawKey {
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
    /// The lattice of `amounts` covering [0, range] fen with at most
    /// `max_points` points.
    pub(super) fn lattice(amounts: &[Amount], range: f64, max_points: usize) -> Grid {
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
        let (unit, points, exact) = if all_fixed && g > 0 && exact_points <= max_points as f64 {
            (g, exact_points as usize, true)
        } else if all_fixed && g == 0 {
            (1, 1, true)
        } else {
            let unit = ((range / (max_points - 1) as f64).ceil() as i64).max(1);
            (unit, max_points, false)
        };
        Grid {
            unit,
            points,
            exact,
        }
    }

    /// The groups of `amounts` (per loan; `class_of` per loan) on the
    /// lattice `grid`, as `plans` planned them (see
    /// [`cost::plan`]), checking `control` as it builds.
    pub(super) fn build(
        amounts: &[Amount],
        class_of: &[usize],
        classes: &[Class],
        sectors: usize,
        Grid {
            unit,
            points,
            exact,
        }: Grid,
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
    pub(super) fn empty() -> Quantity {
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
pub(super) struct Setup<'e> {
    pub(super) classes: &'e [Class],
    pub(super) loss: Quantity,
    pub(super) claims: Quantity,
    /// √ρ_s (0: no sector factors).
    pub(super) s_load: f64,
    /// Sectors with their own factor (0 without).
    pub(super) sectors: usize,
    /// Per sector, the ρ its classes share ([`shared_rho`]).
    pub(super) shared_rho: Vec<Option<f64>>,
    /// Per channel: an earlier channel with the same groups, whose
    /// distribution it shares.
    pub(super) twins: Vec<Option<usize>>,
    /// Per sector (one without sectors), the work of one conditional
    /// distribution over the distinct channels.
    pub(super) work_of: Vec<f64>,
    /// The work of one outer node besides its conditional distributions
    /// (the sector tables' sums, the sectors' convolutions).
    pub(super) node_work: f64,
    /// The run's budget.
    pub(super) meter: cost::Meter,
    /// Whether the thresholds are scaled by a χ² variable (the t copula).
    pub(super) student: bool,
}

/// Per channel, the first earlier channel with the same points and groups
/// (its distribution is the same: computed once).
pub(super) fn twins(channels: &[(&Quantity, usize)]) -> Vec<Option<usize>> {
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
pub(super) fn twin_unit(
    loss: &[Amount],
    claims: &[Amount],
    Grid {
        unit: loss_unit,
        points: loss_points,
        exact: loss_exact,
    }: Grid,
    Grid {
        unit: claim_unit,
        points: claim_points,
        exact: claim_exact,
    }: Grid,
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
    pub(super) fn channels(&self) -> Vec<(&Quantity, usize)> {
        let mut out = Vec::new();
        for q in [&self.loss, &self.claims] {
            for r in 0..q.groups.len() {
                out.push((q, r));
            }
        }
        out
    }

    /// The channels computed: each set of twins once (the first of it).
    pub(super) fn distinct(&self) -> Vec<(&Quantity, usize)> {
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
    pub(super) fn expand(&self, distinct: &[Pmf]) -> Vec<Pmf> {
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
    pub(super) fn tables<'s>(
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
                self.sector_given(&channels, s, |c| c.conditional_at(w, a), true)
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
    pub(super) fn sector_given(
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
    pub(super) fn given(
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
pub(super) fn evaluations(tables: &[Option<Table<'_>>]) -> u64 {
    tables.iter().flatten().map(Table::evaluations).sum()
}

/// Per-loan amounts of the loss and the claim.
pub(super) fn amounts(plan: &Plan, model: &Model) -> (Vec<Amount>, Vec<Amount>) {
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
pub(super) fn range_guess(
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

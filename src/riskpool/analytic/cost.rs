//! What the exact method will hold and do, known before it allocates: the
//! groups of each channel are planned (their keys, counts and the length of
//! each drawn law) without building a single distribution, and from the
//! plan come the bytes of the set-up (laws, convolution powers, per-loan
//! indices, the nodes in flight) and a cost model of the integration
//! (evaluations × the work of one conditional distribution, plus the
//! tables, the sectors' convolutions and the χ² scale's nodes). A run is
//! refused when either is over its budget; while it runs, a [`Meter`]
//! charges every distribution it computes and stops it at the budget, so
//! no request runs for hours whatever the estimate said.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use super::conv::Group;
use super::lattice::{self, Amount, Grid, Rounding};
use crate::riskpool::control::{Cancelled, Control};

/// Most floats the powers of one group may hold (128 MB); a group whose
/// powers would take more is convolved loan by loan.
pub(super) const MAX_POWER_FLOATS: usize = 1 << 24;

/// Work of one FFT convolution of two windows of `points`, in the cost
/// model's units (multiply-adds).
pub(super) fn convolution_work(points: usize) -> f64 {
    let n = (2 * points).next_power_of_two() as f64;
    6.0 * n * n.log2()
}

/// Work of evaluating one drawn law's point (a regularised incomplete
/// Beta function), in multiply-adds.
const BETA_POINT_WORK: f64 = 200.0;

/// One group before it is built.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Planned {
    /// Its key: class and law.
    pub key: super::LawKey,
    /// The class (its conditional PD).
    pub class: usize,
    /// Loans in it.
    pub count: u32,
    /// One of its loans' amounts (all share the law).
    pub amount: Amount,
    /// Floats of its law (0 for a step).
    pub law_len: usize,
    /// Whether its convolution powers are kept.
    pub powers: bool,
}

impl Planned {
    /// Floats its powers hold.
    pub(super) fn power_floats(&self, points: usize) -> usize {
        if self.powers {
            (self.count as usize + 1) * points
        } else {
            0
        }
    }

    /// Work of adding this group to a distribution of `points`, once per
    /// conditional distribution: the binomial's terms (at most 1 + 6√n of
    /// them carry mass) times the window, for a step or kept powers (and
    /// one convolution for the powers); loan by loan otherwise.
    pub(super) fn work(&self, points: usize) -> f64 {
        let (n, p) = (f64::from(self.count), points as f64);
        let terms = (n + 1.0).min(1.0 + 6.0 * n.sqrt());
        match (self.law_len, self.powers) {
            (0, _) => terms * p,
            (_, true) => terms * p + convolution_work(points),
            (len, false) => n * len as f64 * p,
        }
    }
}

/// A channel's plan: per rounding, its groups and each loan's group.
#[derive(Debug, Clone)]
pub(super) struct ChannelPlan {
    /// How amounts are placed.
    pub rounding: Rounding,
    /// The groups, in key order, with their sectors.
    pub groups: Vec<(usize, Planned)>,
    /// Per loan, the index of its group.
    pub group_of: Vec<u32>,
}

/// What the set-up and one pass of the integration cost.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Cost {
    /// Bytes the run is estimated to hold at its peak.
    pub bytes: u64,
    /// Work of the set-up (laws and convolution powers), multiply-adds.
    pub setup_work: f64,
    /// Work of the integration's first partitions (a lower bound of the
    /// integration's work), multiply-adds.
    pub first_pass_work: f64,
    /// Work expected in all (the set-up and the adaptive refinement, which
    /// typically takes two thirds again the first partitions' nodes).
    pub expected_work: f64,
    /// Groups (distinct loan laws) over all channels.
    pub groups: u64,
    /// Lattice points per distribution.
    pub points: u64,
}

impl Cost {
    /// Why the run is over `max_bytes` or `max_work`, naming what to
    /// change; `None` within both.
    pub fn over(&self, max_bytes: u64, max_work: u64) -> Option<String> {
        if self.bytes > max_bytes {
            return Some(format!(
                "the exact method would hold about {} MB ({} loan groups on {} lattice points), \
                 over the limit of {} MB (riskpool.max_run_bytes): use fewer lattice points \
                 (lattice_points) or the Monte Carlo method",
                self.bytes.div_ceil(1 << 20),
                self.groups,
                self.points,
                max_bytes >> 20
            ));
        }
        let least = self.setup_work + self.first_pass_work;
        if least > max_work as f64 {
            return Some(format!(
                "the exact method would take at least {least:.2e} multiply-adds ({} loan groups \
                 on {} lattice points), over the limit of {:.2e} (riskpool.max_analytic_work): \
                 use fewer lattice points (lattice_points) or the Monte Carlo method",
                self.groups, self.points, max_work as f64
            ));
        }
        None
    }
}

/// Plans the groups of `amounts` on the lattice `(unit, points, exact)`
/// (per loan its class in `class_of`, per class its sector in `sector_of`),
/// granting convolution powers while `power_floats` (the floats left for
/// them) lasts. Checks `control` every loan.
pub(super) fn plan(
    amounts: &[Amount],
    class_of: &[usize],
    sector_of: &[usize],
    Grid {
        unit,
        points,
        exact,
    }: Grid,
    power_floats: &mut usize,
    control: &Control,
) -> Result<Vec<ChannelPlan>, Cancelled> {
    let roundings: &[Rounding] = if exact {
        &[Rounding::Nearest]
    } else {
        &[Rounding::Nearest, Rounding::Floor, Rounding::Ceil]
    };
    let mut out = Vec::with_capacity(roundings.len());
    for &r in roundings {
        let mut index: std::collections::BTreeMap<super::LawKey, u32> = Default::default();
        let mut groups: Vec<Planned> = Vec::new();
        let mut first_of = Vec::with_capacity(amounts.len());
        for (i, &amount) in amounts.iter().enumerate() {
            if i % 4096 == 0 {
                control.check()?;
            }
            let c = class_of[i];
            let key = super::law_key_of(c, amount, unit, r);
            let g = *index.entry(key).or_insert_with(|| {
                groups.push(Planned {
                    key,
                    class: c,
                    count: 0,
                    amount,
                    law_len: lattice::law_len(amount, unit),
                    powers: false,
                });
                (groups.len() - 1) as u32
            });
            groups[g as usize].count += 1;
            first_of.push(g);
        }
        // Key order (the order the groups are convolved in), and each
        // loan's index into it.
        let order: Vec<u32> = index.values().copied().collect();
        let mut rank = vec![0u32; groups.len()];
        for (k, &g) in order.iter().enumerate() {
            rank[g as usize] = k as u32;
        }
        let mut sorted: Vec<(usize, Planned)> = order
            .iter()
            .map(|&g| {
                let p = groups[g as usize].clone();
                (sector_of[p.class], p)
            })
            .collect();
        for (_, p) in &mut sorted {
            let need = (p.count as usize + 1) * points;
            if p.law_len > 0 && p.count > 1 && need <= MAX_POWER_FLOATS && need <= *power_floats {
                p.powers = true;
                *power_floats -= need;
            }
        }
        let group_of = first_of.iter().map(|&g| rank[g as usize]).collect();
        out.push(ChannelPlan {
            rounding: r,
            groups: sorted,
            group_of,
        });
    }
    Ok(out)
}

/// Bytes and set-up work of a quantity's channels.
pub(super) fn setup_of(plans: &[ChannelPlan], points: usize) -> (u64, f64) {
    let (mut floats, mut work, mut groups) = (0usize, 0.0, 0usize);
    for c in plans {
        groups += c.groups.len();
        floats += 4 * c.group_of.len() / 8 + 1;
        for (_, g) in &c.groups {
            let powers = g.power_floats(points);
            floats += g.law_len + powers;
            work += g.law_len as f64 * BETA_POINT_WORK;
            if g.powers {
                work += g.count as f64 * convolution_work(points);
            }
        }
    }
    let bytes = 8 * floats as u64 + (groups * std::mem::size_of::<Group>()) as u64;
    (bytes, work)
}

/// The work of one conditional distribution of sector `s` (of the whole
/// book without sectors) over `channels`.
pub(super) fn sector_work(channels: &[(&ChannelPlan, usize)], s: usize) -> f64 {
    channels
        .iter()
        .flat_map(|(c, points)| c.groups.iter().map(move |g| (g, *points)))
        .filter(|((sector, _), _)| *sector == s)
        .map(|((_, g), points)| g.work(points))
        .sum()
}

/// Whether two channel plans build the same groups (their distributions are
/// computed once).
pub(super) fn same_groups(a: &ChannelPlan, b: &ChannelPlan) -> bool {
    a.groups.len() == b.groups.len()
        && a.groups
            .iter()
            .zip(&b.groups)
            .all(|((_, x), (_, y))| x.key == y.key && x.count == y.count && x.powers == y.powers)
}

/// Builds a planned group's law and group (its powers computed, checking
/// `control` between them).
pub(super) fn build_group(
    p: &Planned,
    unit: i64,
    r: Rounding,
    points: usize,
    control: &Control,
) -> Result<Group, Cancelled> {
    let law = lattice::law(p.amount, unit, r);
    Group::new(p.class, p.count, law, points, p.powers, control)
}

/// The budget of a run, charged as it computes: every conditional
/// distribution its work, every distribution kept its bytes.
#[derive(Debug)]
pub(super) struct Meter {
    work: AtomicU64,
    bytes: AtomicU64,
    max_work: u64,
    max_bytes: u64,
    over: Mutex<Option<String>>,
}

impl Meter {
    /// A meter for these limits.
    pub(super) fn new(max_work: u64, max_bytes: u64) -> Meter {
        Meter {
            work: AtomicU64::new(0),
            bytes: AtomicU64::new(0),
            max_work,
            max_bytes,
            over: Mutex::new(None),
        }
    }

    /// Charges `work` multiply-adds and `bytes` kept; `Err` (the run stops,
    /// and [`reason`](Self::reason) says why) once either is over its
    /// limit.
    pub(super) fn charge(&self, work: f64, bytes: u64) -> Result<(), Cancelled> {
        let w = self.work.fetch_add(work as u64, Ordering::Relaxed) + work as u64;
        let b = self.bytes.fetch_add(bytes, Ordering::Relaxed) + bytes;
        if w <= self.max_work && b <= self.max_bytes {
            return Ok(());
        }
        let mut g = self.over.lock().unwrap_or_else(|e| e.into_inner());
        if g.is_none() {
            *g = Some(if w > self.max_work {
                format!(
                    "the exact method stopped after {w:.2e} multiply-adds, the limit \
                     (riskpool.max_analytic_work is {:.2e}): the integral needs more nodes than \
                     its first partition promised; use fewer lattice points (lattice_points), a \
                     looser tolerance, or the Monte Carlo method",
                    self.max_work as f64
                )
            } else {
                format!(
                    "the exact method's tables grew past {} MB (riskpool.max_run_bytes): use \
                     fewer lattice points (lattice_points) or the Monte Carlo method",
                    self.max_bytes >> 20
                )
            });
        }
        Err(Cancelled)
    }

    /// Why the run was stopped by its budget, if it was.
    pub(super) fn reason(&self) -> Option<String> {
        self.over.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

//! Sector tables. A sector whose classes share one ρ has conditional
//! distributions that depend on the global factor z and its own factor s
//! only through a = √ρ·z + √ρ_s·s. So they are tabulated once, for one
//! scale w, at the Gauss–Kronrod nodes of a dyadic partition of the a-axis,
//! and the sector's integral at each outer node z is a weighted sum of the
//! table: the weight of a is the normal density around √ρ·z with sd √ρ_s.
//! The convolutions are then shared by every outer node instead of being
//! repeated at each; the integral at each z is still adaptive (the pieces
//! it splits are the table's halves, computed once for all), with
//! QUADPACK's error estimate. A sector whose classes differ in ρ has no
//! such table; at each node z it is integrated over its own factor by a
//! table in s (centre 0, sd 1) made for that node alone.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use rayon::prelude::*;

use super::conv::Pmf;
use super::quadrature::{self, Integrand, NODES, Tally, Var};
use crate::riskpool::control::Cancelled;
use crate::riskpool::oracle::{phi, phi_inv};

/// Most halvings of an integral beyond its first partition.
const SPLITS: usize = 120;

/// Most halvings of a first piece.
const DEPTH: u32 = 24;

/// A window of a pmf: its values at `lo`, `lo + 1`, ….
#[derive(Debug, Clone)]
struct Span {
    lo: usize,
    v: Vec<f64>,
}

impl Span {
    fn of(p: &Pmf) -> Span {
        Span {
            lo: p.lo,
            v: p.p[p.lo..=p.hi].to_vec(),
        }
    }

    /// One past the last value.
    fn end(&self) -> usize {
        self.lo + self.v.len()
    }
}

/// A piece of the a-axis: the first piece `k`, [k·h, (k + 1)·h], halved
/// `depth` times, and its `index`th part.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct Key {
    k: i64,
    depth: u32,
    index: u64,
}

impl Key {
    fn first(k: i64) -> Key {
        Key {
            k,
            depth: 0,
            index: 0,
        }
    }

    /// Its ends (exact: h is a power of two).
    fn bounds(self, h: f64) -> (f64, f64) {
        let w = h / (1u64 << self.depth) as f64;
        let lo = self.k as f64 * h + self.index as f64 * w;
        (lo, lo + w)
    }

    fn halves(self) -> [Key; 2] {
        let depth = self.depth + 1;
        [
            Key {
                k: self.k,
                depth,
                index: 2 * self.index,
            },
            Key {
                k: self.k,
                depth,
                index: 2 * self.index + 1,
            },
        ]
    }
}

/// The channels' distributions at a piece's nodes: [node][channel].
type Values = Arc<Vec<Vec<Span>>>;

/// A piece's values, once computed (by whichever thread asked first).
type Slot = Arc<OnceLock<Result<Values, Cancelled>>>;

/// One sector's table at one scale w.
pub(super) struct Table<'f> {
    /// The channels' conditional distributions given a.
    f: Box<Integrand<'f>>,
    /// √ρ of the sector's classes: the weight is centred on √ρ·z.
    pub sqrt_rho: f64,
    /// The weight's sd, √ρ_s.
    sd: f64,
    /// How far from its centre, in sd, the weight is integrated: the mass
    /// beyond, counted in the error, is a 32nd of the tolerance.
    reach: f64,
    /// The first pieces' width: the power of two at or below `sd`.
    h: f64,
    /// Lattice points of each channel.
    points: Vec<usize>,
    cache: Mutex<HashMap<Key, Slot>>,
    evaluations: AtomicU64,
}

impl<'f> Table<'f> {
    /// The table of `f` for integrals to `tol` of a weight of sd `sd`
    /// centred on `sqrt_rho`·z; `points` per channel.
    pub(super) fn new(
        f: Box<Integrand<'f>>,
        sqrt_rho: f64,
        sd: f64,
        tol: f64,
        points: Vec<usize>,
    ) -> Self {
        Table {
            f,
            sqrt_rho,
            sd,
            reach: -phi_inv(tol / 64.0).min(-1.0),
            h: 2f64.powi(sd.log2().floor() as i32),
            points,
            cache: Mutex::new(HashMap::new()),
            evaluations: AtomicU64::new(0),
        }
    }

    /// Distributions the table has computed so far.
    pub(super) fn evaluations(&self) -> u64 {
        self.evaluations.load(Ordering::Relaxed)
    }

    /// The piece's node values, computed once (by the first caller; the
    /// others wait for them). The computation calls nothing parallel, so a
    /// thread never waits on a piece it is computing itself.
    fn values(&self, key: Key) -> Result<Values, Cancelled> {
        let cell = self
            .cache
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(key)
            .or_default()
            .clone();
        cell.get_or_init(|| {
            let (lo, hi) = key.bounds(self.h);
            self.evaluations.fetch_add(NODES as u64, Ordering::Relaxed);
            Var::Uniform
                .nodes(lo, hi)
                .iter()
                .map(|&(x, _, _)| (self.f)(x).map(|d| d.iter().map(Span::of).collect()))
                .collect::<Result<Vec<_>, _>>()
                .map(Arc::new)
        })
        .clone()
    }

    /// The first pieces an integral centred on `mu` starts from.
    fn first_pieces(&self, mu: f64) -> std::ops::Range<i64> {
        let (a, b) = (mu - self.reach * self.sd, mu + self.reach * self.sd);
        (a / self.h).floor() as i64..(b / self.h).ceil() as i64
    }

    /// Computes, in parallel, the first pieces of every integral whose
    /// centre is in [lo, hi] (those of the outer integral's first
    /// partition; the rest are computed when first asked for).
    pub(super) fn warm(&self, lo: f64, hi: f64) -> Result<(), Cancelled> {
        let ks: Vec<i64> = (self.first_pieces(lo).start..self.first_pieces(hi).end).collect();
        ks.par_iter()
            .try_for_each(|&k| self.values(Key::first(k)).map(|_| ()))
    }

    /// One piece's Kronrod sums with the weight centred on `mu`, and its
    /// error estimate.
    fn piece(&self, key: Key, mu: f64) -> Result<(Key, Vec<Span>, f64), Cancelled> {
        let values = self.values(key)?;
        let (lo, hi) = key.bounds(self.h);
        let xs = Var::Uniform.nodes(lo, hi);
        let weights: Vec<(f64, f64)> = xs
            .iter()
            .map(|&(x, wk, wg)| {
                let d = quadrature::density((x - mu) / self.sd) / self.sd;
                (wk * d, wg * d)
            })
            .collect();
        let mut sums = Vec::with_capacity(self.points.len());
        let mut diff: f64 = 0.0;
        for c in 0..self.points.len() {
            let from = values.iter().map(|n| n[c].lo).min().unwrap_or(0);
            let to = values.iter().map(|n| n[c].end()).max().unwrap_or(0);
            let (mut kr, mut ga) = (vec![0.0; to - from], vec![0.0; to - from]);
            for (n, &(wk, wg)) in values.iter().zip(&weights) {
                let s = &n[c];
                let at = s.lo - from..s.end() - from;
                if wg != 0.0 {
                    for ((k, g), &v) in kr[at.clone()].iter_mut().zip(&mut ga[at]).zip(&s.v) {
                        *k += wk * v;
                        *g += wg * v;
                    }
                } else {
                    for (k, &v) in kr[at].iter_mut().zip(&s.v) {
                        *k += wk * v;
                    }
                }
            }
            diff = diff.max(quadrature::tail_gap(&kr, &ga));
            sums.push(Span { lo: from, v: kr });
        }
        let mass = phi((hi - mu) / self.sd) - phi((lo - mu) / self.sd);
        Ok((key, sums, quadrature::estimate(diff, mass)))
    }

    /// ∫ of the table against the normal density of a with mean `mu` and
    /// sd √ρ_s, globally adaptive as [`quadrature::integrate`]: the piece
    /// with the largest error estimate is halved until the estimates add
    /// up to at most `tol`. Summed in order of position.
    pub(super) fn integrate(
        &self,
        mu: f64,
        tol: f64,
        tally: &mut Tally,
    ) -> Result<Vec<Pmf>, Cancelled> {
        let mut pieces = self
            .first_pieces(mu)
            .map(|k| self.piece(Key::first(k), mu))
            .collect::<Result<Vec<_>, _>>()?;
        let most = pieces.len() + SPLITS;
        loop {
            let total: f64 = pieces.iter().map(|p| p.2).sum();
            if total <= tol || pieces.len() >= most {
                break;
            }
            let (worst, _) = pieces
                .iter()
                .enumerate()
                .max_by(|x, y| x.1.2.total_cmp(&y.1.2))
                .expect("at least one piece");
            if pieces[worst].0.depth >= DEPTH {
                break;
            }
            let (key, _, _) = pieces.swap_remove(worst);
            for half in key.halves() {
                pieces.push(self.piece(half, mu)?);
            }
        }
        pieces.sort_by(|x, y| x.0.bounds(self.h).0.total_cmp(&y.0.bounds(self.h).0));
        tally.error += pieces.iter().map(|p| p.2).sum::<f64>() + 2.0 * phi(-self.reach);
        let mut acc: Vec<Vec<f64>> = self.points.iter().map(|&n| vec![0.0; n]).collect();
        for (_, sums, _) in pieces {
            for (a, s) in acc.iter_mut().zip(sums) {
                for (d, v) in a[s.lo..s.end()].iter_mut().zip(s.v) {
                    *d += v;
                }
            }
        }
        Ok(quadrature::to_pmfs(acc))
    }
}

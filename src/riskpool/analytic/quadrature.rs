//! Adaptive Gauss–Kronrod (10–21, as QUADPACK's QK21) quadrature of distributions: the integrand
//! is a set of pmfs (one per channel), and an interval is split until the
//! Kronrod and Gauss estimates of every channel's tail probabilities
//! P(X ≥ x), at every x, agree within its share of the tolerance. The
//! accepted differences add up to the error estimate that is reported.

use rayon::prelude::*;

use super::conv::Pmf;
use crate::riskpool::control::Cancelled;
use crate::riskpool::oracle::{phi, phi_inv};

/// What an integral cost and how sure it is.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(super) struct Tally {
    /// Integrand evaluations.
    pub nodes: u64,
    /// Sum of the accepted intervals' error estimates (sup over channels
    /// and points of the tail-probability difference).
    pub error: f64,
}

/// The integral over [a, b] of a pmf-valued integrand.
pub(super) type Integrand<'f> = dyn Fn(f64) -> Result<Vec<Pmf>, Cancelled> + Sync + 'f;

fn axpy(acc: &mut [Vec<f64>], w: f64, f: &[Pmf]) {
    for (a, pm) in acc.iter_mut().zip(f) {
        for (d, &s) in a[pm.lo..=pm.hi].iter_mut().zip(&pm.p[pm.lo..=pm.hi]) {
            *d += w * s;
        }
    }
}

/// sup over channels and x of |Σ_{y ≥ x} d(y)|.
fn tail_sup(k: &[Vec<f64>], g: &[Vec<f64>]) -> f64 {
    k.iter()
        .zip(g)
        .map(|(kc, gc)| tail_gap(kc, gc))
        .fold(0.0, f64::max)
}

/// sup over x of |Σ_{y ≥ x} (k(y) − g(y))|, for one channel.
pub(super) fn tail_gap(k: &[f64], g: &[f64]) -> f64 {
    let (mut s, mut worst) = (0.0f64, 0.0f64);
    for (a, b) in k.iter().zip(g).rev() {
        s += a - b;
        worst = worst.max(s.abs());
    }
    worst
}

pub(super) fn to_pmfs(v: Vec<Vec<f64>>) -> Vec<Pmf> {
    v.into_iter()
        .map(|p| {
            let lo = p.iter().position(|&x| x != 0.0).unwrap_or(0);
            let hi = p.iter().rposition(|&x| x != 0.0).unwrap_or(0).max(lo);
            Pmf { p, lo, hi }
        })
        .collect()
}

/// The 21-point Kronrod rule's abscissae on [−1, 1] (the positive half,
/// descending, then 0), as QUADPACK's QK21; the odd ones (1, 3, …, 9) are
/// the 10-point Gauss rule's.
#[allow(clippy::excessive_precision)] // (QUADPACK's digits, as published)
const XGK: [f64; 11] = [
    0.995_657_163_025_808_080_735_527_280_689_003,
    0.973_906_528_517_171_720_077_964_012_084_452,
    0.930_157_491_355_708_226_001_207_180_059_508,
    0.865_063_366_688_984_510_732_096_688_423_493,
    0.780_817_726_586_416_897_063_717_578_345_042,
    0.679_409_568_299_024_406_234_327_365_114_874,
    0.562_757_134_668_604_683_339_000_099_272_694,
    0.433_395_394_129_247_190_799_265_943_165_784,
    0.294_392_862_701_460_198_131_126_603_103_866,
    0.148_874_338_981_631_210_884_826_001_129_720,
    0.0,
];

/// The Kronrod weights of [`XGK`].
#[allow(clippy::excessive_precision)] // (QUADPACK's digits, as published)
const WGK: [f64; 11] = [
    0.011_694_638_867_371_874_278_064_396_062_192,
    0.032_558_162_307_964_727_478_818_972_459_390,
    0.054_755_896_574_351_996_031_381_300_244_580,
    0.075_039_674_810_919_952_767_043_140_916_190,
    0.093_125_454_583_697_605_535_065_465_083_366,
    0.109_387_158_802_297_641_899_210_590_325_805,
    0.123_491_976_262_065_851_077_208_062_184_290,
    0.134_709_217_311_473_325_928_054_001_771_707,
    0.142_775_938_577_060_080_797_094_273_138_717,
    0.147_739_104_901_338_491_374_841_515_972_068,
    0.149_445_554_002_916_905_664_936_468_389_821,
];

/// The 10-point Gauss weights of `XGK[1]`, `XGK[3]`, …, `XGK[9]`.
#[allow(clippy::excessive_precision)] // (QUADPACK's digits, as published)
const WG: [f64; 5] = [
    0.066_671_344_308_688_137_593_568_809_893_332,
    0.149_451_349_150_580_593_145_776_339_657_697,
    0.219_086_362_515_982_043_995_534_934_228_163,
    0.269_266_719_309_996_355_091_226_921_569_469,
    0.295_524_224_714_752_870_173_892_994_651_338,
];

/// Nodes of the rule.
pub(super) const NODES: usize = 2 * XGK.len() - 1;

/// The variable an integral runs over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Var {
    /// u ∈ [0, 1], uniform weight; the integrand is given u.
    Uniform,
    /// z ∈ [−∞, ∞] with the standard normal weight φ(z); the integrand is
    /// given z. A piece with finite ends is integrated in z (where the
    /// conditional distributions move smoothly: a bump of fixed width in
    /// z), one with an infinite end in u = Φ(z) (where it is finite).
    Normal,
}

/// The standard normal density.
pub(super) fn density(z: f64) -> f64 {
    (-0.5 * z * z).exp() / (2.0 * std::f64::consts::PI).sqrt()
}

impl Var {
    /// The probability weight of [a, b].
    fn mass(self, a: f64, b: f64) -> f64 {
        match self {
            Var::Uniform => b - a,
            Var::Normal => phi(b) - phi(a),
        }
    }

    /// Where [a, b] is halved: its midpoint, or for a normal piece with an
    /// infinite end, the point that halves its mass.
    fn middle(self, a: f64, b: f64) -> f64 {
        if self == Var::Normal && !(a.is_finite() && b.is_finite()) {
            phi_inv(0.5 * (phi(a) + phi(b)))
        } else {
            0.5 * (a + b)
        }
    }

    /// The Kronrod nodes of [a, b], each as (the integrand's argument,
    /// its Kronrod weight, its Gauss weight), weights including the
    /// measure.
    pub(super) fn nodes(self, a: f64, b: f64) -> [(f64, f64, f64); NODES] {
        let in_u = self == Var::Normal && !(a.is_finite() && b.is_finite());
        let (lo, hi) = if in_u { (phi(a), phi(b)) } else { (a, b) };
        let c = 0.5 * (lo + hi);
        let h = 0.5 * (hi - lo);
        let mid = XGK.len() - 1;
        std::array::from_fn(|j| {
            // node j: c − h·x_j below the centre, c, c + h·x_j above
            let (t, k) = match j.cmp(&mid) {
                std::cmp::Ordering::Less => (c - h * XGK[j], j),
                std::cmp::Ordering::Equal => (c, mid),
                std::cmp::Ordering::Greater => (c + h * XGK[2 * mid - j], 2 * mid - j),
            };
            let g = if k % 2 == 1 { WG[k / 2] } else { 0.0 };
            let (x, m) = match (self, in_u) {
                (Var::Uniform, _) => (t, h),
                (Var::Normal, true) => (phi_inv(t), h),
                (Var::Normal, false) => (t, h * density(t)),
            };
            (x, WGK[k] * m, g * m)
        })
    }
}

fn gk21(
    f: &Integrand<'_>,
    var: Var,
    a: f64,
    b: f64,
    tally: &mut Tally,
) -> Result<(Vec<Vec<f64>>, f64), Cancelled> {
    let xs = var.nodes(a, b);
    let values: Vec<Vec<Pmf>> = xs
        .par_iter()
        .map(|&(x, _, _)| f(x))
        .collect::<Result<_, _>>()?;
    tally.nodes += NODES as u64;
    let shape: Vec<usize> = values[0].iter().map(|p| p.p.len()).collect();
    let zero = || shape.iter().map(|&n| vec![0.0; n]).collect::<Vec<_>>();
    let (mut kr, mut ga) = (zero(), zero());
    for (v, &(_, wk, wg)) in values.iter().zip(&xs) {
        axpy(&mut kr, wk, v);
        if wg != 0.0 {
            axpy(&mut ga, wg, v);
        }
    }
    // QUADPACK's estimate: the Gauss–Kronrod difference, scaled as
    // (200·Δ/s)^{3/2}·s, s bounding the integral of a probability (the
    // piece's mass): the raw difference is the 10-point Gauss rule's
    // error, far above the 21-point Kronrod result's.
    let diff = tail_sup(&kr, &ga);
    Ok((kr, estimate(diff, var.mass(a, b))))
}

/// QUADPACK's error estimate of a piece of mass `s` whose Gauss and
/// Kronrod results differ by `diff`.
pub(super) fn estimate(diff: f64, s: f64) -> f64 {
    if s > 0.0 {
        s * (200.0 * diff / s).powf(1.5).min(1.0)
    } else {
        0.0
    }
}

/// Where the first partition of the global factor's integral breaks, in z:
/// about one unit apart where the conditional distributions move, wider in
/// the far tails (−∞ and ∞ are integrated in u = Φ(z)).
pub(super) const BREAKS: [f64; 13] = [
    f64::NEG_INFINITY,
    -6.0,
    -4.0,
    -3.0,
    -2.0,
    -1.0,
    0.0,
    1.0,
    2.0,
    3.0,
    4.0,
    6.0,
    f64::INFINITY,
];

/// The first partition of the χ² mixing variable's integral, in u: the
/// scale w = √(χ²/ν) goes as u^{1/ν} near 0 and as √(−2·ln(1 − u)/ν) near
/// 1, so the pieces shrink geometrically towards both ends, where a piece
/// of equal width would hold a singularity.
pub(super) const UNIFORM_BREAKS: [f64; 8] = [0.0, 1e-6, 1e-3, 0.05, 0.5, 0.95, 0.999, 1.0];

/// Most intervals the χ² mixing variable's integral splits into.
pub(super) const MIXING_PIECES: usize = 48;

/// Most intervals the outer integral splits into.
pub(super) const OUTER_PIECES: usize = 2000;

/// ∫ f over `var`, globally adaptive (QUADPACK's QAG strategy): the piece
/// with the largest error estimate is halved until the estimates add up to
/// at most `tol` (or there are `max_pieces`), starting from the partition
/// `cuts`. The pieces are summed in order of position, so the result does
/// not depend on the order in which they were refined.
pub(super) fn integrate(
    f: &Integrand<'_>,
    var: Var,
    cuts: &[f64],
    tol: f64,
    max_pieces: usize,
    tally: &mut Tally,
) -> Result<Vec<Pmf>, Cancelled> {
    let mut pieces: Vec<(f64, f64, Vec<Vec<f64>>, f64)> = Vec::new();
    for w in cuts.windows(2) {
        let (v, e) = gk21(f, var, w[0], w[1], tally)?;
        pieces.push((w[0], w[1], v, e));
    }
    loop {
        let total: f64 = pieces.iter().map(|p| p.3).sum();
        if total <= tol || pieces.len() >= max_pieces {
            break;
        }
        let (worst, _) = pieces
            .iter()
            .enumerate()
            .max_by(|x, y| x.1.3.total_cmp(&y.1.3))
            .expect("at least one piece");
        let (lo, hi, _, _) = pieces.swap_remove(worst);
        let m = var.middle(lo, hi);
        if !(m > lo && m < hi) || var.mass(lo, hi) < 1e-15 {
            // cannot split further: keep it as it is, at its error
            let (v, e) = gk21(f, var, lo, hi, tally)?;
            pieces.push((lo, hi, v, e));
            break;
        }
        let (l, r) = rayon::join(
            || {
                let mut t = Tally::default();
                gk21(f, var, lo, m, &mut t).map(|x| (x, t))
            },
            || {
                let mut t = Tally::default();
                gk21(f, var, m, hi, &mut t).map(|x| (x, t))
            },
        );
        let (((lv, le), lt), ((rv, re), rt)) = (l?, r?);
        tally.nodes += lt.nodes + rt.nodes;
        pieces.push((lo, m, lv, le));
        pieces.push((m, hi, rv, re));
    }
    pieces.sort_by(|x, y| x.0.total_cmp(&y.0));
    tally.error += pieces.iter().map(|p| p.3).sum::<f64>();
    let mut it = pieces.into_iter();
    let mut acc = it.next().map(|p| p.2).unwrap_or_default();
    for (_, _, v, _) in it {
        for (x, y) in acc.iter_mut().zip(v) {
            for (a, b) in x.iter_mut().zip(y) {
                *a += b;
            }
        }
    }
    Ok(to_pmfs(acc))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A Bernoulli(u) channel integrated over u ∈ [0, 1]: ½ and ½.
    #[test]
    fn integrates_a_family_of_pmfs() {
        let f = |u: f64| -> Result<Vec<Pmf>, Cancelled> {
            Ok(vec![Pmf {
                p: vec![1.0 - u * u, u * u],
                lo: 0,
                hi: 1,
            }])
        };
        let mut t = Tally::default();
        let r = integrate(
            &f,
            Var::Uniform,
            &UNIFORM_BREAKS,
            1e-12,
            OUTER_PIECES,
            &mut t,
        )
        .unwrap();
        assert!((r[0].p[1] - 1.0 / 3.0).abs() < 1e-15);
        assert!((r[0].p[0] - 2.0 / 3.0).abs() < 1e-15);
        // (a polynomial: the first partition is exact, nothing is split)
        assert_eq!(t.nodes, 21 * 7);
        // a step in u is found by splitting
        let step = |u: f64| -> Result<Vec<Pmf>, Cancelled> {
            let x = f64::from(u8::from(u < 0.3));
            Ok(vec![Pmf {
                p: vec![1.0 - x, x],
                lo: 0,
                hi: 1,
            }])
        };
        let mut t = Tally::default();
        let r = integrate(
            &step,
            Var::Uniform,
            &[0.0, 1.0],
            1e-10,
            OUTER_PIECES,
            &mut t,
        )
        .unwrap();
        assert!((r[0].p[1] - 0.3).abs() < 1e-9, "{}", r[0].p[1]);
        assert!(t.nodes > 21 && t.error <= 1e-10, "{t:?}");
    }
}

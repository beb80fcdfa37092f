//! The distribution of a sum of independent defaults on a lattice, given
//! each loan group's conditional default probability: convolution, group by
//! group, over the window of points that carry mass, truncated at the
//! lattice's last point (what falls beyond is the overflow, 1 − Σ pmf).

use super::lattice::Law;
use crate::riskpool::control::{Cancelled, Control};

/// Mass below this is dropped at a window's edges (its total over a whole
/// run stays far below the quadrature's tolerance).
const NEGLIGIBLE: f64 = 1e-16;

/// Loans of one class (one conditional PD) whose defaults cost the same law.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Group {
    /// Index of the class (its conditional PD).
    pub class: usize,
    /// Number of loans.
    pub count: u32,
    /// What one default costs, in lattice units.
    pub law: Law,
    /// For a drawn law shared by several loans: the cost of j defaults,
    /// Q^{*j}, j = 0, 1, … (as far as any of it stays on the lattice),
    /// computed once, as it does not depend on the factors.
    pub powers: Option<Vec<Pmf>>,
}

impl Group {
    /// A group, with its law's convolution powers when `powers` (they pay
    /// for a drawn law shared by several loans; the plan grants them within
    /// the run's memory), checking `control` between powers.
    pub(super) fn new(
        class: usize,
        count: u32,
        law: Law,
        points: usize,
        powers: bool,
        control: &Control,
    ) -> Result<Group, Cancelled> {
        let powers = match &law {
            Law::Pmf(q) if powers && count > 1 => {
                let q = Pmf::from_law(q, points);
                let mut out = vec![Pmf::point(points)];
                while out.len() <= count as usize {
                    control.check()?;
                    let next = out[out.len() - 1].convolve(&q);
                    let gone = next.lo == next.hi && next.p[next.lo] == 0.0;
                    out.push(next);
                    if gone {
                        break;
                    }
                }
                Some(out)
            }
            _ => None,
        };
        Ok(Group {
            class,
            count,
            law,
            powers,
        })
    }
}

/// The binomial pmf Bin(n, p) at j = lo..=hi (returned with lo), the terms
/// below `NEGLIGIBLE` × the mode's left out.
fn binomial_terms(n: u32, p: f64, out: &mut Vec<f64>) -> usize {
    out.clear();
    if p >= 1.0 {
        out.push(1.0);
        return n as usize;
    }
    let nf = f64::from(n);
    let mode = (((nf + 1.0) * p).floor()).min(nf) as u32;
    let ln = |j: u32| {
        let jf = f64::from(j);
        ln_choose(n, j) + jf * p.ln() + (nf - jf) * (-p).ln_1p()
    };
    let at_mode = ln(mode).exp();
    let r = p / (1.0 - p);
    // down from the mode
    let mut down = Vec::new();
    let mut b = at_mode;
    let mut j = mode;
    while j > 0 {
        b *= f64::from(j) / (nf - f64::from(j) + 1.0) / r;
        if b < NEGLIGIBLE * at_mode {
            break;
        }
        j -= 1;
        down.push(b);
    }
    let lo = mode as usize - down.len();
    out.extend(down.iter().rev());
    out.push(at_mode);
    let mut b = at_mode;
    let mut j = mode;
    while j < n {
        b *= (nf - f64::from(j)) / (f64::from(j) + 1.0) * r;
        if b < NEGLIGIBLE * at_mode {
            break;
        }
        j += 1;
        out.push(b);
    }
    // The mode's value carries ln Γ's rounding (about 1e-10 relative at
    // n = 10⁶); the terms' ratios are exact to an ulp each, and what was
    // left out is below 1e-20 of the mode: normalising restores the sum.
    let sum: f64 = out.iter().sum();
    out.iter_mut().for_each(|b| *b /= sum);
    lo
}

/// ln C(n, j).
fn ln_choose(n: u32, j: u32) -> f64 {
    use statrs::function::gamma::ln_gamma;
    let (n, j) = (f64::from(n), f64::from(j));
    ln_gamma(n + 1.0) - ln_gamma(j + 1.0) - ln_gamma(n - j + 1.0)
}

/// A pmf on 0..points, with the window [lo, hi] outside which it is zero.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Pmf {
    pub p: Vec<f64>,
    pub lo: usize,
    pub hi: usize,
}

impl Pmf {
    /// A law's pmf on the lattice (what lies beyond it dropped).
    fn from_law(q: &[f64], points: usize) -> Pmf {
        let mut p = vec![0.0; points];
        let n = q.len().min(points);
        p[..n].copy_from_slice(&q[..n]);
        let lo = p.iter().position(|&x| x != 0.0).unwrap_or(0);
        let hi = p.iter().rposition(|&x| x != 0.0).unwrap_or(0).max(lo);
        Pmf { p, lo, hi }
    }

    /// Whether all mass is at 0.
    fn is_point(&self) -> bool {
        self.lo == 0 && self.hi == 0 && self.p[0] == 1.0
    }

    /// All mass at 0.
    pub(super) fn point(points: usize) -> Pmf {
        let mut p = vec![0.0; points];
        p[0] = 1.0;
        Pmf { p, lo: 0, hi: 0 }
    }

    fn trim(&mut self) {
        while self.lo < self.hi && self.p[self.lo] < NEGLIGIBLE {
            self.p[self.lo] = 0.0;
            self.lo += 1;
        }
        while self.hi > self.lo && self.p[self.hi] < NEGLIGIBLE {
            self.p[self.hi] = 0.0;
            self.hi -= 1;
        }
    }

    /// Convolves with the sum of `count` independent defaults, each with
    /// probability `p` and cost `law` (truncated at the last point).
    fn add(&mut self, g: &Group, p: f64, scratch: &mut Scratch) {
        let (count, law) = (g.count, &g.law);
        if p <= 0.0 || count == 0 {
            return;
        }
        if let Some(powers) = &g.powers {
            self.add_by_powers(powers, count, p, scratch);
            return;
        }
        match law {
            Law::Step(0) => {}
            Law::Step(a) => self.add_steps(*a, count, p, scratch),
            Law::Pmf(q) => self.add_loan_by_loan(q, count, p, scratch),
        }
        self.trim();
    }

    /// `count` loans whose cost law's convolution powers are at hand:
    /// Σ_j Bin(count, p)_j · Q^{*j}, then one convolution.
    fn add_by_powers(&mut self, powers: &[Pmf], count: u32, p: f64, scratch: &mut Scratch) {
        let points = self.p.len();
        let j0 = binomial_terms(count, p.min(1.0), &mut scratch.terms);
        let mut acc = vec![0.0; points];
        let (mut lo, mut hi) = (points - 1, 0);
        for (k, &b) in scratch.terms.iter().enumerate() {
            let Some(q) = powers.get(j0 + k) else { break };
            for (d, &s) in acc[q.lo..=q.hi].iter_mut().zip(&q.p[q.lo..=q.hi]) {
                *d += b * s;
            }
            lo = lo.min(q.lo);
            hi = hi.max(q.hi);
        }
        let mut own = Pmf {
            p: acc,
            lo: lo.min(hi),
            hi,
        };
        own.trim();
        *self = if self.is_point() {
            own
        } else {
            self.convolve(&own)
        };
    }

    /// `count` loans of one cost `a` lattice steps: the binomial count
    /// shifted by multiples of `a`.
    fn add_steps(&mut self, a: usize, count: u32, p: f64, scratch: &mut Scratch) {
        let points = self.p.len();
        let j0 = binomial_terms(count, p.min(1.0), &mut scratch.terms);
        // j·a beyond the lattice falls off it
        let jmax = (points - 1 - self.lo.min(points - 1)) / a;
        let new_lo = self.lo + j0 * a;
        if j0 > jmax || new_lo >= points {
            self.p.fill(0.0);
            self.lo = points - 1;
            self.hi = points - 1;
            return;
        }
        let new_hi = (self.hi + (j0 + scratch.terms.len() - 1) * a).min(points - 1);
        // out[j] = Σ_k b_k·src[j − k·a], by blocks of outputs (in
        // registers) rather than by terms: each term's contribution
        // is added in the same order as term by term (the same sums
        // to the bit unless fused), at half the memory traffic
        let n = self.hi - self.lo + 1;
        let padded = &mut scratch.acc;
        padded.clear();
        padded.resize(n + 2 * BLOCK, 0.0);
        padded[BLOCK..BLOCK + n].copy_from_slice(&self.p[self.lo..=self.hi]);
        self.p[self.lo..=self.hi].fill(0.0);
        shift_sum(padded, n, &scratch.terms, a, &mut self.p[new_lo..=new_hi]);
        (self.lo, self.hi) = (new_lo, new_hi);
    }

    /// `count` loans with a drawn cost law and no powers: one convolution
    /// per loan.
    fn add_loan_by_loan(&mut self, q: &[f64], count: u32, p: f64, scratch: &mut Scratch) {
        let points = self.p.len();
        for _ in 0..count {
            let new_hi = (self.hi + q.len() - 1).min(points - 1);
            let acc = &mut scratch.acc;
            acc.clear();
            acc.resize(new_hi - self.lo + 1, 0.0);
            let src = &self.p[self.lo..=self.hi];
            for (d, &s) in acc.iter_mut().zip(src) {
                *d = (1.0 - p) * s;
            }
            for (y, &qy) in q.iter().enumerate() {
                let w = p * qy;
                if w == 0.0 || y >= acc.len() {
                    continue;
                }
                let len = src.len().min(acc.len() - y);
                for (d, &s) in acc[y..y + len].iter_mut().zip(&src[..len]) {
                    *d += w * s;
                }
            }
            self.p[self.lo..=new_hi].copy_from_slice(acc);
            self.hi = new_hi;
            self.trim();
        }
    }

    /// The convolution with `other` (truncated at the last point): direct
    /// when a window is narrow, by FFT when both are wide.
    pub(super) fn convolve(&self, other: &Pmf) -> Pmf {
        let points = self.p.len();
        let (wa, wb) = (self.hi - self.lo + 1, other.hi - other.lo + 1);
        if wa.min(wb) > 96 {
            return self.convolve_fft(other);
        }
        let mut out = vec![0.0; points];
        for i in self.lo..=self.hi {
            let a = self.p[i];
            if a == 0.0 || i + other.lo >= points {
                continue;
            }
            let end = (other.hi + 1).min(points - i);
            for (d, &b) in out[i + other.lo..i + end]
                .iter_mut()
                .zip(&other.p[other.lo..end])
            {
                *d += a * b;
            }
        }
        let mut r = Pmf {
            p: out,
            lo: (self.lo + other.lo).min(points - 1),
            hi: (self.hi + other.hi).min(points - 1),
        };
        r.trim();
        r
    }
}

impl Pmf {
    fn convolve_fft(&self, other: &Pmf) -> Pmf {
        let points = self.p.len();
        let lo = self.lo + other.lo;
        if lo >= points {
            return Pmf {
                p: vec![0.0; points],
                lo: points - 1,
                hi: points - 1,
            };
        }
        let hi = (self.hi + other.hi).min(points - 1);
        let need = (self.hi - self.lo) + (other.hi - other.lo) + 1;
        let n = need.next_power_of_two();
        let mut a = vec![(0.0, 0.0); n];
        for (d, &x) in a.iter_mut().zip(&self.p[self.lo..=self.hi]) {
            d.0 = x;
        }
        for (d, &x) in a.iter_mut().zip(&other.p[other.lo..=other.hi]) {
            d.1 = x;
        }
        // both real sequences in one complex transform: A = (F + conj F(−k))/2,
        // B = (F − conj F(−k))/2i, and A·B back
        fft(&mut a, false);
        let mut c = vec![(0.0, 0.0); n];
        for k in 0..n {
            let f = a[k];
            let g = a[(n - k) % n];
            let ar = (0.5 * (f.0 + g.0), 0.5 * (f.1 - g.1));
            let br = (0.5 * (f.1 + g.1), -0.5 * (f.0 - g.0));
            c[k] = (ar.0 * br.0 - ar.1 * br.1, ar.0 * br.1 + ar.1 * br.0);
        }
        fft(&mut c, true);
        let mut p = vec![0.0; points];
        for (i, d) in p[lo..=hi].iter_mut().enumerate() {
            // (rounding leaves ±1e-17 where the true value is 0)
            *d = (c[i].0 / n as f64).max(0.0);
        }
        let mut r = Pmf { p, lo, hi };
        r.trim();
        r
    }
}

/// Outputs computed together by [`shift_sum`]: as many independent sums
/// as keep the adders busy (16 in SSE2's registers, 32 in AVX's).
const BLOCK: usize = 32;

/// out[j] = Σ_k terms[k]·src[j − k·a] for j < out.len(), src being
/// `padded[BLOCK..BLOCK + n]` with `BLOCK` zeros either side; the terms
/// are added in order of k. With AVX2 and FMA where the processor has them
/// (each product fused with its sum: one rounding where SSE2 has two, so
/// such a processor's figures may differ from another's in the last bit;
/// every run on one machine gives the same), else AVX, else SSE2.
fn shift_sum(padded: &[f64], n: usize, terms: &[f64], a: usize, out: &mut [f64]) {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
        {
            // SAFETY: the processor has AVX2 and FMA (checked just above).
            #[allow(unsafe_code)]
            unsafe {
                shift_sum_fma(padded, n, terms, a, out)
            };
            return;
        }
        if std::arch::is_x86_feature_detected!("avx") {
            // SAFETY: the processor has AVX (checked just above).
            #[allow(unsafe_code)]
            unsafe {
                shift_sum_avx(padded, n, terms, a, out)
            };
            return;
        }
    }
    shift_sum_by::<16, false>(padded, n, terms, a, out);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn shift_sum_fma(padded: &[f64], n: usize, terms: &[f64], a: usize, out: &mut [f64]) {
    shift_sum_by::<BLOCK, true>(padded, n, terms, a, out);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx")]
fn shift_sum_avx(padded: &[f64], n: usize, terms: &[f64], a: usize, out: &mut [f64]) {
    shift_sum_by::<BLOCK, false>(padded, n, terms, a, out);
}

#[inline(always)]
fn shift_sum_by<const B: usize, const FUSED: bool>(
    padded: &[f64],
    n: usize,
    terms: &[f64],
    a: usize,
    out: &mut [f64],
) {
    let len = out.len();
    let mut jb = 0;
    while jb < len {
        // the terms that reach some output of the block; the others' reads
        // fall in the zero padding
        let k_lo = if jb >= n { (jb - n + 1).div_ceil(a) } else { 0 };
        let k_hi = ((jb + B - 1) / a).min(terms.len() - 1);
        let mut acc = [0.0f64; B];
        if k_lo <= k_hi {
            let mut start = BLOCK + jb - k_lo * a;
            for &b in &terms[k_lo..=k_hi] {
                let src: &[f64; B] = padded[start..start + B].try_into().expect("a block");
                for t in 0..B {
                    acc[t] = if FUSED {
                        b.mul_add(src[t], acc[t])
                    } else {
                        acc[t] + b * src[t]
                    };
                }
                start = start.wrapping_sub(a);
            }
        }
        if jb + B <= len {
            // (a fixed-size store, not a call to memmove per block)
            let dst: &mut [f64; B] = (&mut out[jb..jb + B]).try_into().expect("a block");
            *dst = acc;
        } else {
            for (d, &v) in out[jb..].iter_mut().zip(&acc) {
                *d = v;
            }
        }
        jb += B;
    }
}

/// (cos, −sin) of 2πk/len for k < len/2, computed once per length.
fn twiddles(len: usize) -> &'static [(f64, f64)] {
    static TABLES: [std::sync::OnceLock<Vec<(f64, f64)>>; 64] =
        [const { std::sync::OnceLock::new() }; 64];
    TABLES[len.trailing_zeros() as usize].get_or_init(|| {
        let ang = 2.0 * std::f64::consts::PI / len as f64;
        (0..len / 2)
            .map(|k| ((ang * k as f64).cos(), -(ang * k as f64).sin()))
            .collect()
    })
}

/// In-place radix-2 FFT of a power-of-two length (`inverse`: conjugate
/// twiddles, unscaled).
fn fft(a: &mut [(f64, f64)], inverse: bool) {
    let n = a.len();
    let mut j = 0;
    for i in 1..n {
        let mut bit = n >> 1;
        while j & bit != 0 {
            j ^= bit;
            bit >>= 1;
        }
        j |= bit;
        if i < j {
            a.swap(i, j);
        }
    }
    // (the inverse's twiddles are the conjugates)
    let flip = if inverse { -1.0 } else { 1.0 };
    let mut len = 2;
    while len <= n {
        let half = len / 2;
        let tw = twiddles(len);
        for start in (0..n).step_by(len) {
            for k in 0..half {
                let (wr, wi) = (tw[k].0, flip * tw[k].1);
                let (xr, xi) = a[start + k + half];
                let t = (xr * wr - xi * wi, xr * wi + xi * wr);
                let u = a[start + k];
                a[start + k] = (u.0 + t.0, u.1 + t.1);
                a[start + k + half] = (u.0 - t.0, u.1 - t.1);
            }
        }
        len <<= 1;
    }
}

/// Working memory of a convolution.
#[derive(Debug, Default)]
pub(super) struct Scratch {
    terms: Vec<f64>,
    acc: Vec<f64>,
}

/// The distribution of the sum of `groups`' defaults, with `pd[class]` each
/// group's conditional default probability.
pub(super) fn distribution(
    groups: &[Group],
    pd: &[f64],
    points: usize,
    scratch: &mut Scratch,
) -> Pmf {
    let mut f = Pmf::point(points);
    for g in groups {
        f.add(g, pd[g.class], scratch);
    }
    f
}

#[cfg(test)]
#[allow(clippy::needless_range_loop)]
mod tests {
    use super::*;

    fn binomial(n: u32, p: f64) -> Vec<f64> {
        let mut terms = Vec::new();
        let lo = binomial_terms(n, p, &mut terms);
        let mut full = vec![0.0; n as usize + 1];
        full[lo..lo + terms.len()].copy_from_slice(&terms);
        full
    }

    #[test]
    fn binomial_terms_match_the_pmf() {
        let b = binomial(10, 0.3);
        // C(10,3)·0.3³·0.7⁷
        assert!((b[3] - 120.0 * 0.027 * 0.7f64.powi(7)).abs() < 1e-14);
        assert!((b.iter().sum::<f64>() - 1.0).abs() < 1e-13);
        let big = binomial(1_000_000, 0.02);
        assert!((big.iter().sum::<f64>() - 1.0).abs() < 1e-10);
        assert_eq!(binomial(5, 1.0)[5], 1.0);
    }

    /// The blocked shift-sum against the term-by-term sum it replaces, on
    /// windows narrower and wider than the shifts, truncated or not: the
    /// same values to the bit unfused (SSE2's and AVX's blocks), within a
    /// rounding per term fused.
    #[test]
    fn shift_sums_equal_the_term_by_term_sums() {
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 11) as f64 / (1u64 << 53) as f64
        };
        for &(n, t, a, cut) in &[
            (1, 1, 1, 0),
            (5, 30, 7, 0),
            (100, 12, 1, 0),
            (100, 40, 17, 3),
            (37, 9, 40, 200),
            (1000, 25, 3, 900),
        ] {
            let src: Vec<f64> = (0..n).map(|_| next()).collect();
            let terms: Vec<f64> = (0..t).map(|_| next()).collect();
            let full = n + (t - 1) * a;
            let len = full - cut.min(full - 1);
            let mut want = vec![0.0; len];
            for (k, &b) in terms.iter().enumerate() {
                for (i, &s) in src.iter().enumerate() {
                    if let Some(d) = want.get_mut(i + k * a) {
                        *d += b * s;
                    }
                }
            }
            let mut padded = vec![0.0; n + 2 * BLOCK];
            padded[BLOCK..BLOCK + n].copy_from_slice(&src);
            let mut sse = vec![f64::NAN; len];
            shift_sum_by::<16, false>(&padded, n, &terms, a, &mut sse);
            assert_eq!(sse, want, "n {n} t {t} a {a} (SSE2)");
            let mut wide = vec![f64::NAN; len];
            shift_sum_by::<BLOCK, false>(&padded, n, &terms, a, &mut wide);
            assert_eq!(wide, want, "n {n} t {t} a {a} (AVX's blocks)");
            // fused: one rounding per term instead of two
            let mut got = vec![f64::NAN; len];
            shift_sum(&padded, n, &terms, a, &mut got);
            for (g, w) in got.iter().zip(&want) {
                assert!(
                    (g - w).abs() <= 1e-15 * w.abs() * t as f64,
                    "{g} against {w}"
                );
            }
        }
    }

    #[test]
    fn fft_convolution_equals_the_direct_one() {
        let n = 700;
        let mk = |seed: u64, lo: usize, hi: usize| {
            let mut p = vec![0.0; n];
            let mut x = seed;
            for v in &mut p[lo..=hi] {
                x = x
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                *v = (x >> 11) as f64 / (1u64 << 53) as f64;
            }
            let s: f64 = p.iter().sum();
            p.iter_mut().for_each(|v| *v /= s);
            Pmf { p, lo, hi }
        };
        let (a, b) = (mk(1, 3, 400), mk(2, 10, 350));
        let fast = a.convolve_fft(&b);
        // direct, by definition
        let mut want = vec![0.0; n];
        for i in a.lo..=a.hi {
            for j in b.lo..=b.hi {
                if i + j < n {
                    want[i + j] += a.p[i] * b.p[j];
                }
            }
        }
        for x in 0..n {
            assert!((fast.p[x] - want[x]).abs() < 1e-15, "{x}");
        }
        assert_eq!(a.convolve(&b).p.len(), n);
    }

    /// Loan by loan against the groups: the same distribution.
    #[test]
    fn groups_equal_loan_by_loan_convolution() {
        let pd = [0.1, 0.3];
        let c = Control::default();
        let groups = vec![
            Group::new(0, 3, Law::Step(2), 20, true, &c).unwrap(),
            Group::new(1, 2, Law::Pmf(vec![0.0, 0.5, 0.5]), 20, true, &c).unwrap(),
        ];
        assert!(groups[1].powers.is_some());
        let mut s = Scratch::default();
        let f = distribution(&groups, &pd, 20, &mut s);
        // by enumeration of the 2⁵ default sets and the LGD halves
        let mut want = [0.0; 20];
        for set in 0u32..32 {
            let mut prob = 1.0;
            let mut base = 0;
            let mut beta = 0;
            for i in 0..5 {
                let d = set >> i & 1 == 1;
                let p = if i < 3 { pd[0] } else { pd[1] };
                prob *= if d { p } else { 1.0 - p };
                if d && i < 3 {
                    base += 2;
                }
                if d && i >= 3 {
                    beta += 1;
                }
            }
            // each defaulted Pmf loan costs 1 or 2 with ½ each
            // (so their total is beta + Bin(beta, ½))
            let choose = [[1.0, 0.0, 0.0], [1.0, 1.0, 0.0], [1.0, 2.0, 1.0]];
            for k in 0..=beta {
                want[base + beta + k] += prob * choose[beta][k] / f64::from(1u32 << beta);
            }
        }
        for x in 0..20 {
            assert!(
                (f.p[x] - want[x]).abs() < 1e-15,
                "{x}: {} vs {}",
                f.p[x],
                want[x]
            );
        }
        // loan by loan (no powers): the same
        let plain: Vec<Group> = groups
            .iter()
            .map(|g| Group {
                powers: None,
                ..g.clone()
            })
            .collect();
        let f2 = distribution(&plain, &pd, 20, &mut s);
        for x in 0..20 {
            assert!((f2.p[x] - want[x]).abs() < 1e-15);
        }
        // truncated at 5 points: what is kept is the same, the rest is gone
        let short = vec![
            Group::new(0, 3, Law::Step(2), 5, true, &c).unwrap(),
            Group::new(1, 2, Law::Pmf(vec![0.0, 0.5, 0.5]), 5, true, &c).unwrap(),
        ];
        let t = distribution(&short, &pd, 5, &mut s);
        for x in 0..5 {
            assert!((t.p[x] - want[x]).abs() < 1e-15);
        }
        // convolving two halves gives the whole
        let a = distribution(&groups[..1], &pd, 20, &mut s);
        let b = distribution(&groups[1..], &pd, 20, &mut s);
        let ab = a.convolve(&b);
        for x in 0..20 {
            assert!((ab.p[x] - want[x]).abs() < 1e-15);
        }
    }
}

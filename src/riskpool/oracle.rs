//! Closed forms and exact numerical oracles for the one-factor Gaussian
//! copula, used in reports (the Vasicek large-pool figure) and as the test
//! suite's yardstick for the Monte Carlo engine.
//!
//! Model: loan i defaults when √ρ·Z + √(1−ρ)·εᵢ < Φ⁻¹(pᵢ), Z, εᵢ iid N(0,1).
//! Conditional on the factor, defaults are independent with
//! pᵢ(z) = Φ((Φ⁻¹(pᵢ) − √ρ·z)/√(1−ρ)) (Vasicek 1987, 2002).
//!
//! Integrals over the factor are taken in u = Φ(z) space, ∫₀¹ f(Φ⁻¹(u)) du,
//! with adaptive Gauss–Kronrod (7–15) quadrature: the binomial tail as a
//! function of z is nearly a step, which fixed Gauss–Hermite rules resolve
//! badly; in u-space it is bounded on [0, 1] and the adaptive rule resolves
//! the step.

use statrs::distribution::{ContinuousCDF, Normal, StudentsT};
use statrs::function::beta::beta_reg;

fn std_normal() -> Normal {
    Normal::standard()
}

/// Standard normal CDF Φ(x) = erfc(−x/√2)/2, with musl's erfc (error below
/// one ulp) — statrs' Φ is only good to about 1e-12.
pub fn phi(x: f64) -> f64 {
    0.5 * libm::erfc(-x * std::f64::consts::FRAC_1_SQRT_2)
}

/// Quantile of Student's t (`t`, ν ∈ (2, 1000]): −∞ at 0, +∞ at 1.
/// statrs' inverse is used where it was checked sound on a grid of ν
/// over (2, 1000] and p over [10⁻¹², 1 − 10⁻¹²] (finite, no panic, no
/// hang); outside that range, where it panics (p below about 6·10⁻¹⁶³) or
/// does not return (some tiny p at large ν), the quantile is found by
/// bisection on the CDF, which statrs computes soundly for every finite x.
pub fn t_inv(t: &StudentsT, p: f64) -> f64 {
    if p <= 0.0 || p.is_nan() {
        return f64::NEG_INFINITY;
    }
    if p >= 1.0 {
        return f64::INFINITY;
    }
    if (1e-12..=1.0 - 1e-12).contains(&p) {
        return t.inverse_cdf(p);
    }
    if p > 0.5 {
        // The upper tail by symmetry, where the CDF is resolved.
        return -t_inv(t, 1.0 - p);
    }
    // Bracket: the t tails are polynomial, so doubling reaches any p
    // representable in an f64 within ~1,100 steps.
    let (mut lo, mut hi) = (-1.0f64, 1.0f64);
    for _ in 0..1100 {
        if t.cdf(lo) <= p {
            break;
        }
        lo *= 2.0;
    }
    for _ in 0..1100 {
        if t.cdf(hi) >= p {
            break;
        }
        hi *= 2.0;
    }
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if mid <= lo || mid >= hi {
            break;
        }
        if t.cdf(mid) < p {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    0.5 * (lo + hi)
}

/// Standard normal quantile Φ⁻¹ (−∞ at 0, +∞ at 1): statrs' estimate, then
/// one Halley step on the accurate Φ.
pub fn phi_inv(p: f64) -> f64 {
    if p <= 0.0 {
        return f64::NEG_INFINITY;
    }
    if p >= 1.0 {
        return f64::INFINITY;
    }
    let x = std_normal().inverse_cdf(p);
    if !x.is_finite() {
        return x;
    }
    let e = phi(x) - p;
    let u = e * (2.0 * std::f64::consts::PI).sqrt() * (0.5 * x * x).exp();
    x - u / (1.0 + 0.5 * x * u)
}

/// Conditional default probability given the factor z.
pub fn conditional_pd(p: f64, rho: f64, z: f64) -> f64 {
    if p <= 0.0 {
        return 0.0;
    }
    if p >= 1.0 {
        return 1.0;
    }
    if rho <= 0.0 {
        return p;
    }
    phi((phi_inv(p) - rho.sqrt() * z) / (1.0 - rho).sqrt())
}

/// Vasicek large-pool CDF: P(default rate ≤ x) for PD p and asset
/// correlation ρ: Φ((√(1−ρ)·Φ⁻¹(x) − Φ⁻¹(p))/√ρ).
pub fn vasicek_cdf(x: f64, p: f64, rho: f64) -> f64 {
    if x <= 0.0 {
        return 0.0;
    }
    if x >= 1.0 {
        return 1.0;
    }
    phi(((1.0 - rho).sqrt() * phi_inv(x) - phi_inv(p)) / rho.sqrt())
}

/// Vasicek large-pool quantile of the default rate at level α:
/// Φ((Φ⁻¹(p) + √ρ·Φ⁻¹(α))/√(1−ρ)).
pub fn vasicek_quantile(alpha: f64, p: f64, rho: f64) -> f64 {
    phi((phi_inv(p) + rho.sqrt() * phi_inv(alpha)) / (1.0 - rho).sqrt())
}

// Gauss–Kronrod 7–15 nodes and weights on [−1, 1].
pub(crate) const XGK: [f64; 8] = [
    0.991_455_371_120_812_6,
    0.949_107_912_342_758_5,
    0.864_864_423_359_769_1,
    0.741_531_185_599_394_4,
    0.586_087_235_467_691_1,
    0.405_845_151_377_397_2,
    0.207_784_955_007_898_5,
    0.0,
];
pub(crate) const WGK: [f64; 8] = [
    0.022_935_322_010_529_22,
    0.063_092_092_629_978_55,
    0.104_790_010_322_250_2,
    0.140_653_259_715_525_9,
    0.169_004_726_639_267_9,
    0.190_350_578_064_785_4,
    0.204_432_940_075_298_9,
    0.209_482_141_084_727_8,
];
pub(crate) const WG: [f64; 4] = [
    0.129_484_966_168_869_7,
    0.279_705_391_489_276_7,
    0.381_830_050_505_118_9,
    0.417_959_183_673_469_4,
];

fn gk15(f: &dyn Fn(f64) -> f64, a: f64, b: f64) -> (f64, f64) {
    let c = 0.5 * (a + b);
    let h = 0.5 * (b - a);
    let fc = f(c);
    let mut k = WGK[7] * fc;
    let mut g = WG[3] * fc;
    for j in 0..7 {
        let x = h * XGK[j];
        let s = f(c - x) + f(c + x);
        k += WGK[j] * s;
        if j % 2 == 1 {
            g += WG[j / 2] * s;
        }
    }
    (k * h, ((k - g) * h).abs())
}

/// Adaptive Gauss–Kronrod integral of f over [a, b] to absolute tolerance
/// `tol`.
pub fn integrate(f: &dyn Fn(f64) -> f64, a: f64, b: f64, tol: f64) -> f64 {
    fn rec(f: &dyn Fn(f64) -> f64, a: f64, b: f64, tol: f64, depth: u32) -> f64 {
        let (v, err) = gk15(f, a, b);
        if err <= tol || depth >= 40 || (b - a) < 1e-15 {
            return v;
        }
        let m = 0.5 * (a + b);
        rec(f, a, m, tol / 2.0, depth + 1) + rec(f, m, b, tol / 2.0, depth + 1)
    }
    rec(f, a, b, tol, 0)
}

/// E over the factor of g(z): ∫₀¹ g(Φ⁻¹(u)) du. The open endpoints are never
/// evaluated by the Kronrod rule.
pub fn factor_expectation(g: &dyn Fn(f64) -> f64, tol: f64) -> f64 {
    integrate(&|u: f64| g(phi_inv(u)), 0.0, 1.0, tol)
}

/// P(Bin(n, p) ≥ k), via the regularised incomplete beta function
/// I_p(k, n − k + 1).
pub fn binomial_sf(k: u64, n: u64, p: f64) -> f64 {
    if k == 0 {
        return 1.0;
    }
    if k > n {
        return 0.0;
    }
    if p <= 0.0 {
        return 0.0;
    }
    if p >= 1.0 {
        return 1.0;
    }
    beta_reg(k as f64, (n - k + 1) as f64, p)
}

/// Exact P(D ≥ k) for a homogeneous pool of n loans with PD p and asset
/// correlation ρ: ∫ P(Bin(n, p(z)) ≥ k) dΦ(z).
pub fn finite_pool_tail(n: u64, k: u64, p: f64, rho: f64) -> f64 {
    factor_expectation(&|z| binomial_sf(k, n, conditional_pd(p, rho, z)), 1e-13)
}

/// Exact mean and variance of the default count and of the loss
/// Σ wᵢ·1{default} of a heterogeneous book under the one-factor Gaussian
/// copula. `book` holds (pd, weight) per loan (weight = EAD × LGD); loans
/// with equal pd are grouped, so the cost is O(classes²) integrals.
///
/// Var = Σᵢ Σⱼ wᵢwⱼ(Pᵢⱼ − pᵢpⱼ) with Pᵢᵢ = pᵢ and, for i ≠ j,
/// Pᵢⱼ = E[pᵢ(Z)·pⱼ(Z)].
pub fn book_moments(book: &[(f64, f64)], rho: f64) -> BookMoments {
    // Group by pd: (pd, count, Σw, Σw²).
    let mut groups: Vec<(f64, f64, f64, f64)> = Vec::new();
    for &(p, w) in book {
        match groups.iter_mut().find(|g| g.0 == p) {
            Some(g) => {
                g.1 += 1.0;
                g.2 += w;
                g.3 += w * w;
            }
            None => groups.push((p, 1.0, w, w * w)),
        }
    }
    let mut mean_d = 0.0;
    let mut mean_l = 0.0;
    let mut var_d = 0.0;
    let mut var_l = 0.0;
    for (a, ga) in groups.iter().enumerate() {
        mean_d += ga.1 * ga.0;
        mean_l += ga.2 * ga.0;
        for gb in groups.iter().skip(a) {
            let joint = factor_expectation(
                &|z| conditional_pd(ga.0, rho, z) * conditional_pd(gb.0, rho, z),
                1e-14,
            );
            let cov = joint - ga.0 * gb.0;
            if std::ptr::eq(ga, gb) {
                // pairs i ≠ j within the group, plus the diagonal
                var_d += ga.1 * (ga.1 - 1.0) * cov + ga.1 * ga.0 * (1.0 - ga.0);
                var_l += (ga.2 * ga.2 - ga.3) * cov + ga.3 * ga.0 * (1.0 - ga.0);
            } else {
                var_d += 2.0 * ga.1 * gb.1 * cov;
                var_l += 2.0 * ga.2 * gb.2 * cov;
            }
        }
    }
    BookMoments {
        mean_defaults: mean_d,
        var_defaults: var_d,
        mean_loss: mean_l,
        var_loss: var_l,
    }
}

/// Moments of the default count and loss of a book.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BookMoments {
    /// E\[D\].
    pub mean_defaults: f64,
    /// Var\[D\].
    pub var_defaults: f64,
    /// E\[L\].
    pub mean_loss: f64,
    /// Var\[L\].
    pub var_loss: f64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quadrature_is_exact_on_smooth_integrands() {
        assert!((integrate(&|x| x * x, 0.0, 1.0, 1e-14) - 1.0 / 3.0).abs() < 1e-15);
        assert!((integrate(&f64::sin, 0.0, std::f64::consts::PI, 1e-13) - 2.0).abs() < 1e-13);
        // a step at 0.3 is resolved by adaptivity
        let step = integrate(&|x| if x < 0.3 { 1.0 } else { 0.0 }, 0.0, 1.0, 1e-12);
        assert!((step - 0.3).abs() < 1e-9, "{step}");
        // E[Φ(Z)] = 1/2 and E[p(Z)] = p
        assert!((factor_expectation(&phi, 1e-13) - 0.5).abs() < 1e-12);
        assert!(
            (factor_expectation(&|z| conditional_pd(0.02, 0.15, z), 1e-14) - 0.02).abs() < 1e-12
        );
    }

    #[test]
    fn normal_references() {
        // reference values (R: pnorm, qnorm)
        assert!((phi(1.96) - 0.975_002_104_851_780_1).abs() < 1e-14);
        assert!((phi_inv(0.975) - 1.959_963_984_540_054).abs() < 1e-12);
        assert!((phi_inv(0.001) + 3.090_232_306_167_813_5).abs() < 1e-12);
    }

    #[test]
    fn vasicek_cdf_and_quantile_are_inverse() {
        for &(p, rho) in &[(0.02, 0.15), (0.01, 0.05), (0.1, 0.3)] {
            for &a in &[0.5, 0.9, 0.99, 0.999] {
                let q = vasicek_quantile(a, p, rho);
                assert!((vasicek_cdf(q, p, rho) - a).abs() < 1e-12);
            }
            // the mean default rate is p: ∫ (1 − F(x)) dx = p
            let m = integrate(&|x| 1.0 - vasicek_cdf(x, p, rho), 0.0, 1.0, 1e-13);
            assert!((m - p).abs() < 1e-9, "{m} vs {p}");
        }
        // reference (Python statistics.NormalDist): p = 1%, ρ = 0.2, α = 99.9%
        assert!((vasicek_quantile(0.999, 0.01, 0.2) - 0.145_525_266_131_071_36).abs() < 1e-12);
    }

    #[test]
    fn finite_pool_limits() {
        // ρ → 0: plain binomial
        let b = binomial_sf(3, 50, 0.02);
        assert!((finite_pool_tail(50, 3, 0.02, 1e-12) - b).abs() < 1e-9);
        // P(D ≥ 1) = 1 − E[(1 − p(Z))^n]
        let direct =
            1.0 - factor_expectation(&|z| (1.0 - conditional_pd(0.02, 0.2, z)).powi(100), 1e-14);
        assert!((finite_pool_tail(100, 1, 0.02, 0.2) - direct).abs() < 1e-11);
        // large n approaches Vasicek
        let n = 20_000u64;
        let x = 0.05;
        let tail = finite_pool_tail(n, (x * n as f64) as u64, 0.02, 0.15);
        assert!(
            (tail - (1.0 - vasicek_cdf(x, 0.02, 0.15))).abs() < 2e-3,
            "{tail}"
        );
    }

    #[test]
    fn book_moments_homogeneous_match_closed_forms() {
        // n loans, pd p: E[D] = np; Var[D] = np(1−p) + n(n−1)(P₂ − p²)
        let book: Vec<(f64, f64)> = (0..10).map(|_| (0.05, 2.0)).collect();
        let m = book_moments(&book, 0.2);
        assert!((m.mean_defaults - 0.5).abs() < 1e-12);
        let p2 = factor_expectation(&|z| conditional_pd(0.05, 0.2, z).powi(2), 1e-14);
        let v = 10.0 * 0.05 * 0.95 + 90.0 * (p2 - 0.0025);
        assert!((m.var_defaults - v).abs() < 1e-12);
        assert!((m.mean_loss - 1.0).abs() < 1e-12);
        assert!((m.var_loss - 4.0 * v).abs() < 1e-11);
        // ρ = 0: independent
        let m0 = book_moments(&[(0.1, 1.0), (0.2, 3.0)], 1e-12);
        assert!((m0.var_defaults - (0.09 + 0.16)).abs() < 1e-9);
        assert!((m0.var_loss - (0.09 + 9.0 * 0.16)).abs() < 1e-9);
    }

    #[test]
    fn t_quantile_holds_in_the_tails() {
        for nu in [2.0000001, 4.0, 30.0, 700.0, 1000.0] {
            let t = StudentsT::new(0.0, 1.0, nu).unwrap();
            for p in [
                5e-324,
                1e-300,
                1e-163,
                1e-100,
                1e-13,
                1e-12,
                0.02,
                0.5,
                1.0 - 1e-13,
            ] {
                let x = t_inv(&t, p);
                assert!(x.is_finite(), "ν {nu} p {p:e}: {x}");
                // the CDF at the quantile gives p back (relative 1e-6)
                let (back, want) = if p > 0.5 {
                    (t.cdf(-x), 1.0 - p)
                } else {
                    (t.cdf(x), p)
                };
                // (subnormal p cannot be resolved to 1e-6: there, within 1e-300)
                assert!(
                    (back - want).abs() <= (1e-6 * want).max(1e-300),
                    "ν {nu} p {p:e}: {back:e}"
                );
            }
            assert_eq!(t_inv(&t, 0.0), f64::NEG_INFINITY);
            assert_eq!(t_inv(&t, 1.0), f64::INFINITY);
        }
    }
}

//! Amounts on an integer lattice: what one default of each loan costs, in
//! lattice units, for the loss and for the pool's claim.
//!
//! A lattice whose unit divides every amount (the fen always does; 1万 or
//! the loss of equal loans often does) is exact. Otherwise each amount is
//! placed on the lattice three ways — nearest, floor and ceiling — and since
//! floor ≤ amount ≤ ceiling for every loan, the floor and ceiling sums
//! bracket the true sum in every scenario: probabilities and quantiles
//! computed from them bound the true ones (the discretisation error is
//! stated as that bracket, not guessed).

use statrs::function::beta::beta_reg;

/// An amount lattice: `points` points `unit` fen apart from 0; `exact`
/// when every amount falls on a point, so no rounding is needed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Grid {
    pub(super) unit: i64,
    pub(super) points: usize,
    pub(super) exact: bool,
}

/// A figure in each rounding of the amounts: nearest, floor and ceiling
/// (the last two bracket the truth); on an exact lattice the three are the
/// one figure.
#[derive(Debug, Clone, Copy)]
pub(super) struct Rounded<T> {
    pub(super) near: T,
    pub(super) floor: T,
    pub(super) ceil: T,
}

impl<'a, T> Rounded<&'a T> {
    /// The channels of a quantity, in the order its roundings are built
    /// (nearest alone when exact; nearest, floor, ceiling otherwise).
    pub(super) fn of(channels: &'a [T]) -> Self {
        match channels {
            [near, floor, ceil] => Rounded { near, floor, ceil },
            [near, ..] => Rounded {
                near,
                floor: near,
                ceil: near,
            },
            [] => unreachable!("a quantity has at least one channel"),
        }
    }
}

/// How one default of a loan costs, before the lattice.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Amount {
    /// A fixed amount, fen.
    Fixed(i64),
    /// min(cap, scale · ℓ) fen with ℓ ~ Beta(a, b) (a drawn LGD).
    Beta {
        /// The amount at ℓ = 1, fen.
        scale: f64,
        /// The per-loan cap, fen.
        cap: Option<i64>,
        /// Beta a.
        a: f64,
        /// Beta b.
        b: f64,
    },
}

impl Amount {
    /// The largest value, fen.
    pub(super) fn max(self) -> f64 {
        match self {
            Amount::Fixed(v) => v as f64,
            Amount::Beta { scale, cap, .. } => cap.map_or(scale, |c| scale.min(c as f64)),
        }
    }

    /// The mean, fen (a Beta amount's by its CDF: E[min(c, sℓ)] = ∫₀^c P(sℓ > x) dx).
    pub(super) fn mean(self) -> f64 {
        match self {
            Amount::Fixed(v) => v as f64,
            Amount::Beta { scale, cap, a, b } => {
                let top = self.max();
                if cap.is_none() || top >= scale {
                    return scale * a / (a + b);
                }
                super::super::oracle::integrate(
                    &|x| 1.0 - beta_reg(a, b, (x / scale).clamp(0.0, 1.0)),
                    0.0,
                    top,
                    1e-9 * top.max(1.0),
                )
            }
        }
    }

    /// P(amount ≤ x), or P(amount < x) when `strict` (they differ at the
    /// cap, where a capped Beta amount has an atom).
    fn cdf(self, x: f64, strict: bool) -> f64 {
        let past = |c: f64| if strict { x > c } else { x >= c };
        match self {
            Amount::Fixed(v) => f64::from(u8::from(past(v as f64))),
            Amount::Beta { scale, cap, a, b } => {
                if cap.is_some_and(|c| past(c as f64)) || x >= scale {
                    1.0
                } else if x <= 0.0 {
                    0.0
                } else {
                    beta_reg(a, b, x / scale)
                }
            }
        }
    }
}

/// How an amount is placed on the lattice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Rounding {
    /// To the nearest point (the estimate).
    Nearest,
    /// Down (a lower bound of every sum).
    Floor,
    /// Up (an upper bound).
    Ceil,
}

/// One default's cost on the lattice.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Law {
    /// Always this many units.
    Step(usize),
    /// Units with these probabilities (index = units).
    Pmf(Vec<f64>),
}

impl Law {
    /// Mean units.
    pub(super) fn mean(&self) -> f64 {
        match self {
            Law::Step(a) => *a as f64,
            Law::Pmf(q) => q.iter().enumerate().map(|(y, &p)| y as f64 * p).sum(),
        }
    }
}

fn place(v: f64, unit: f64, r: Rounding) -> usize {
    let x = v / unit;
    (match r {
        Rounding::Nearest => x.round(),
        Rounding::Floor => x.floor(),
        Rounding::Ceil => x.ceil(),
    })
    .max(0.0) as usize
}

/// Most floats the law of `amount` takes on a lattice of `unit` fen (0 for
/// a fixed amount, whose law is a step).
pub(super) fn law_len(amount: Amount, unit: i64) -> usize {
    match amount {
        Amount::Fixed(_) => 0,
        Amount::Beta { .. } => place(amount.max(), unit as f64, Rounding::Ceil) + 2,
    }
}

/// The law of `amount` on a lattice of `unit` fen.
pub(super) fn law(amount: Amount, unit: i64, r: Rounding) -> Law {
    let u = unit as f64;
    match amount {
        Amount::Fixed(v) => Law::Step(place(v as f64, u, r)),
        Amount::Beta { .. } => {
            // Point y takes the amounts that round to it: [(y−½)u, (y+½)u)
            // to the nearest, [yu, (y+1)u) down, ((y−1)u, yu] up.
            let top = place(amount.max(), u, Rounding::Ceil) + 1;
            let edge = |y: f64| match r {
                Rounding::Nearest => (y + 0.5) * u,
                Rounding::Floor => (y + 1.0) * u,
                Rounding::Ceil => y * u,
            };
            let mut q = Vec::with_capacity(top + 1);
            let mut below = 0.0;
            for y in 0..=top {
                // (intervals closed on the left take P(X < edge), the
                // ceiling's closed on the right P(X ≤ edge): they differ at
                // the cap's atom)
                let c = amount.cdf(edge(y as f64), r != Rounding::Ceil);
                q.push((c - below).max(0.0));
                below = c;
                if c >= 1.0 {
                    break;
                }
            }
            while q.len() > 1 && q.last() == Some(&0.0) {
                q.pop();
            }
            Law::Pmf(q)
        }
    }
}

/// Greatest common divisor.
pub(super) fn gcd(mut a: i64, mut b: i64) -> i64 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a.abs()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_amounts_round_three_ways() {
        assert_eq!(
            law(Amount::Fixed(250), 100, Rounding::Nearest),
            Law::Step(3)
        );
        assert_eq!(law(Amount::Fixed(250), 100, Rounding::Floor), Law::Step(2));
        assert_eq!(law(Amount::Fixed(250), 100, Rounding::Ceil), Law::Step(3));
        assert_eq!(law(Amount::Fixed(300), 100, Rounding::Floor), Law::Step(3));
        assert_eq!(gcd(600, 450), 150);
    }

    #[test]
    fn beta_laws_are_distributions_that_bracket_the_mean() {
        let a = Amount::Beta {
            scale: 1000.0,
            cap: None,
            a: 2.0,
            b: 3.0,
        };
        let (near, lo, hi) = (
            law(a, 10, Rounding::Nearest),
            law(a, 10, Rounding::Floor),
            law(a, 10, Rounding::Ceil),
        );
        for l in [&near, &lo, &hi] {
            let Law::Pmf(q) = l else { panic!() };
            assert!((q.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        }
        // mean 400 fen = 40 units: floor below, ceiling above, nearest close
        assert!(lo.mean() < 40.0 && hi.mean() > 40.0);
        assert!((lo.mean() - 39.5).abs() < 0.01 && (hi.mean() - 40.5).abs() < 0.01);
        assert!((near.mean() - 40.0).abs() < 0.01, "{}", near.mean());
        // a cap puts the mass above it on the cap
        let capped = Amount::Beta {
            scale: 1000.0,
            cap: Some(500),
            a: 2.0,
            b: 3.0,
        };
        let Law::Pmf(q) = law(capped, 10, Rounding::Floor) else {
            panic!()
        };
        assert_eq!(q.len(), 51);
        assert!((q[50] - (1.0 - beta_reg(2.0, 3.0, 0.5))).abs() < 1e-12);
        assert!((capped.mean() - 10.0 * law(capped, 1, Rounding::Nearest).mean()) < 1.0);
    }
}

//! Which loans of a class default: K distinct positions by Floyd's algorithm,
//! and the amounts of K packed defaults.

use rand::RngExt;
use rand_chacha::ChaCha8Rng;

use super::*;
use crate::riskpool::plan::DefaultAmounts;

/// The (loss, claim) of K distinct defaults out of a class's `packed`
/// amounts, drawn as [`floyd`] draws them (the same random numbers, the
/// same set). Only in a single period, whose recoveries (if lagged) land
/// after the horizon. Many defaults are read in ascending position, off
/// the bitset of the picks, so the reads stream through the array rather
/// than jump about it.
pub(super) fn packed_defaults(
    packed: &[DefaultAmounts],
    k: usize,
    rng: &mut ChaCha8Rng,
    scratch: &mut Scratch,
) -> (i64, i64) {
    let n = packed.len();
    let (mut loss, mut claim) = (0i64, 0i64);
    let mut take = |a: &DefaultAmounts| {
        loss += a.loss;
        claim += a.claim;
    };
    if k == n {
        packed.iter().for_each(&mut take);
    } else if k * 256 < n {
        // few: their list, in the order drawn (a scan of the bitset's n/64
        // words would cost more than the K scattered reads)
        let mut chosen = std::mem::take(&mut scratch.chosen);
        chosen.clear();
        floyd(n, k, rng, &mut scratch.bits, &mut chosen);
        for &pos in &chosen {
            take(&packed[pos as usize]);
        }
        scratch.chosen = chosen;
    } else if k > 0 {
        let bits = &mut scratch.bits;
        floyd_set(n, k, rng, bits);
        for (w, word) in bits.iter_mut().enumerate().take(n.div_ceil(64)) {
            let mut x = std::mem::take(word);
            while x != 0 {
                take(&packed[w * 64 + x.trailing_zeros() as usize]);
                x &= x - 1;
            }
        }
    }
    (loss, claim)
}

/// [`floyd`]'s picks left set in `bits` (the caller clears them).
pub(super) fn floyd_set(n: usize, k: usize, rng: &mut ChaCha8Rng, bits: &mut Vec<u64>) {
    floyd_picks(n, k, rng, bits, |_| {});
}

/// Floyd's K picks out of 0..n, each set in `bits` and given to `pick` in
/// the order drawn.
pub(super) fn floyd_picks(
    n: usize,
    k: usize,
    rng: &mut ChaCha8Rng,
    bits: &mut Vec<u64>,
    mut pick: impl FnMut(usize),
) {
    let words = n.div_ceil(64);
    if bits.len() < words {
        bits.resize(words, 0);
    }
    for j in (n - k)..n {
        let t = rng.random_range(0..=j);
        let p = if bits[t / 64] >> (t % 64) & 1 == 1 {
            j
        } else {
            t
        };
        bits[p / 64] |= 1 << (p % 64);
        pick(p);
    }
}

/// K distinct positions out of 0..n, uniformly (R. W. Floyd's algorithm:
/// for j = n−K … n−1 draw t ∈ [0, j]; take t, or j when t is taken). `bits`
/// is a bitset left all-zero on return.
pub(super) fn floyd(
    n: usize,
    k: usize,
    rng: &mut ChaCha8Rng,
    bits: &mut Vec<u64>,
    out: &mut Vec<u32>,
) {
    if k == 0 {
        return;
    }
    let from = out.len();
    floyd_picks(n, k, rng, bits, |p| out.push(p as u32));
    for &p in &out[from..] {
        bits[p as usize / 64] = 0;
    }
}

/// The number of defaults among `n` loans of conditional PD `p`: all of
/// them at p ≥ 1 (no random number drawn), else Bin(n, p).
#[inline]
pub(super) fn draw_count(n: usize, p: f64, rng: &mut ChaCha8Rng) -> u64 {
    if p >= 1.0 {
        n as u64
    } else {
        Binomial::new(n as u64, p).map_or(0, |b| b.sample(rng))
    }
}

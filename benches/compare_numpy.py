#!/usr/bin/env python3
"""smefin's risk-pool engine against numpy (and the PyPI `creditriskengine`
Monte Carlo, when it is installed) on the same book and the same model.

Model: one-factor Gaussian copula, single period. A book of 2,000 loans
(lognormal sizes scaled to exactly 6亿, PD 2%, LGD 60%, rho 0.15) behind a
3000万 pool that pays 50% of each net loss; the pool is exhausted when the
claims reach its capital. Losses and claims are rounded to the fen per loan,
as smefin does.

numpy gets both of its vectorisations of the same model, and the faster is
the one compared: the dense method (per chunk of scenarios, the conditional
PD p(z) once per scenario, one uniform per loan compared with it, the claims
as a matrix-vector product, BLAS) and the sparse one (per scenario a binomial
count of defaults, then that many distinct loans, duplicates redrawn, all
vectorised). With `--equal` the book's loans are all the same size, so the
claims depend on the count alone: numpy then needs only the binomial draw,
and smefin is run on the same equal book. creditriskengine's
`simulate_single_factor` draws the latent variables themselves; it allocates
scenarios x loans arrays at once, so it runs in chunks.

Usage (from the repository root, after `cargo build --release`):

    python3 -m venv /tmp/cmp && /tmp/cmp/bin/pip install numpy scipy creditriskengine
    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE /tmp/cmp/bin/python benches/compare_numpy.py

It prints each tool's wall time, the speed ratios, and the agreement of the
exhaustion probability and mean loss (z-scores from both standard errors).
"""

import argparse
import json
import math
import os
import subprocess
import tempfile
import time

import numpy as np
from scipy.special import ndtr, ndtri

CAPITAL_FEN = 30_000_000 * 100
TOTAL_FEN = 600_000_000 * 100
N_LOANS, PD, LGD, RHO, SHARE = 2000, 0.02, 0.6, 0.15, 0.5


def book(seed=20220427, equal=False):
    if equal:
        return np.full(N_LOANS, TOTAL_FEN // N_LOANS, dtype=np.int64)
    rng = np.random.default_rng(seed)
    w = np.exp(0.6 * rng.standard_normal(N_LOANS))
    raw = w / w.sum() * TOTAL_FEN
    fen = np.floor(raw).astype(np.int64)
    left = TOTAL_FEN - int(fen.sum())
    order = np.argsort(-(raw - np.floor(raw)), kind="stable")
    fen[order[:left]] += 1
    return fen


def claims_per_loan(amount_fen):
    # half away from zero, as smefin: loss = round(amount x LGD), claim = round(share x loss)
    loss = np.floor(amount_fen * LGD + 0.5)
    claim = np.floor(loss * SHARE + 0.5)
    return loss, claim


def run_smefin(exe, amount_fen, scenarios, threads):
    """smefin end to end; its engine time (`--timing`) is kept by thread count
    in `run_smefin.engine_seconds`."""
    with tempfile.TemporaryDirectory() as d:
        csv = os.path.join(d, "loans.csv")
        with open(csv, "w") as f:
            f.write("id,amount,pd,lgd,sector,term_months\n")
            for i, a in enumerate(amount_fen):
                f.write(f"L{i},{a // 100}.{a % 100:02d},{PD},{LGD},制造业,12\n")
        spec = os.path.join(d, "spec.toml")
        with open(spec, "w") as f:
            f.write(
                f'seed = 1\nscenarios = {scenarios}\n[pool]\ncapital = "3000万"\n'
                f"compensation_share = {SHARE}\n[dependence]\nrho = {RHO}\n"
                f'[portfolio]\ncsv = "loans.csv"\n'
            )
        t0 = time.perf_counter()
        out = subprocess.run([exe, "simulate", spec, "--method", "monte-carlo", "--json", "--timing", "--threads", str(threads)], check=True, capture_output=True, text=True)
        elapsed = time.perf_counter() - t0
    s = json.loads(out.stdout)
    timing = [l for l in out.stderr.splitlines() if l.startswith("timing:")]
    engine = float(timing[0].split()[2]) if timing else float("nan")
    print(f"smefin {timing[0] if timing else ''} (end to end {elapsed:.3f} s: process start, CSV, engine, summary, JSON)")
    run_smefin.engine_seconds[threads] = engine
    p = s["exhaustion_probability"]
    loss_mean = float(s["loss"]["mean"]) * 100
    loss_se = float(s["loss"]["mean_std_error"]) * 100
    return elapsed, p["estimate"], p["std_error"], loss_mean, loss_se


run_smefin.engine_seconds = {}


def numpy_loop(scenarios, chunk, draw, seed=7):
    """The loop every numpy method shares: per chunk, the factor and p(z),
    then `draw(rng, c, p)` gives each scenario's claims and losses."""
    thr = ndtri(PD)
    rng = np.random.default_rng(seed)
    hits, n = 0, 0
    s1 = s2 = 0.0
    t0 = time.perf_counter()
    while n < scenarios:
        c = min(chunk, scenarios - n)
        z = rng.standard_normal(c)
        p = ndtr((thr - math.sqrt(RHO) * z) / math.sqrt(1 - RHO))
        cl, ls = draw(rng, c, p)
        hits += int((cl >= CAPITAL_FEN).sum())
        s1 += ls.sum()
        s2 += (ls * ls).sum()
        n += c
    elapsed = time.perf_counter() - t0
    pe = hits / n
    mean = s1 / n
    var = s2 / n - mean * mean
    return elapsed, pe, math.sqrt(pe * (1 - pe) / n), mean, math.sqrt(var / n)


def run_numpy(amount_fen, scenarios, chunk):
    """Dense: a uniform per loan, claims by BLAS mat-vec."""
    loss, claim = claims_per_loan(amount_fen)

    def draw(rng, c, p):
        d = (rng.random((c, N_LOANS)) < p[:, None]).astype(np.float64)
        return d @ claim, d @ loss

    return numpy_loop(scenarios, chunk, draw)


def run_numpy_sparse(amount_fen, scenarios, chunk):
    """Binomial counts, then distinct defaulters per scenario (duplicates
    within a scenario redrawn until none are left)."""
    loss, claim = claims_per_loan(amount_fen)

    def draw(rng, c, p):
        k = rng.binomial(N_LOANS, p)
        scen = np.repeat(np.arange(c), k)
        idx = rng.integers(0, N_LOANS, scen.size)
        while True:
            key = scen * N_LOANS + idx
            order = np.argsort(key, kind="stable")
            dup = np.zeros(key.size, dtype=bool)
            dup[order[1:]] = key[order[1:]] == key[order[:-1]]
            if not dup.any():
                break
            idx[dup] = rng.integers(0, N_LOANS, int(dup.sum()))
        return (
            np.bincount(scen, weights=claim[idx], minlength=c),
            np.bincount(scen, weights=loss[idx], minlength=c),
        )

    return numpy_loop(scenarios, chunk, draw)


def run_numpy_counts(amount_fen, scenarios, chunk):
    """Equal claims: the binomial count decides everything."""
    loss, claim = claims_per_loan(amount_fen)
    assert (claim == claim[0]).all(), "--equal only"

    def draw(rng, c, p):
        k = rng.binomial(N_LOANS, p).astype(np.float64)
        return k * claim[0], k * loss[0]

    return numpy_loop(scenarios, chunk, draw)


def run_cre(amount_fen, scenarios, chunk):
    try:
        from creditriskengine.portfolio.copula import simulate_single_factor
    except ImportError:
        return None
    pds = np.full(N_LOANS, PD)
    lgds = np.full(N_LOANS, LGD)
    eads = amount_fen.astype(np.float64)
    hits, n, s1 = 0, 0, 0.0
    t0 = time.perf_counter()
    k = 0
    while n < scenarios:
        c = min(chunk, scenarios - n)
        losses = simulate_single_factor(pds, lgds, eads, RHO, n_simulations=c, seed=k, antithetic=False)
        hits += int((SHARE * losses >= CAPITAL_FEN).sum())
        s1 += losses.sum()
        n += c
        k += 1
    elapsed = time.perf_counter() - t0
    pe = hits / n
    return elapsed, pe, math.sqrt(pe * (1 - pe) / n), s1 / n, float("nan")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--smefin", default="target/release/smefin")
    ap.add_argument("--scenarios", type=int, default=1_000_000)
    ap.add_argument("--numpy-scenarios", type=int, default=1_000_000)
    ap.add_argument("--cre-scenarios", type=int, default=50_000, help="creditriskengine is slow: timed on fewer, scaled")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--chunk", type=int, default=5000)
    ap.add_argument("--equal", action="store_true", help="all loans the same size (claims depend on the count alone)")
    a = ap.parse_args()
    amount = book(equal=a.equal)
    rows = []
    rows.append(("smefin", a.scenarios) + run_smefin(a.smefin, amount, a.scenarios, a.threads))
    one_core = run_smefin(a.smefin, amount, a.scenarios, 1)
    rows.append(("smefin (1 thread)", a.scenarios) + one_core)
    rows.append(("numpy dense", a.numpy_scenarios) + run_numpy(amount, a.numpy_scenarios, a.chunk))
    rows.append(("numpy sparse", a.numpy_scenarios) + run_numpy_sparse(amount, a.numpy_scenarios, 50_000))
    if a.equal:
        rows.append(("numpy counts", a.numpy_scenarios) + run_numpy_counts(amount, a.numpy_scenarios, 200_000))
    cre = run_cre(amount, a.cre_scenarios, 2000)
    if cre is not None:
        rows.append(("creditriskengine", a.cre_scenarios) + cre)
    print(f"book: {N_LOANS} loans, 6亿, PD {PD}, LGD {LGD}, rho {RHO}; pool 3000万, share {SHARE}")
    print(f"{'tool':<18}{'scenarios':>11}{'seconds':>10}{'per 1M (s)':>12}{'P(exhaust)':>12}{'SE':>10}{'mean loss':>16}")
    base = rows[0][2] / rows[0][1] * 1e6
    for name, n, sec, p, se, lm, lse in rows:
        per_m = sec / n * 1e6
        print(f"{name:<18}{n:>11}{sec:>10.2f}{per_m:>12.2f}{p:>12.5f}{se:>10.5f}{lm / 100:>16.2f}")
    print()
    # numpy's best method is the one compared; each peer is single-threaded,
    # so smefin on one thread is the per-core figure.
    peers = [r for r in rows[2:] if not r[0].startswith("numpy")]
    best_numpy = min((r for r in rows[2:] if r[0].startswith("numpy")), key=lambda r: r[2] / r[1])
    base1 = rows[1][2] / rows[1][1] * 1e6
    for name, n, sec, p, se, lm, lse in [best_numpy] + peers:
        per_m = sec / n * 1e6
        z = (p - rows[0][3]) / math.sqrt(se**2 + rows[0][4] ** 2)
        def ratio(r):
            return f"smefin {r:.1f}x faster" if r >= 1 else f"{name} {1 / r:.1f}x faster"

        line = (
            f"against {name}: {ratio(per_m / base)} end to end on {a.threads} threads, "
            f"{ratio(per_m / base1)} on one core; P(exhaust) z = {z:+.2f}"
        )
        if not math.isnan(lse):
            zl = (lm - rows[0][5]) / math.sqrt(lse**2 + rows[0][6] ** 2)
            line += f"; mean loss z = {zl:+.2f}"
        print(line)
    # engine to engine: numpy's loop against smefin's engine (no process
    # start, CSV, summary or JSON on either side)
    eng = run_smefin.engine_seconds
    if a.threads in eng and 1 in eng:
        name, n, sec = best_numpy[0], best_numpy[1], best_numpy[2]
        per_m = sec / n * 1e6
        e2 = eng[a.threads] / a.scenarios * 1e6
        e1 = eng[1] / a.scenarios * 1e6
        print(
            f"engine to engine against {name}: smefin {per_m / e2:.1f}x faster on {a.threads} threads "
            f"({e2:.3f} s per 1M), {per_m / e1:.1f}x on one core ({e1:.3f} s per 1M)"
        )


if __name__ == "__main__":
    main()

//! Stress grids and the leverage solver. Every cell and every solver step
//! runs the same scenarios (same seed: common random numbers), so
//! differences between cells are the model's, not the sampling's.

use std::ops::Range;

use serde::{Deserialize, Serialize};

use super::control::{Cancelled, Control};
use super::engine::Engine;
use super::model::Model;
use super::spec::{Limits, Spec, SpecError};
use super::stats::Probability;
use crate::kernel::money::Yuan;

/// The axes of a stress grid; an empty axis keeps the spec's value. Each
/// axis gives the value that runs: a PD multiplier replaces the preset's
/// (a `sector_shock` preset's extra multiplier for its sectors stays), a ρ
/// replaces the spec's ρ *and* the preset's ρ shift, a share replaces the
/// spec's; the preset's LGD shift stays and each cell says it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Grid {
    /// PD multipliers.
    pub pd_multipliers: Vec<f64>,
    /// Asset correlations.
    pub rhos: Vec<f64>,
    /// Compensation shares.
    pub shares: Vec<f64>,
}

/// One cell of a grid: the values that ran.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Cell {
    /// PD multiplier.
    pub pd_multiplier: f64,
    /// ρ every loan ran with (the preset's shift included); `None` under
    /// `dependence.basel_sme`, where each loan's ρ follows its PD and size.
    pub rho: Option<f64>,
    /// Compensation share.
    pub compensation_share: f64,
    /// Added to every LGD (the preset's shift).
    #[serde(default)]
    pub lgd_shift: f64,
    /// Exhaustion probability over the horizon.
    pub exhaustion_probability: Probability,
}

impl Cell {
    /// ρ as an axis key: the ρ that ran, or −1 under the Basel SME formula.
    pub fn rho_key(&self) -> f64 {
        self.rho.unwrap_or(-1.0)
    }

    /// ρ as a label: the value, or 按Basel公式.
    pub fn rho_label(rho_key: f64) -> String {
        if rho_key < 0.0 {
            "按Basel公式".to_string()
        } else {
            format!("{rho_key}")
        }
    }
}

/// A grid's result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GridResult {
    /// Scenarios per cell.
    pub scenarios: u64,
    /// Cells, PD multiplier slowest, share fastest.
    pub cells: Vec<Cell>,
}

/// Why a grid could not run.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GridError {
    /// A cell's spec is invalid.
    #[error(transparent)]
    Spec(#[from] SpecError),
    /// Cancelled.
    #[error(transparent)]
    Cancelled(#[from] Cancelled),
    /// Too many cells.
    #[error("{0} cells exceed the limit of {MAX_CELLS}")]
    TooLarge(u128),
    /// An axis the spec makes meaningless.
    #[error("{axis}: {reason}")]
    Axis {
        /// The axis (`rhos`).
        axis: &'static str,
        /// Why, naming the spec's setting.
        reason: String,
    },
}

/// Most cells a grid may have.
pub const MAX_CELLS: usize = 400;

impl Grid {
    /// How many cells the grid has, counted without listing them: a request
    /// of 150,000 × 150,000 values is 2.25·10¹⁰ cells, and listing them
    /// first would exhaust memory before the limit is checked.
    pub fn cell_count(&self) -> u128 {
        [&self.pd_multipliers, &self.rhos, &self.shares]
            .iter()
            .map(|v| v.len().max(1) as u128)
            .product()
    }

    /// [`MAX_CELLS`] at most.
    pub fn check_size(&self) -> Result<(), GridError> {
        match self.cell_count() {
            n if n > MAX_CELLS as u128 => Err(GridError::TooLarge(n)),
            _ => Ok(()),
        }
    }

    /// Every axis means something for `spec`: under
    /// `dependence.basel_sme` each loan's ρ follows its PD and size, so a ρ
    /// axis would be ignored, and is refused.
    pub fn check_axes(&self, spec: &Spec) -> Result<(), GridError> {
        if spec.dependence.basel_sme && !self.rhos.is_empty() {
            return Err(GridError::Axis {
                axis: "rhos",
                reason: "dependence.basel_sme derives each loan's ρ from its PD and turnover, so a ρ axis would not change what runs: drop the ρ axis, or set basel_sme = false to run a single ρ".into(),
            });
        }
        Ok(())
    }

    /// The (pd multiplier, ρ, share) triples, in order.
    pub fn cells(&self, spec: &Spec) -> Vec<(f64, f64, f64)> {
        let base_pd = spec.scenario.pd_multiplier.unwrap_or_else(|| {
            super::scenarios::resolve(&spec.scenario)
                .map(|p| p.pd_multiplier)
                .unwrap_or(1.0)
        });
        let or = |v: &Vec<f64>, d: f64| if v.is_empty() { vec![d] } else { v.clone() };
        let mut out = Vec::new();
        for &m in &or(&self.pd_multipliers, base_pd) {
            for &r in &or(&self.rhos, spec.dependence.rho) {
                for &s in &or(&self.shares, spec.pool.compensation_share) {
                    out.push((m, r, s));
                }
            }
        }
        out
    }
}

/// The exhaustion probability of a model, by its own engine: under
/// importance sampling, `shift` (else the model's own shift) and the
/// likelihood ratios weigh the scenarios.
fn exhaustion(
    model: &Model,
    shift: Option<f64>,
    threads: usize,
    control: &Control,
) -> Result<Probability, Cancelled> {
    let engine = match shift {
        Some(s) => Engine::new(model).with_factor_shift(s),
        None => super::engine::engine_for(model),
    };
    let raw = engine.run(0..model.spec().scenarios, threads, control)?;
    Ok(super::stats::exhaustion_probability(&raw))
}

/// Runs a stress grid.
pub fn run(
    spec: &Spec,
    csv_text: Option<&str>,
    grid: &Grid,
    limits: &Limits,
    threads: usize,
    control: &Control,
) -> Result<GridResult, GridError> {
    grid.check_size()?;
    grid.check_axes(spec)?;
    let n = grid.cells(spec).len();
    Ok(GridResult {
        scenarios: spec.scenarios,
        cells: run_cells(spec, csv_text, grid, 0..n, limits, threads, control)?,
    })
}

/// Runs the cells `range` of a grid (in the order of [`Grid::cells`]).
pub fn run_cells(
    spec: &Spec,
    csv_text: Option<&str>,
    grid: &Grid,
    range: Range<usize>,
    limits: &Limits,
    threads: usize,
    control: &Control,
) -> Result<Vec<Cell>, GridError> {
    grid.check_size()?;
    grid.check_axes(spec)?;
    let cells = grid.cells(spec);
    let mut out = Vec::with_capacity(range.len());
    for &(m, r, s) in &cells[range] {
        let mut cs = spec.clone();
        cs.scenario.pd_multiplier = Some(m);
        cs.dependence.rho = r;
        if !grid.rhos.is_empty() {
            // the axis gives the ρ that runs
            cs.scenario.rho_shift = Some(0.0);
        }
        cs.pool.compensation_share = s;
        let model = Model::compile_with_csv(&cs, csv_text, limits)?;
        let preset = model.preset();
        out.push(Cell {
            pd_multiplier: m,
            rho: (!cs.dependence.basel_sme)
                .then(|| super::model::shifted_rho(r, preset.rho_shift, cs.dependence.sector_rho)),
            compensation_share: s,
            lgd_shift: preset.lgd_shift,
            exhaustion_probability: exhaustion(&model, None, threads, control)?,
        });
    }
    Ok(out)
}

/// Tag of stress-grid part files.
pub const GRID_PART_FORMAT: &str = "smefin-stress-part/2";

/// A shard of a stress grid: a range of its cells, each over every scenario.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GridPart {
    /// Format tag.
    pub format: String,
    /// The spec every shard must share.
    pub spec: Spec,
    /// The grid's axes.
    pub grid: Grid,
    /// Shard index (0-based).
    pub shard: u64,
    /// Number of shards.
    pub shards: u64,
    /// The smefin version that ran it.
    pub smefin_version: String,
    /// [`super::shard::inputs_digest`] of the spec, the loan book and the version.
    pub digest: String,
    /// Index of the first cell it holds.
    pub first_cell: u64,
    /// Its cells.
    pub cells: Vec<Cell>,
}

impl super::shard::Sharded for GridPart {
    const FORMAT: &'static str = GRID_PART_FORMAT;
    fn format(&self) -> &str {
        &self.format
    }
    fn shard(&self) -> (u64, u64) {
        (self.shard, self.shards)
    }
    fn run_difference(&self, o: &Self) -> Option<String> {
        if self.shards != o.shards {
            return Some(format!("{} shards against {}", self.shards, o.shards));
        }
        if self.grid != o.grid {
            return Some("the grids' axes differ".into());
        }
        super::shard::input_difference(
            (&self.spec, &self.smefin_version, &self.digest),
            (&o.spec, &o.smefin_version, &o.digest),
        )
    }
}

/// Runs shard `k` of `n` of a grid: its share of the cells, split as
/// [`super::shard::shard_range`] splits scenarios.
#[allow(clippy::too_many_arguments)]
pub fn run_shard(
    spec: &Spec,
    csv_text: Option<&str>,
    grid: &Grid,
    k: u64,
    n: u64,
    limits: &Limits,
    threads: usize,
    control: &Control,
) -> Result<GridPart, GridError> {
    grid.check_size()?;
    let range = super::shard::shard_range(grid.cell_count() as u64, k, n);
    let cells = run_cells(
        spec,
        csv_text,
        grid,
        range.start as usize..range.end as usize,
        limits,
        threads,
        control,
    )?;
    Ok(GridPart {
        format: GRID_PART_FORMAT.into(),
        spec: spec.clone(),
        grid: grid.clone(),
        shard: k,
        shards: n,
        smefin_version: super::shard::VERSION.into(),
        digest: super::shard::inputs_digest(spec, csv_text),
        first_cell: range.start,
        cells,
    })
}

/// Merges the shards of a grid into the grid's result, checking that they
/// are of one run and cover every cell once.
pub fn merge(parts: Vec<(String, GridPart)>) -> Result<GridResult, super::shard::MergeError> {
    let parts = super::shard::check_parts(parts)?;
    let scenarios = parts[0].1.spec.scenarios;
    let mut cells = Vec::new();
    for (name, p) in parts {
        let want = super::shard::shard_range(p.grid.cell_count() as u64, p.shard, p.shards);
        if p.first_cell != want.start || p.cells.len() as u64 != want.end - want.start {
            return Err(super::shard::MergeError::Mismatch {
                part: name,
                reason: format!(
                    "holds cells {}..{}, shard {} of {} is {:?}",
                    p.first_cell,
                    p.first_cell + p.cells.len() as u64,
                    p.shard,
                    p.shards,
                    want
                ),
            });
        }
        cells.extend(p.cells);
    }
    Ok(GridResult { scenarios, cells })
}

/// What the leverage solver varies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Solve {
    /// The largest credit scale (every loan scaled) for the capital.
    Scale,
    /// The smallest capital for the credit scale.
    Capital,
}

/// The solver's answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LeverageResult {
    /// What was solved for.
    pub solve: Solve,
    /// The target exhaustion probability.
    pub target: f64,
    /// Capital at the solution.
    pub capital: Yuan,
    /// Credit scale at the solution.
    pub exposure: Yuan,
    /// exposure / capital.
    pub leverage: f64,
    /// Exhaustion probability at the solution (≤ target).
    pub exhaustion_probability: Probability,
    /// The conservative solution: the largest scale (smallest capital)
    /// whose exhaustion probability's 95% upper bound is within the target
    /// (the point solution's estimate is, and is above it about half the
    /// time).
    pub conservative: LeveragePoint,
    /// Solver steps (simulations run).
    pub steps: u32,
    /// Every point the solver simulated, in order.
    #[serde(default)]
    pub path: Vec<SolverStep>,
}

/// A capital and a credit scale, their leverage and the exhaustion
/// probability there.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LeveragePoint {
    /// Capital.
    pub capital: Yuan,
    /// Credit scale.
    pub exposure: Yuan,
    /// exposure / capital.
    pub leverage: f64,
    /// Exhaustion probability.
    pub exhaustion_probability: Probability,
}

/// One simulation of the leverage solver.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SolverStep {
    /// Capital simulated.
    pub capital: Yuan,
    /// Credit scale simulated.
    pub exposure: Yuan,
    /// Its exhaustion probability.
    pub exhaustion_probability: Probability,
}

fn scaled(model: &Model, what: Solve, f: f64) -> Model {
    match what {
        Solve::Scale => model.with_book_scaled(f),
        Solve::Capital => model.with_capital_scaled(f),
    }
}

/// Checks a leverage target: an exhaustion probability strictly between 0 and
/// 1 (0 cannot be estimated by sampling; 1 or more bounds nothing).
pub fn check_target(target: f64) -> Result<f64, String> {
    if target > 0.0 && target < 1.0 {
        Ok(target)
    } else {
        Err(format!("{target} is not in (0, 1)"))
    }
}

/// Most simulations one solve makes: for the point solution 21 doublings
/// or halvings to bracket (2²⁰ > 10⁶), the run at 1 and 30 bisection
/// steps; for the conservative one, 21 more to bracket and 30 to bisect.
/// Its work is checked as this many runs.
pub const MAX_SOLVER_RUNS: u64 = 103;

/// Finds the largest scale (or smallest capital) with exhaustion probability
/// ≤ `target` (see [`check_target`]), by bracketing and bisection on a factor
/// applied to the book (or the capital). With common random numbers the
/// defaults do not depend on the factor, so the estimated probability is
/// monotone in it.
pub fn solve_leverage(
    model: &Model,
    what: Solve,
    target: f64,
    threads: usize,
    control: &Control,
) -> Result<LeverageResult, Cancelled> {
    // ok(f): the pool is safe enough at factor f.
    let mut steps = 0u32;
    let mut path = Vec::new();
    // Under importance sampling every step shifts the factor alike (the
    // unscaled model's shift), so the steps keep their common random
    // numbers and the estimate stays monotone in the factor.
    let shift = model.spec().importance_sampling.as_ref().map(|is| {
        is.shift
            .unwrap_or_else(|| super::engine::auto_shift(&Engine::new(model), model))
    });
    let mut eval = |f: f64| -> Result<Probability, Cancelled> {
        steps += 1;
        let m = scaled(model, what, f);
        let p = exhaustion(&m, shift, threads, control)?;
        path.push(SolverStep {
            capital: Yuan::from_fen(m.capital_fen()),
            exposure: Yuan::from_fen(m.exposure_fen()),
            exhaustion_probability: p,
        });
        Ok(p)
    };
    // For Scale, larger f is riskier; for Capital, smaller f is riskier.
    let safe = |p: &Probability| p.estimate <= target;
    let risky_up = what == Solve::Scale;
    // A factor never scales the book or the capital past MAX_SPEC_FEN, so
    // no amount of a run overflows: the solver treats that as the limit.
    let grown = match what {
        Solve::Scale => model.exposure_fen(),
        Solve::Capital => model.capital_fen(),
    }
    .max(1) as f64;
    let f_money = super::model::MAX_SPEC_FEN as f64 / grown;
    let p1 = eval(1.0)?;
    let first = bracket(&mut eval, &safe, risky_up, f_money, (1.0, p1))?;
    let Bracket { good, p_good, .. } = bisect(&mut eval, &safe, first)?;
    // The conservative answer: the whole 95% interval within the target,
    // found from the point answer towards safety.
    let safe_hi = |p: &Probability| p.ci95_high <= target;
    let sure = bracket(&mut eval, &safe_hi, risky_up, f_money, (good, p_good))?;
    let sure = bisect(&mut eval, &safe_hi, sure)?;
    let c = scaled(model, what, sure.good);
    let conservative = LeveragePoint {
        capital: Yuan::from_fen(c.capital_fen()),
        exposure: Yuan::from_fen(c.exposure_fen()),
        leverage: c.exposure_fen() as f64 / c.capital_fen() as f64,
        exhaustion_probability: sure.p_good,
    };
    let m = scaled(model, what, good);
    let exposure = m.exposure_fen();
    Ok(LeverageResult {
        conservative,
        solve: what,
        target,
        capital: Yuan::from_fen(m.capital_fen()),
        exposure: Yuan::from_fen(exposure),
        leverage: exposure as f64 / m.capital_fen() as f64,
        exhaustion_probability: p_good,
        steps,
        path,
    })
}

/// The solver's interval: the factor `good` is safe, with its probability
/// `p_good`; `bad` is not (or is the limit).
struct Bracket {
    good: f64,
    bad: f64,
    p_good: Probability,
}

/// What the solver asks of a factor: its estimated exhaustion probability.
type Eval<'e> = dyn FnMut(f64) -> Result<Probability, Cancelled> + 'e;

/// From factor `start` (its probability `p1`), doubling (or halving)
/// towards risk until unsafe, or towards safety until safe, never past
/// `f_money`.
fn bracket(
    eval: &mut Eval<'_>,
    safe: &dyn Fn(&Probability) -> bool,
    risky_up: bool,
    f_money: f64,
    (start, p1): (f64, Probability),
) -> Result<Bracket, Cancelled> {
    let (mut good, mut bad) = (start, start);
    let mut p_good;
    if safe(&p1) {
        p_good = p1;
        // expand towards risk until unsafe
        loop {
            let f = if risky_up { bad * 2.0 } else { bad / 2.0 };
            if f > f_money {
                bad = f_money.max(good);
                break;
            }
            let p = eval(f)?;
            if !safe(&p) || !(1e-6..=1e6).contains(&f) {
                bad = f;
                break;
            }
            good = f;
            bad = f;
            p_good = p;
        }
    } else {
        loop {
            let f = if risky_up { good / 2.0 } else { good * 2.0 };
            let f = f.min(f_money);
            let p = eval(f)?;
            good = f;
            if safe(&p) || !(1e-6..=1e6).contains(&f) || f >= f_money {
                p_good = p;
                break;
            }
            bad = f;
        }
    }
    Ok(Bracket { good, bad, p_good })
}

/// Bisects the bracket to a relative width of 1e-6 (at most 30 steps).
fn bisect(
    eval: &mut Eval<'_>,
    safe: &dyn Fn(&Probability) -> bool,
    Bracket {
        mut good,
        mut bad,
        mut p_good,
    }: Bracket,
) -> Result<Bracket, Cancelled> {
    for _ in 0..30 {
        if (good - bad).abs() <= 1e-6 * good.abs() {
            break;
        }
        let mid = 0.5 * (good + bad);
        let p = eval(mid)?;
        if safe(&p) {
            good = mid;
            p_good = p;
        } else {
            bad = mid;
        }
    }
    Ok(Bracket { good, bad, p_good })
}

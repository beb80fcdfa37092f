//! `smefin stress` and `smefin leverage`: stress grids (whole or by
//! shard) and the leverage solver.

use std::path::PathBuf;

use clap::Args;

use super::riskpool::{
    Shard, command_line, load_with_csv, parse_shard, save_report, set_threads, with_progress,
    write_part,
};
use super::{CliError, print};
use crate::report::text;
use crate::riskpool::{self, Limits};

/// Flags of `smefin stress`.
#[derive(Debug, Args)]
pub struct StressArgs {
    /// Spec file or `default`.
    pub spec: PathBuf,
    /// PD multipliers, comma-separated (default: the spec's).
    #[arg(long, value_delimiter = ',')]
    pub pd_multiplier: Vec<f64>,
    /// Asset correlations ρ, comma-separated.
    #[arg(long, value_delimiter = ',')]
    pub rho: Vec<f64>,
    /// Compensation shares, comma-separated.
    #[arg(long, value_delimiter = ',')]
    pub share: Vec<f64>,
    /// Overrides the spec's scenario count.
    #[arg(long)]
    pub scenarios: Option<u64>,
    /// Worker threads.
    #[arg(long, value_parser = super::parse_threads)]
    pub threads: Option<usize>,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
    /// Also write the report as one self-contained HTML file (a heatmap per
    /// compensation share).
    #[arg(long, conflicts_with = "shard")]
    pub report: Option<PathBuf>,
    /// In the report, outline the cells whose exhaustion probability is at
    /// most this, in (0, 1).
    #[arg(long, requires = "report", value_parser = |s: &str| s.parse::<f64>().map_err(|e| e.to_string()).and_then(riskpool::grid::check_target))]
    pub target: Option<f64>,
    /// Run only shard k of n of the cells (`--shard 0/4`); needs --out;
    /// `smefin merge` joins the parts.
    #[arg(long, requires = "out", value_parser = parse_shard)]
    pub shard: Option<Shard>,
    /// Where to write the shard's part file.
    #[arg(long, requires = "shard")]
    pub out: Option<PathBuf>,
}

/// Flags of `smefin leverage`.
#[derive(Debug, Args)]
pub struct LeverageArgs {
    /// Spec file or `default`.
    pub spec: PathBuf,
    /// Largest acceptable exhaustion probability, in (0, 1).
    #[arg(long, value_parser = |s: &str| s.parse::<f64>().map_err(|e| e.to_string()).and_then(riskpool::grid::check_target))]
    pub target: f64,
    /// What to solve for: the largest credit `scale`, or the smallest `capital`.
    #[arg(long, value_enum, default_value_t = SolveFor::Scale)]
    pub solve: SolveFor,
    /// Overrides the spec's scenario count.
    #[arg(long)]
    pub scenarios: Option<u64>,
    /// Worker threads.
    #[arg(long, value_parser = super::parse_threads)]
    pub threads: Option<usize>,
    /// Also write the report as one self-contained HTML file.
    #[arg(long)]
    pub report: Option<PathBuf>,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// What `smefin leverage` solves for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SolveFor {
    /// The largest credit scale for the capital.
    Scale,
    /// The smallest capital for the credit scale.
    Capital,
}

impl From<SolveFor> for riskpool::grid::Solve {
    fn from(s: SolveFor) -> Self {
        match s {
            SolveFor::Scale => riskpool::grid::Solve::Scale,
            SolveFor::Capital => riskpool::grid::Solve::Capital,
        }
    }
}

/// Runs `smefin stress`.
pub fn run_stress(a: StressArgs) -> Result<(), CliError> {
    super::check_output_dirs(&[a.out.as_deref(), a.report.as_deref()])?;
    let (model, csv) = load_with_csv(&a.spec, a.scenarios, None)?;
    set_threads(a.threads)?;
    let grid = riskpool::grid::Grid {
        pd_multipliers: a.pd_multiplier.clone(),
        rhos: a.rho.clone(),
        shares: a.share.clone(),
    };
    grid.check_size()
        .map_err(|e| CliError::new(e.to_string()))?;
    grid.check_axes(model.spec()).map_err(|e| match e {
        riskpool::grid::GridError::Axis { reason, .. } => CliError::new(format!("--rho: {reason}")),
        e => CliError::new(e.to_string()),
    })?;
    if let Some(Shard { k, n }) = a.shard {
        let cells = riskpool::shard_range(grid.cell_count() as u64, k, n);
        let part = with_progress(model.spec().scenarios * (cells.end - cells.start), |c| {
            riskpool::grid::run_shard(
                model.spec(),
                csv.as_deref(),
                &grid,
                k,
                n,
                &Limits::default(),
                0,
                c,
            )
        })
        .map_err(|e| CliError::new(e.to_string()))?;
        return write_part(
            a.out.as_deref(),
            &part,
            &format!("shard {k}/{n}: cells {}..{}", cells.start, cells.end),
        );
    }
    let total = model.spec().scenarios * grid.cell_count() as u64;
    let result = with_progress(total, |c| {
        riskpool::grid::run(
            model.spec(),
            csv.as_deref(),
            &grid,
            &Limits::default(),
            0,
            c,
        )
    })
    .map_err(|e| CliError::new(e.to_string()))?;
    if let Some(r) = &a.report {
        let info = crate::report::RunInfo::of(model.spec(), csv.as_deref(), command_line());
        save_report(r, &crate::report::grid::stress(&result, a.target, &info))?;
    }
    let mut out = render_grid(&result, a.json)?;
    if !a.json {
        out.push_str(&weighted_note(model.spec()));
    }
    print(&out)
}

/// Under importance sampling, a line saying the probabilities are
/// likelihood-ratio weighted.
fn weighted_note(spec: &riskpool::Spec) -> String {
    if spec.importance_sampling.is_some() {
        "按重要性抽样估计（因子均值平移，各情景按似然比加权）\n".to_string()
    } else {
        String::new()
    }
}

pub(super) fn render_grid(
    result: &riskpool::grid::GridResult,
    json: bool,
) -> Result<String, CliError> {
    if json {
        let text =
            serde_json::to_string_pretty(result).map_err(|e| CliError::new(e.to_string()))?;
        return Ok(format!("{text}\n"));
    }
    Ok(text::riskpool::grid(result))
}

/// Runs `smefin leverage`.
pub fn run_leverage(a: LeverageArgs) -> Result<(), CliError> {
    super::check_output_dirs(&[a.report.as_deref()])?;
    let (model, csv) = load_with_csv(&a.spec, a.scenarios, None)?;
    set_threads(a.threads)?;
    let what = riskpool::grid::Solve::from(a.solve);
    let target = a.target;
    let r = with_progress(model.spec().scenarios * 40, |c| {
        riskpool::grid::solve_leverage(&model, what, target, 0, c)
    })
    .map_err(|e| CliError::new(e.to_string()))?;
    if let Some(path) = &a.report {
        let info = crate::report::RunInfo::of(model.spec(), csv.as_deref(), command_line());
        save_report(
            path,
            &crate::report::grid::leverage(&r, model.spec(), &info),
        )?;
    }
    if a.json {
        let text = serde_json::to_string_pretty(&r).map_err(|e| CliError::new(e.to_string()))?;
        return print(&format!("{text}\n"));
    }
    print(&(text::riskpool::leverage(&r) + &weighted_note(model.spec())))
}

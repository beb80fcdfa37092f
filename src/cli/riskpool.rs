//! `smefin simulate`, `smefin merge`, `smefin stress`, `smefin leverage`.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::Ordering;

use clap::Args;

use super::{CliError, print};
use crate::report::text;
use crate::riskpool::analytic::Method;
use crate::riskpool::stats::Summary;
use crate::riskpool::{self, Control, Limits, Model, SpecError};

/// Flags of `smefin simulate`.
#[derive(Debug, Args)]
pub struct SimulateArgs {
    /// Spec file (TOML, or JSON when it ends in .json); `default` for the
    /// built-in 工信通 example.
    pub spec: Option<PathBuf>,
    /// Overrides the spec's scenario count.
    #[arg(long)]
    pub scenarios: Option<u64>,
    /// Overrides the spec's seed.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Worker threads (default: all cores).
    #[arg(long, value_parser = super::parse_threads)]
    pub threads: Option<usize>,
    /// Run only shard k of n (`--shard 0/4`); needs --out.
    #[arg(long, requires = "out", value_parser = parse_shard)]
    pub shard: Option<Shard>,
    /// Where to write the shard's part file.
    #[arg(long, requires = "shard")]
    pub out: Option<PathBuf>,
    /// Print the summary as JSON.
    #[arg(long)]
    pub json: bool,
    /// Print the built-in example spec and exit.
    #[arg(long, conflicts_with = "spec")]
    pub print_default: bool,
    /// Print the engine and summary times to stderr.
    #[arg(long)]
    pub timing: bool,
    /// How to compute: `monte-carlo`, `analytic` (the semi-analytic
    /// engine: no sampling, single period) or `both` (with a certificate
    /// line comparing them). Default: `both` for a single-period book the
    /// analytic engine handles (up to 10,000 loans), else `monte-carlo`.
    #[arg(long, value_enum, conflicts_with = "shard")]
    pub method: Option<MethodArg>,
    /// Analytic: most lattice points per distribution (default 4096; more
    /// narrows the discretisation bounds, at proportional cost).
    #[arg(long, value_parser = clap::value_parser!(u32).range(16..=1_048_576))]
    pub lattice_points: Option<u32>,
    /// Analytic: the quadrature's tolerance on tail probabilities (default
    /// 1e-7; lower it for tails of 1e-9).
    #[arg(long, value_parser = parse_tolerance)]
    pub tolerance: Option<f64>,
    /// Also write the report as one self-contained HTML file (charts,
    /// Chinese, printable on A4).
    #[arg(long, conflicts_with = "shard")]
    pub report: Option<PathBuf>,
    /// The pool the ledger holds, simulated instead of a spec.
    #[command(flatten)]
    pub pool: super::from_pool::FromPoolArgs,
}

pub(super) fn spec_error(e: SpecError) -> CliError {
    CliError::new(e.to_string())
}

/// The compiled model and the text of the loan CSV its spec names.
pub(super) fn load_with_csv(
    path: &Path,
    scenarios: Option<u64>,
    seed: Option<u64>,
) -> Result<(Model, Option<String>), CliError> {
    let crate::files::SpecFile { mut spec, csv } = crate::files::spec(path).map_err(spec_error)?;
    if let Some(n) = scenarios {
        spec.scenarios = n;
    }
    if let Some(s) = seed {
        spec.seed = s;
    }
    let model =
        Model::compile_with_csv(&spec, csv.as_deref(), &Limits::default()).map_err(spec_error)?;
    Ok((model, csv))
}

/// Runs `f` on a worker thread with a progress bar over `total` scenarios.
pub(crate) fn with_progress<T: Send>(total: u64, f: impl FnOnce(&Control) -> T + Send) -> T {
    let control = Arc::new(Control::default());
    let bar = indicatif::ProgressBar::new(total);
    bar.set_style(
        indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} 情景 {per_sec} 剩余 {eta}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let out = std::thread::scope(|s| {
        let c = control.clone();
        let (done_tx, done_rx) = std::sync::mpsc::channel::<()>();
        let h = s.spawn(move || {
            let out = f(&c);
            // (wakes the bar's loop at once: a run is not held up to the
            // next tick)
            let _ = done_tx.send(());
            out
        });
        while let Err(std::sync::mpsc::RecvTimeoutError::Timeout) =
            done_rx.recv_timeout(std::time::Duration::from_millis(100))
        {
            bar.set_position(control.done.load(Ordering::Relaxed).min(total));
        }
        h.join()
    });
    bar.finish_and_clear();
    match out {
        Ok(v) => v,
        Err(p) => std::panic::resume_unwind(p),
    }
}

/// Sizes rayon's global pool (once, before any parallel work), so the engine
/// and the summary share the same threads.
pub(super) fn set_threads(threads: Option<usize>) -> Result<(), CliError> {
    if let Some(t) = threads {
        rayon::ThreadPoolBuilder::new()
            .num_threads(t)
            .build_global()
            .map_err(|e| CliError::new(format!("--threads: {e}")))?;
    }
    Ok(())
}

/// Shard `k` of `n` (`--shard k/n`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    /// This shard, from 0.
    pub k: u64,
    /// How many shards in all.
    pub n: u64,
}

/// Parses `--shard k/n`: 0 ≤ k < n ≤ 1,000,000.
pub(super) fn parse_shard(s: &str) -> Result<Shard, String> {
    let bad = || format!("`{s}` is not k/n with 0 ≤ k < n ≤ 1000000 (e.g. 0/4)");
    let (k, n) = s.split_once('/').ok_or_else(bad)?;
    let (k, n): (u64, u64) = (
        k.trim().parse().map_err(|_| bad())?,
        n.trim().parse().map_err(|_| bad())?,
    );
    if n == 0 || k >= n || n > 1_000_000 {
        return Err(bad());
    }
    Ok(Shard { k, n })
}

/// Runs `smefin simulate`.
pub fn run_simulate(a: SimulateArgs) -> Result<(), CliError> {
    if a.print_default {
        return print(riskpool::spec::DEFAULT_SPEC_TOML);
    }
    super::check_output_dirs(&[a.out.as_deref(), a.report.as_deref()])?;
    let (path, model, csv) = model_of(&a)?;
    set_threads(a.threads)?;
    if let Some(Shard { k, n }) = a.shard {
        return simulate_shard(&model, csv.as_deref(), k, n, a.out.as_deref());
    }
    use riskpool::analytic::Method;
    use riskpool::run::{self, Stage};
    let opts = analytic_options(&a);
    let asked: Option<Method> = a.method.map(Into::into);
    let choice = run::choose(asked, &model, &opts).map_err(|e| CliError::new(e.to_string()))?;
    if let Some(note) = &choice.note {
        eprintln!("{note} (--method both)");
    }
    let t0 = std::time::Instant::now();
    let mut marks = Vec::new();
    let mut stage = |s: Stage| marks.push((s, std::time::Instant::now()));
    let scenarios = if choice.method == Method::Analytic {
        0
    } else {
        model.spec().scenarios
    };
    let outcome = with_progress(scenarios, |c| {
        run::simulate(&model, &choice, asked.is_none(), &opts, c, &mut stage)
    })
    .map_err(|e| CliError::new(e.to_string()))?;
    if a.timing {
        print_timing(t0, &marks, &outcome);
    }
    for note in outcome
        .notes
        .iter()
        .skip(usize::from(choice.note.is_some()))
    {
        eprintln!("{note}");
    }
    let method = outcome.method;
    let (summary, analytic, certificate) =
        (outcome.monte_carlo, outcome.analytic, outcome.certificate);
    if let Some(r) = &a.report {
        let info = crate::report::RunInfo::of(model.spec(), csv.as_deref(), command_line());
        let html = crate::report::simulation::simulation_with(
            summary.as_ref(),
            analytic.as_ref(),
            certificate.as_ref(),
            model.spec(),
            &info,
        );
        save_report(r, &html)?;
    }
    let out = text::analytic::Output {
        method,
        monte_carlo: summary.as_ref(),
        analytic: analytic.as_ref(),
        certificate: certificate.as_ref(),
    };
    if a.json {
        let text = serde_json::to_string_pretty(&out).map_err(|e| CliError::new(e.to_string()))?;
        print(&format!("{text}\n"))?;
        return Ok(());
    }
    print(&text::analytic::render_run(&out))?;
    if path.as_os_str() == "default" && summary.is_some() {
        other_reading(&model)?;
    }
    Ok(())
}

/// The model `smefin simulate` runs: the spec file's, or the ledger's pool
/// (`--from-pool`); the spec's path (empty for a pool) and its loan CSV.
fn model_of(a: &SimulateArgs) -> Result<(PathBuf, Model, Option<String>), CliError> {
    super::from_pool::unused(&a.pool)?;
    let out = match &a.pool.from_pool {
        Some(pool) => {
            let (spec, notes) = super::from_pool::spec(&a.pool, pool, a.scenarios, a.seed)?;
            for n in notes {
                eprintln!("{n}");
            }
            let model =
                Model::compile_with_csv(&spec, None, &Limits::default()).map_err(spec_error)?;
            (PathBuf::new(), model, None)
        }
        None => {
            let path = a.spec.clone().ok_or_else(|| {
                CliError::new("a spec file is required (or `default`, or --from-pool POOL)")
            })?;
            let (model, csv) = load_with_csv(&path, a.scenarios, a.seed)?;
            (path, model, csv)
        }
    };
    Ok(out)
}

/// `smefin simulate --shard K/N`: the part file of one shard.
fn simulate_shard(
    model: &Model,
    csv: Option<&str>,
    k: u64,
    n: u64,
    out: Option<&Path>,
) -> Result<(), CliError> {
    let range = riskpool::shard_range(model.spec().scenarios, k, n);
    let part = with_progress(range.end - range.start, |c| {
        riskpool::run_shard(model, csv, k, n, 0, c)
    })
    .map_err(|e| CliError::new(e.to_string()))?;
    write_part(
        out,
        &part,
        &format!(
            "shard {k}/{n}: scenarios {}..{}",
            part.raw.start, part.raw.end
        ),
    )
}

/// The exact method's options: the flags, within the limits.
fn analytic_options(a: &SimulateArgs) -> riskpool::analytic::Options {
    let defaults = riskpool::analytic::Options::default();
    let limits = riskpool::Limits::default();
    riskpool::analytic::Options {
        lattice_points: a
            .lattice_points
            .map_or(defaults.lattice_points, |n| n as usize),
        tolerance: a.tolerance.unwrap_or(defaults.tolerance),
        max_bytes: limits.max_run_bytes,
        max_work: limits.max_analytic_work,
    }
}

/// `--timing`: each stage's seconds, on stderr.
fn print_timing(
    t0: std::time::Instant,
    marks: &[(riskpool::run::Stage, std::time::Instant)],
    outcome: &riskpool::run::Outcome,
) {
    use riskpool::run::Stage;
    let mut last = t0;
    for (s, t) in marks {
        let secs = (*t - last).as_secs_f64();
        match s {
            Stage::Engine => eprintln!(
                "timing: engine {secs:.3} s, {} threads",
                rayon::current_num_threads()
            ),
            Stage::Summary => eprintln!("timing: summary {secs:.3} s"),
            Stage::Analytic => eprintln!(
                "timing: analytic {secs:.3} s, {} nodes",
                outcome.analytic.as_ref().map_or(0, |r| r.quadrature.nodes)
            ),
        }
        last = *t;
    }
}

fn parse_tolerance(s: &str) -> Result<f64, String> {
    let t: f64 = s.parse().map_err(|e| format!("{e}"))?;
    if t > 0.0 && t < 1e-2 {
        Ok(t)
    } else {
        Err(format!("{s} is not in (0, 0.01)"))
    }
}

/// The built-in pool is 3000万 behind 6亿 (1:20), one reading of
/// 赣工强省小组办字〔2022〕20号 第8条, which says only that 3000万 was injected
/// into a pool that backed 3亿. The other reading, 6000万 behind 6亿 (1:10),
/// is as plausible: `simulate default` prints its exhaustion probability
/// too, on the same scenarios.
fn other_reading(model: &Model) -> Result<(), CliError> {
    let alt = model.with_capital_scaled(2.0);
    let engine = riskpool::engine_for(&alt);
    let raw = with_progress(alt.spec().scenarios, |c| {
        engine.run(0..alt.spec().scenarios, 0, c)
    })
    .map_err(|e| CliError::new(e.to_string()))?;
    let s = riskpool::stats::summarize(&engine, &alt, &raw, &Control::default())
        .map_err(|e| CliError::new(e.to_string()))?;
    print(&format!(
        "\n另一种读法（赣工强省小组办字〔2022〕20号 第8条只写明向原支持3亿的资金池注入3000万）：\n  资金池 {}、授信 {}（放大 {:.1} 倍），同一组情景下资金池耗尽概率：{}\n",
        s.capital.human(),
        s.exposure.human(),
        s.leverage,
        text::riskpool::prob_line(&s.exhaustion_probability)
    ))
}

/// Writes a shard's part file to `--out` and says what it holds.
pub(super) fn write_part(
    out: Option<&Path>,
    part: &impl serde::Serialize,
    what: &str,
) -> Result<(), CliError> {
    let out = out.ok_or_else(|| CliError::new("--shard needs --out"))?;
    let text = serde_json::to_vec(part).map_err(|e| CliError::new(e.to_string()))?;
    write_whole(out, &text)?;
    print(&format!("{what} written to {}\n", out.display()))
}

/// Writes `bytes` to `path` whole or not at all (a temporary file beside
/// it, renamed): a run killed mid-write leaves no half file behind.
pub(super) fn write_whole(path: &Path, bytes: &[u8]) -> Result<(), CliError> {
    let err = |e: std::io::Error| CliError::new(format!("{}: {e}", path.display()));
    let name = path
        .file_name()
        .ok_or_else(|| CliError::new(format!("{}: not a file name", path.display())))?;
    let tmp = path.with_file_name(format!(
        ".{}.{}.tmp",
        name.to_string_lossy(),
        std::process::id()
    ));
    std::fs::write(&tmp, bytes).map_err(err)?;
    std::fs::rename(&tmp, path).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        err(e)
    })
}

/// How this process was asked, for a report's "re-run" section.
pub(super) fn command_line() -> String {
    std::env::args().collect::<Vec<_>>().join(" ")
}

/// Writes the HTML report of a simulation.
pub(super) fn write_report(
    path: &Path,
    summary: &Summary,
    model: &Model,
    csv: Option<&str>,
) -> Result<(), CliError> {
    let info = crate::report::RunInfo::of(model.spec(), csv, command_line());
    let html = crate::report::simulation::simulation(summary, model.spec(), &info);
    save_report(path, &html)
}

pub(super) fn save_report(path: &Path, html: &str) -> Result<(), CliError> {
    write_whole(path, html.as_bytes())?;
    eprintln!("report written to {}", path.display());
    Ok(())
}

/// Writes a merged result to `out` (saying so on stderr), or prints it.
pub(super) fn write_or_print(
    text: &str,
    out: Option<&Path>,
    n: u64,
    what: &str,
) -> Result<(), CliError> {
    match out {
        Some(out) => {
            write_whole(out, text.as_bytes())?;
            eprintln!("merged {n} {what} into {}", out.display());
            Ok(())
        }
        None => print(text),
    }
}

pub(super) fn render(s: &Summary, json: bool) -> Result<String, CliError> {
    if json {
        let out = text::analytic::Output {
            method: riskpool::analytic::Method::MonteCarlo,
            monte_carlo: Some(s),
            analytic: None,
            certificate: None,
        };
        let text = serde_json::to_string_pretty(&out).map_err(|e| CliError::new(e.to_string()))?;
        return Ok(format!("{text}\n"));
    }
    Ok(text::riskpool::render_summary(s))
}

/// `--method`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum MethodArg {
    /// Monte Carlo only.
    MonteCarlo,
    /// The semi-analytic engine only (single period).
    Analytic,
    /// Both, with a certificate line comparing them.
    Both,
}

impl From<MethodArg> for Method {
    fn from(m: MethodArg) -> Method {
        match m {
            MethodArg::MonteCarlo => Method::MonteCarlo,
            MethodArg::Analytic => Method::Analytic,
            MethodArg::Both => Method::Both,
        }
    }
}

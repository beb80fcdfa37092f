//! `smefin pool`: the pool ledger from a shell, on the server's store — a
//! bank's monthly status file imported from CSV, the state printed, the
//! report written.

use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use clap::{Args, Subcommand};

use super::funnel::StoreArgs;
use super::{CliError, print};
use crate::kernel::money::Yuan;
use crate::ledger::decide;
use crate::ledger::event::EventKind;
use crate::ledger::rules::Programme;
use crate::ledger::state::Book;
use crate::report::text::table::Table;
use crate::store::{Backend, StoreError};

/// Pool actions.
#[derive(Debug, Subcommand)]
pub enum PoolCommand {
    /// Print a pool's state on a date.
    State(StateArgs),
    /// Write a pool's report (HTML).
    Report(ReportArgs),
    /// Import a bank's monthly status file (CSV:
    /// loan_id,outstanding,days_past_due[,status] with status `repaid` or
    /// `charged_off`).
    Status(StatusArgs),
    /// Print the monthly roll rates the pool's history shows, the chance a
    /// loan in each state defaults within 3, 6 and 12 months, and the claims
    /// to expect from today's book.
    Rolls(RollsArgs),
    /// Project the pool as it stands month by month (Monte Carlo over the
    /// roll rates of its history): the chance the cash runs out and the
    /// breaker trips, the claims by bank, the cash fan, the top-up that
    /// keeps the chance of running out within a target.
    Project(ProjectArgs),
    /// Print the subsidy cost of each year's loans (FCRA-style: the present
    /// value of the claims the pool pays less the recoveries it gets back,
    /// on a government yield curve), the re-estimate beside the original.
    Subsidy(super::subsidy::SubsidyArgs),
    /// Print the pool's log in the order recorded, its audit trail: who
    /// recorded what, when, under which request id.
    Events(EventsArgs),
}

/// Flags of `smefin pool events`.
#[derive(Debug, Args)]
pub struct EventsArgs {
    /// Which pool (`--as-of`: events that took effect by then).
    #[command(flatten)]
    pub which: Which,
    /// Only the events of this loan (its enrolment, statuses, claims,
    /// recovery).
    #[arg(long)]
    pub loan: Option<String>,
    /// Only the events of this bank's loans and claims.
    #[arg(long)]
    pub bank: Option<String>,
    /// Print JSON lines, one event a line.
    #[arg(long)]
    pub json: bool,
}

/// Flags of `smefin pool project`.
#[derive(Debug, Args)]
pub struct ProjectArgs {
    /// Which pool, from when.
    #[command(flatten)]
    pub which: Which,
    /// Months ahead (1 to 120).
    #[arg(long, default_value_t = 12)]
    pub months: u32,
    /// Scenarios (100 to 10,000,000).
    #[arg(long, default_value_t = 10_000)]
    pub scenarios: u32,
    /// Seed.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Correlation of the loans' worsening with one monthly factor
    /// (a stated default: no Jiangxi figure).
    #[arg(long, default_value_t = 0.15, allow_negative_numbers = true)]
    pub rho: f64,
    /// Months from a default to its claim being paid.
    #[arg(long, default_value_t = 1)]
    pub claim_lag: u32,
    /// Claims are paid in batches every this many months, at calendar
    /// month ends divisible by it: 1 (monthly), 3 (quarter ends), 6 or 12.
    #[arg(long, default_value_t = 1)]
    pub claim_batch: u32,
    /// Share of a claim paid that comes back as recoveries (a stated
    /// default).
    #[arg(long, default_value_t = 0.2, allow_negative_numbers = true)]
    pub recovery_rate: f64,
    /// Months from a claim's payment to its recovery.
    #[arg(long, default_value_t = 12)]
    pub recovery_lag: u32,
    /// The chance of running out the top-up is sized for.
    #[arg(long, default_value_t = 0.01, allow_negative_numbers = true)]
    pub target: f64,
    /// Pseudo-loans per state given to the prior roll rates.
    #[arg(long, default_value_t = 20.0, allow_negative_numbers = true)]
    pub prior_strength: f64,
    /// New lending a month (e.g. `2000万`; `0`: none), enrolled while the
    /// breaker is closed and the credit scale allows; default: the median
    /// of the pool's six months before `--as-of`.
    #[arg(long, allow_negative_numbers = true)]
    pub new_lending: Option<String>,
    /// Leave the programme's top-up rule out of the paths: the pool on the
    /// cash it has.
    #[arg(long)]
    pub without_top_up_rule: bool,
    /// Project from `--as-of` using only what took effect by then, and set
    /// the projection beside what the ledger recorded after it.
    #[arg(long)]
    pub backtest: bool,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// Flags of `smefin pool rolls`.
#[derive(Debug, Args)]
pub struct RollsArgs {
    /// Which pool, when.
    #[command(flatten)]
    pub which: Which,
    /// Pseudo-loans per state given to the prior rates (0: the history
    /// alone).
    #[arg(long, default_value_t = 20.0, allow_negative_numbers = true)]
    pub prior_strength: f64,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// The pool and the date.
#[derive(Debug, Args)]
pub struct Which {
    /// The pool.
    #[arg(long)]
    pub pool: String,
    /// The date (YYYY-MM-DD); default today (UTC+8).
    #[arg(long)]
    pub as_of: Option<String>,
    /// The programmes file the server uses (`ledger.programmes`); default
    /// the built-in programmes.
    #[arg(long)]
    pub programmes: Option<PathBuf>,
    /// Where the store is.
    #[command(flatten)]
    pub store: StoreArgs,
}

/// Flags of `smefin pool state`.
#[derive(Debug, Args)]
pub struct StateArgs {
    /// Which pool, when.
    #[command(flatten)]
    pub which: Which,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// Flags of `smefin pool report`.
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// Which pool, when.
    #[command(flatten)]
    pub which: Which,
    /// The report file (`.html`).
    #[arg(long)]
    pub out: PathBuf,
    /// Add the projection from `--as-of` (12 months, 10,000 scenarios, the
    /// defaults of `smefin pool project`).
    #[arg(long)]
    pub project: bool,
}

/// Flags of `smefin pool status`.
#[derive(Debug, Args)]
pub struct StatusArgs {
    /// Which pool; `--as-of` is the month end the file is as of (required).
    #[command(flatten)]
    pub which: Which,
    /// The reporting bank.
    #[arg(long)]
    pub bank: String,
    /// The file.
    #[arg(long)]
    pub file: PathBuf,
}

/// Runs a pool action.
pub fn run(cmd: PoolCommand) -> Result<(), CliError> {
    match cmd {
        PoolCommand::State(a) => state(a),
        PoolCommand::Report(a) => report(a),
        PoolCommand::Status(a) => status(a),
        PoolCommand::Rolls(a) => rolls(a),
        PoolCommand::Project(a) => super::rolls::project(a),
        PoolCommand::Events(a) => super::pool_events::log(a),
        PoolCommand::Subsidy(a) => super::subsidy::run(a),
    }
}

/// What a pool command opens.
type Opened = (
    std::sync::Arc<dyn Backend>,
    std::sync::Arc<Programme>,
    NaiveDate,
);

/// The store, the pool's programme and the date.
pub(super) fn open(w: &Which) -> Result<Opened, CliError> {
    let as_of = super::as_of(&w.as_of)?;
    let programmes = crate::files::programmes(w.programmes.as_deref())
        .map_err(|e| CliError::new(format!("--programmes: {e}")))?;
    let store = w.store.open()?;
    let pool = store
        .pool(&w.pool)
        .map_err(|e| CliError::new(format!("--pool {}: {e}", w.pool)))?
        .ok_or_else(|| CliError::new(format!("--pool: no pool `{}` in the store", w.pool)))?;
    let p = programmes
        .into_iter()
        .find(|p| p.id == pool.programme_id)
        .ok_or_else(|| {
            CliError::new(format!(
                "--programmes: no programme `{}`, which pool `{}` follows",
                pool.programme_id, w.pool
            ))
        })?;
    Ok((store, std::sync::Arc::new(p), as_of))
}

/// The pool's events that took effect by `as_of`, handed in order a page
/// at a time (a command holds the pool's book, never its log).
pub(super) fn each<'a>(
    store: &'a dyn Backend,
    pool: &'a str,
    as_of: NaiveDate,
) -> impl crate::ledger::history::Each<StoreError> + 'a {
    move |f: &mut dyn FnMut(&crate::ledger::event::Event)| store.visit(pool, as_of, None, f)
}

/// A store error reading pool `pool`, as the CLI says it.
pub(super) fn read_error(pool: &str) -> impl Fn(StoreError) -> CliError + '_ {
    move |e| CliError::new(format!("--pool {pool}: {e}"))
}

/// The state as of `as_of` from the pool's stored fold and the events
/// recorded after it, as a server starting does, when they continue it in
/// order and no event folded is dated after `as_of`; otherwise `None`, and
/// the caller folds the log.
fn from_stored(
    store: &dyn Backend,
    pool: &str,
    p: &std::sync::Arc<Programme>,
    as_of: NaiveDate,
) -> Option<crate::ledger::PoolState> {
    let mut r = crate::store::ledger::read_fold(store, pool, p).ok()??;
    let tail = store.events_after(pool, r.seq).ok()?;
    if !r.extend(&tail) {
        return None;
    }
    crate::ledger::running_state(&r, as_of, None, None)
}

fn state(a: StateArgs) -> Result<(), CliError> {
    let (store, p, as_of) = open(&a.which)?;
    let pool = a.which.pool.as_str();
    let s = match from_stored(store.as_ref(), pool, &p, as_of) {
        Some(s) => s,
        None => crate::ledger::pool_state_from(
            &p,
            each(store.as_ref(), pool, as_of),
            as_of,
            None,
            None,
            None,
        )
        .map_err(read_error(pool))?,
    };
    if a.json {
        let text = serde_json::to_string_pretty(&s).map_err(|e| CliError::new(e.to_string()))?;
        return print(&(text + "\n"));
    }
    let mut out = format!("{}（{}）截至 {}\n", a.which.pool, p.name, as_of);
    if let Some(pool) = &s.pool {
        out.push_str(&format!(
            "现金 {}；在贷余额 {}；剩余信贷规模 {}；已批准未支付代偿 {}；新增纳入：{}\n",
            pool.cash.human(),
            pool.figures.outstanding.human(),
            pool.scale_left.human(),
            pool.figures.committed.human(),
            if s.enrolment_open { "开放" } else { "暂停" }
        ));
        if let Some((by, y)) = pool.top_up_due {
            out.push_str(&format!("按规则应于 {by} 前补充 {}\n", y.human()));
        }
    }
    let mut t = Table::new(
        &[
            "银行",
            "纳入笔数",
            "在贷余额",
            "不良余额",
            "代偿支付",
            "追偿返还",
        ],
        &[1, 2, 3, 4, 5],
    );
    for b in &s.banks {
        let f = &b.figures;
        t.row(vec![
            b.bank_id.clone(),
            f.enrolled_loans.to_string(),
            f.outstanding.human(),
            f.npl.human(),
            f.claims_paid.human(),
            f.recovered.human(),
        ]);
    }
    out.push_str(&t.render(""));
    print(&out)
}

fn rolls(a: RollsArgs) -> Result<(), CliError> {
    if !(a.prior_strength.is_finite() && (0.0..=1e9).contains(&a.prior_strength)) {
        return Err(CliError::new(
            "--prior-strength: must be a number of pseudo-loans from 0 to 1e9",
        ));
    }
    let (store, p, as_of) = open(&a.which)?;
    let pool = a.which.pool.as_str();
    let prior = crate::ledger::rolls::Prior {
        strength: a.prior_strength,
        ..Default::default()
    };
    let (r, _) =
        crate::ledger::rolls::estimate_from(&p, each(store.as_ref(), pool, as_of), as_of, &prior)
            .map_err(read_error(pool))?;
    if a.json {
        let text = serde_json::to_string_pretty(&r).map_err(|e| CliError::new(e.to_string()))?;
        return print(&(text + "\n"));
    }
    print(&super::rolls::text(&a.which.pool, as_of, &r))
}

fn report(a: ReportArgs) -> Result<(), CliError> {
    if a.out.extension().and_then(|e| e.to_str()) != Some("html") {
        return Err(CliError::new(format!(
            "--out: {} must end in .html",
            a.out.display()
        )));
    }
    super::check_output_dirs(&[Some(a.out.as_path())])?;
    let (store, p, as_of) = open(&a.which)?;
    let (pool, store) = (a.which.pool.as_str(), store.as_ref());
    let s = crate::ledger::pool_state_from(&p, each(store, pool, as_of), as_of, None, None, None)
        .map_err(read_error(pool))?;
    let months = crate::ledger::history::months_from(&p, each(store, pool, as_of), as_of, 36)
        .map_err(read_error(pool))?;
    let outlook = if a.project {
        let (_, r) = crate::ledger::project::from_each(
            &p,
            each(store, pool, as_of),
            as_of,
            &Default::default(),
            &Default::default(),
        )
        .map_err(read_error(pool))?;
        Some(r)
    } else {
        None
    };
    let html = crate::report::pool::html(
        &a.which.pool,
        &p.name,
        &s,
        &months,
        p.version_on(as_of),
        outlook.as_ref(),
    );
    std::fs::write(&a.out, html).map_err(|e| CliError::new(format!("{}: {e}", a.out.display())))?;
    print(&format!("资金池运行报告写入 {}\n", a.out.display()))
}

/// One line of a status file.
struct Line {
    loan_id: String,
    outstanding: Yuan,
    dpd: u32,
    status: Option<String>,
}

/// The lines of a status file's text (read once, as its digest is taken).
fn read_file(path: &Path, bytes: &[u8]) -> Result<Vec<Line>, CliError> {
    let text = std::str::from_utf8(bytes).map_err(|_| {
        CliError::new(format!(
            "{}: {}",
            path.display(),
            crate::files::not_utf8(bytes)
        ))
    })?;
    let mut out = Vec::new();
    for (i, l) in text.trim_start_matches('\u{FEFF}').lines().enumerate() {
        let cells: Vec<&str> = l.split(',').map(str::trim).collect();
        if i == 0 && cells.first() == Some(&"loan_id") || l.trim().is_empty() {
            continue;
        }
        let bad = |why: String| CliError::new(format!("{} line {}: {why}", path.display(), i + 1));
        if cells.len() < 3 {
            return Err(bad(
                "expected loan_id,outstanding,days_past_due[,status]".into()
            ));
        }
        let outstanding =
            Yuan::parse_fen(cells[1]).map_err(|e| bad(format!("outstanding: {e}")))?;
        let dpd = cells[2].parse().map_err(|_| {
            bad(format!(
                "days_past_due: `{}` is not a whole number of days",
                cells[2]
            ))
        })?;
        let status = cells
            .get(3)
            .filter(|s| !s.is_empty())
            .map(|s| s.to_string());
        if let Some(s) = &status
            && s != "repaid"
            && s != "charged_off"
        {
            return Err(bad(format!("status: `{s}` is not repaid or charged_off")));
        }
        out.push(Line {
            loan_id: cells[0].to_string(),
            outstanding,
            dpd,
            status,
        });
    }
    Ok(out)
}

fn status(a: StatusArgs) -> Result<(), CliError> {
    if a.which.as_of.is_none() {
        return Err(CliError::new(
            "--as-of: give the month end the file is as of",
        ));
    }
    crate::incentive::check_bank_id(&a.bank)
        .map_err(|why| CliError::new(format!("--bank: {why}")))?;
    let text =
        std::fs::read(&a.file).map_err(|e| CliError::new(format!("{}: {e}", a.file.display())))?;
    let lines = read_file(&a.file, &text)?;
    let (store, p, as_of) = open(&a.which)?;
    let hash = {
        use sha2::Digest;
        hex::encode(sha2::Sha256::digest(&text))
    };
    let request = format!("cli-status-{}-{}-{}", a.bank, as_of, &hash[..12]);
    let problems = std::cell::RefCell::new(Vec::new());
    let recorded = store
        .record(&a.which.pool, &request, &hash, "cli", &mut |log| {
            // (statuses move no cash: the last cash day is not needed)
            let b = Book::fold_from(&p, |f| log.visit(as_of, f), None)?;
            let mut kinds = Vec::new();
            problems.borrow_mut().clear();
            for l in &lines {
                match line_event(&b, &a.bank, l) {
                    Ok(mut k) => kinds.append(&mut k),
                    Err(r) => problems
                        .borrow_mut()
                        .push(format!("{}: {} ({})", l.loan_id, r.message, r.code)),
                }
            }
            Ok::<_, StoreError>(kinds.into_iter().map(|k| (as_of, k)).collect())
        })
        .map_err(|e| CliError::new(format!("--pool {}: {e}", a.which.pool)))?;
    let mut out = format!("记录 {} 条", recorded.len());
    let problems = problems.into_inner();
    if !problems.is_empty() {
        out.push_str(&format!(
            "；未记录 {} 条：\n  {}",
            problems.len(),
            problems.join("\n  ")
        ));
    }
    out.push('\n');
    print(&out)
}

fn line_event(b: &Book, bank: &str, l: &Line) -> Result<Vec<EventKind>, decide::Refusal> {
    if l.status.as_deref() == Some("repaid") {
        return Ok(vec![decide::repaid(b, bank, &l.loan_id)?]);
    }
    let mut k = vec![decide::status(b, bank, &l.loan_id, l.outstanding, l.dpd)?];
    if l.status.as_deref() == Some("charged_off") {
        k.push(EventKind::LoanChargedOff {
            bank_id: bank.to_string(),
            loan_id: l.loan_id.clone(),
        });
    }
    Ok(k)
}

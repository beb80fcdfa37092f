//! `smefin match` and `smefin classify`.

use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::PathBuf;

use clap::Args;
use rayon::prelude::*;
use serde::Serialize;

use super::{CliError, as_of, load_catalog, print, read_input};
use crate::catalog::Catalog;
use crate::enterprise::{Profile, RawProfile};
use crate::kernel::money;
use crate::kernel::violation::FieldViolation;
use crate::matching::{self, MatchOptions, MatchReport, MatchStatus};
use crate::report::text;
use crate::report::text::table::Table;

/// Flags of `smefin match`.
#[derive(Debug, Args)]
#[command(group = clap::ArgGroup::new("source").required(true).args(["profile", "input"]))]
pub struct MatchArgs {
    /// Profile JSON file (`-` for stdin).
    pub profile: Option<PathBuf>,
    /// A registry: one profile JSON per line.
    #[arg(long, requires = "output", conflicts_with = "profile")]
    pub input: Option<PathBuf>,
    /// Where to write one result per input line (JSON lines).
    #[arg(long, requires = "input")]
    pub output: Option<PathBuf>,
    /// Print the response as JSON (single profile).
    #[arg(long)]
    pub json: bool,
    /// Match date (YYYY-MM-DD); default today (UTC+8).
    #[arg(long)]
    pub as_of: Option<String>,
    /// Only these products (repeatable).
    #[arg(long = "product")]
    pub products: Vec<String>,
    /// Product catalogue replacing the built-in one.
    #[arg(long)]
    pub catalog: Option<PathBuf>,
    /// Worker threads for --input (default: all cores).
    #[arg(long, value_parser = super::parse_threads)]
    pub threads: Option<usize>,
    /// With --input: write the whole report per firm (every criterion and
    /// suggestion) instead of the compact record (eligible offers and missing
    /// fields).
    #[arg(long, requires = "input")]
    pub full: bool,
    /// With --input: also write the registry report (精准推送) as one
    /// self-contained HTML file.
    #[arg(long, requires = "input")]
    pub report: Option<PathBuf>,
}

/// Flags of `smefin classify`.
#[derive(Debug, Args)]
pub struct ClassifyArgs {
    /// Profile JSON file (`-` for stdin).
    pub profile: PathBuf,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

fn profile_error(path: &std::path::Path, v: &[FieldViolation]) -> CliError {
    CliError::new(format!(
        "{}: invalid profile: {}",
        path.display(),
        crate::kernel::violation::describe_all(v)
    ))
}

/// Runs `smefin match`.
pub fn run_match(a: MatchArgs) -> Result<(), CliError> {
    let catalog = load_catalog(a.catalog.as_deref())?;
    super::check_products(&catalog, &a.products)?;
    let opts = MatchOptions {
        as_of: as_of(&a.as_of)?,
        product_ids: a.products.clone(),
    };
    if let (Some(input), Some(output)) = (&a.input, &a.output) {
        super::check_output_dirs(&[a.report.as_deref()])?;
        let threads = a
            .threads
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
        let batch = Batch {
            catalog: &catalog,
            opts: &opts,
            threads,
            full: a.full,
            report: a.report.as_deref(),
        };
        return run_batch(batch, input, output);
    }
    let path = a.profile.clone().unwrap_or_else(|| PathBuf::from("-"));
    let text = read_input(&path)?;
    let profile = Profile::from_json(&text).map_err(|e| profile_error(&path, &e.violations))?;
    let report = matching::match_profile(&catalog, &profile, &opts)
        .map_err(|e| CliError::new(e.to_string()))?;
    // (after the work, so a failure stays one line)
    super::warn_stale_lpr(&catalog, opts.as_of);
    if a.json {
        let mut s =
            serde_json::to_string_pretty(&report).map_err(|e| CliError::new(e.to_string()))?;
        s.push('\n');
        print(&s)
    } else {
        print(&text::matching::render_report(&report))
    }
}

/// One line of `--output --full`: the whole report.
#[derive(Serialize)]
struct FullLine<'a> {
    /// 1-based line number in the input.
    line: u64,
    result: &'a MatchReport,
}

/// One line of `--output` (default): what a bureau needs to push offers.
#[derive(Serialize)]
struct CompactLine<'a> {
    line: u64,
    name: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    credit_code: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    size_class: Option<crate::enterprise::SizeClass>,
    /// Eligible and not already held or applied for: the leads.
    eligible: Vec<CompactOffer<'a>>,
    needs_info: Vec<CompactNeed<'a>>,
    /// Products the firm already holds or has applied for.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    already: Vec<CompactHeld<'a>>,
}

#[derive(Serialize)]
struct CompactHeld<'a> {
    product_id: &'a str,
    status: crate::enterprise::Holding,
}

#[derive(Serialize)]
struct CompactOffer<'a> {
    product_id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    amount: Option<money::Yuan>,
    #[serde(skip_serializing_if = "Option::is_none")]
    annual_cost: Option<money::Yuan>,
    #[serde(skip_serializing_if = "Option::is_none")]
    benefit: Option<&'a str>,
}

#[derive(Serialize)]
struct CompactNeed<'a> {
    product_id: &'a str,
    missing: Vec<&'static str>,
}

/// A problem line of `--output`.
#[derive(Serialize)]
struct ProblemLine {
    line: u64,
    problems: Vec<FieldViolation>,
}

/// The outcome of one input line: its output record and, when valid, the
/// catalogue positions of the products it is eligible for / needs info on.
struct Done {
    json: String,
    valid: bool,
    eligible: Vec<usize>,
    needs: Vec<usize>,
    /// What the registry report counts of this firm (when one is asked).
    tally: Option<crate::matching::registry::FirmTally>,
}

fn problem(line: u64, problems: Vec<FieldViolation>) -> Done {
    let json = serde_json::to_string(&ProblemLine { line, problems }).unwrap_or_default();
    Done {
        json,
        valid: false,
        eligible: vec![],
        needs: vec![],
        tally: None,
    }
}

fn match_line(
    catalog: &Catalog,
    opts: &MatchOptions,
    line: u64,
    text: &str,
    (full, report): (bool, bool),
) -> Done {
    let raw: RawProfile = match crate::kernel::json::parse(text) {
        Ok(r) => r,
        Err(v) => return problem(line, vec![v]),
    };
    let p = match Profile::from_raw(raw) {
        Ok(p) => p,
        Err(e) => return problem(line, e.violations),
    };
    let cls = p.classify();
    let ev = match matching::evaluate(catalog, &p, &cls, opts) {
        Ok(ev) => ev,
        Err(matching::MatchError::UnknownHeldProduct { index, id }) => {
            let field = format!("held_products[{index}].product_id");
            let why = format!("unknown product `{id}`");
            return problem(line, vec![FieldViolation::new(field, why)]);
        }
        Err(e) => return problem(line, vec![FieldViolation::new("as_of", e.to_string())]),
    };
    let of = |s: MatchStatus| {
        ev.products
            .iter()
            .filter(move |e| e.status == s && e.holding.is_none())
    };
    let eligible = of(MatchStatus::Eligible).map(|e| e.order).collect();
    let needs = of(MatchStatus::NeedsInfo).map(|e| e.order).collect();
    let json = if full {
        serde_json::to_string(&FullLine {
            line,
            result: &ev.report(&cls),
        })
    } else {
        serde_json::to_string(&compact_line(line, &p, &cls, &ev))
    };
    Done {
        json: json.unwrap_or_default(),
        valid: true,
        eligible,
        needs,
        tally: report.then(|| crate::matching::registry::FirmTally::of(&ev, cls.class())),
    }
}

/// The compact record of one firm: its leads with amount and cost, what the
/// products needing information lack, and what it already holds.
fn compact_line<'a>(
    line: u64,
    p: &'a Profile,
    cls: &crate::enterprise::Classification,
    ev: &'a matching::Evaluation<'a>,
) -> CompactLine<'a> {
    let of = |s: MatchStatus| {
        ev.products
            .iter()
            .filter(move |e| e.status == s && e.holding.is_none())
    };
    CompactLine {
        line,
        name: &p.name,
        credit_code: p.credit_code.as_ref().map(|c| c.code.as_str()),
        size_class: cls.class(),
        eligible: of(MatchStatus::Eligible)
            .map(|e| {
                let o = e.offer.as_deref();
                CompactOffer {
                    product_id: &e.product.id,
                    amount: o.and_then(|o| o.amount),
                    annual_cost: o.and_then(|o| o.annual_cost),
                    benefit: e.product.benefit.as_deref(),
                }
            })
            .collect(),
        needs_info: of(MatchStatus::NeedsInfo)
            .map(|e| CompactNeed {
                product_id: &e.product.id,
                missing: e
                    .criteria
                    .iter()
                    .filter(|c| !c.missing.is_empty())
                    .map(|c| c.missing)
                    .collect(),
            })
            .collect(),
        already: ev
            .products
            .iter()
            .filter_map(|e| {
                e.holding.map(|status| CompactHeld {
                    product_id: &e.product.id,
                    status,
                })
            })
            .collect(),
    }
}

struct Batch<'a> {
    catalog: &'a Catalog,
    opts: &'a MatchOptions,
    threads: usize,
    full: bool,
    report: Option<&'a std::path::Path>,
}

fn run_batch(b: Batch<'_>, input: &PathBuf, output: &PathBuf) -> Result<(), CliError> {
    let Batch {
        catalog,
        opts,
        threads,
        full,
        report,
    } = b;
    let file = std::fs::File::open(input)
        .map_err(|e| CliError::new(format!("{}: {e}", input.display())))?;
    // Progress in bytes of the input, so the file is read once.
    let bar = progress_bar(file.metadata().ok().map(|m| m.len()).filter(|&n| n > 0));
    let mut lines = Lines {
        lines: BufReader::new(file).split(b'\n'),
        line_no: 0,
        bytes_read: 0,
        digest: report.map(|_| <sha2::Sha256 as sha2::Digest>::new()),
    };
    // `-`: the records to standard output, the summary to standard error
    let to_stdout = output.as_os_str() == "-";
    let out: Box<dyn Write> = if to_stdout {
        Box::new(std::io::stdout().lock())
    } else {
        Box::new(
            std::fs::File::create(output)
                .map_err(|e| CliError::new(format!("{}: {e}", output.display())))?,
        )
    };
    let mut out = BufWriter::with_capacity(1 << 20, out);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .map_err(|e| CliError::new(format!("cannot start {threads} matching threads: {e}")))?;
    let mut totals = Totals {
        eligible: vec![0; catalog.products.len()],
        needs: vec![0; catalog.products.len()],
        matched: 0,
        invalid: 0,
        stats: Default::default(),
    };
    loop {
        let chunk = lines.next_chunk(input)?;
        if chunk.is_empty() {
            break;
        }
        let results = match_chunk(&pool, &chunk, catalog, opts, (full, report.is_some()))?;
        for d in results {
            out.write_all(d.json.as_bytes())?;
            out.write_all(b"\n")?;
            totals.add(d);
        }
        bar.set_position(lines.bytes_read);
    }
    out.flush()?;
    bar.finish_and_clear();
    if let (Some(path), Some(digest)) = (report, lines.digest) {
        totals.stats.invalid = totals.invalid;
        write_registry_report(path, &totals.stats, catalog, opts, digest)?;
    }
    super::warn_stale_lpr(catalog, opts.as_of);
    let summary = totals.summary(catalog, opts, output);
    if to_stdout {
        eprint!("{summary}");
    } else {
        print(&summary)?;
    }
    if totals.invalid > 0 {
        return Err(CliError {
            message: format!(
                "{} of {} records were invalid",
                totals.invalid,
                totals.matched + totals.invalid
            ),
            code: 3,
            io: None,
        });
    }
    Ok(())
}

/// Matches a chunk of lines on the pool, in order whatever the scheduling
/// (rayon's indexed collect); a worker that panics fails the run with a
/// message, not a crash.
fn match_chunk(
    pool: &rayon::ThreadPool,
    chunk: &[(u64, Result<String, String>)],
    catalog: &Catalog,
    opts: &MatchOptions,
    (full, tally): (bool, bool),
) -> Result<Vec<Done>, CliError> {
    let results: Vec<Done> = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        pool.install(|| {
            chunk
                .par_iter()
                .map(|(n, l)| match l {
                    Ok(l) => match_line(catalog, opts, *n, l, (full, tally)),
                    Err(e) => problem(*n, vec![FieldViolation::new("(line)", e.clone())]),
                })
                .collect()
        })
    }))
    .unwrap_or_default();
    if results.len() != chunk.len() {
        return Err(CliError::new(
            "a matching worker failed; no output past this point is reliable",
        ));
    }
    Ok(results)
}

fn progress_bar(total: Option<u64>) -> indicatif::ProgressBar {
    let bar = match total {
        Some(n) => indicatif::ProgressBar::new(n),
        None => indicatif::ProgressBar::new_spinner(),
    };
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{bar:40} {bytes}/{total_bytes} {bytes_per_sec} 剩余 {eta}",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    bar
}

/// The registry's lines as they are read: numbered, counted in bytes for
/// the progress bar, and digested for the report when one is asked.
struct Lines<R> {
    lines: std::io::Split<R>,
    line_no: u64,
    bytes_read: u64,
    digest: Option<sha2::Sha256>,
}

impl<R: BufRead> Lines<R> {
    /// The next lines, up to a chunk's worth (none at the end). Each line
    /// is kept, valid UTF-8 or not: a bad line becomes a problem record.
    #[allow(clippy::type_complexity)]
    fn next_chunk(
        &mut self,
        input: &std::path::Path,
    ) -> Result<Vec<(u64, Result<String, String>)>, CliError> {
        const CHUNK: usize = 8192;
        let mut chunk = Vec::with_capacity(CHUNK);
        while chunk.len() < CHUNK {
            let mut bytes = match self.lines.next() {
                None => break,
                Some(Err(e)) => {
                    return Err(CliError::new(format!(
                        "{} line {}: {e}",
                        input.display(),
                        self.line_no + 1
                    )));
                }
                Some(Ok(bytes)) => bytes,
            };
            self.line_no += 1;
            self.bytes_read += bytes.len() as u64 + 1;
            if let Some(d) = &mut self.digest {
                sha2::Digest::update(d, &bytes);
                sha2::Digest::update(d, b"\n");
            }
            if bytes.last() == Some(&b'\r') {
                bytes.pop();
            }
            match String::from_utf8(bytes) {
                Ok(l) if l.trim().is_empty() => {}
                Ok(l) => chunk.push((self.line_no, Ok(l))),
                Err(e) => chunk.push((
                    self.line_no,
                    Err(format!("line is {}", crate::files::not_utf8(e.as_bytes()))),
                )),
            }
        }
        Ok(chunk)
    }
}

/// What a batch counted: per product the firms eligible and needing
/// information, the records matched and invalid, and the report's tallies.
struct Totals {
    eligible: Vec<u64>,
    needs: Vec<u64>,
    matched: u64,
    invalid: u64,
    stats: crate::matching::registry::RegistryStats,
}

impl Totals {
    fn add(&mut self, mut d: Done) {
        if let Some(t) = d.tally.take() {
            self.stats.add(t);
        }
        if d.valid {
            self.matched += 1;
            d.eligible.iter().for_each(|&i| self.eligible[i] += 1);
            d.needs.iter().for_each(|&i| self.needs[i] += 1);
        } else {
            self.invalid += 1;
        }
    }

    /// The lines the batch prints: how many matched, where, and per
    /// product in force the firms eligible and needing information.
    fn summary(&self, catalog: &Catalog, opts: &MatchOptions, output: &std::path::Path) -> String {
        let (matched, invalid) = (self.matched, self.invalid);
        let to = if output.as_os_str() == "-" {
            "标准输出".to_string()
        } else {
            format!(" {}", output.display())
        };
        let mut s = format!("已匹配 {matched} 家企业，结果写入{to}");
        if invalid > 0 {
            s.push_str(&format!("；无效记录 {invalid} 条（见输出中的 problems）"));
        }
        s.push('\n');
        let mut t = Table::new(&["产品ID", "产品", "符合", "需补充信息"], &[2, 3]);
        for (i, p) in catalog.products.iter().enumerate() {
            if !p.in_force(opts.as_of)
                || (!opts.product_ids.is_empty() && !opts.product_ids.contains(&p.id))
            {
                continue;
            }
            t.row(vec![
                p.id.clone(),
                p.name.clone(),
                self.eligible[i].to_string(),
                self.needs[i].to_string(),
            ]);
        }
        s.push_str(&t.render(""));
        s
    }
}

/// Writes the registry report to `path`.
fn write_registry_report(
    path: &std::path::Path,
    stats: &crate::matching::registry::RegistryStats,
    catalog: &Catalog,
    opts: &MatchOptions,
    digest: sha2::Sha256,
) -> Result<(), CliError> {
    let info = crate::report::RunInfo {
        spec_text: String::new(),
        digest: hex::encode(sha2::Digest::finalize(digest)),
        version: crate::riskpool::VERSION.to_string(),
        how: std::env::args().collect::<Vec<_>>().join(" "),
    };
    let html = crate::report::registry::registry(stats, catalog, &opts.as_of.to_string(), &info);
    std::fs::write(path, html).map_err(|e| CliError::new(format!("{}: {e}", path.display())))?;
    eprintln!("report written to {}", path.display());
    Ok(())
}

/// Runs `smefin classify`.
pub fn run_classify(a: ClassifyArgs) -> Result<(), CliError> {
    let text = read_input(&a.profile)?;
    let profile =
        Profile::from_json(&text).map_err(|e| profile_error(&a.profile, &e.violations))?;
    let cls = profile.classify();
    let report = matching::ClassificationReport::from(&cls);
    if a.json {
        #[derive(Serialize)]
        struct Out<'a> {
            classification: &'a matching::ClassificationReport,
            #[serde(skip_serializing_if = "Option::is_none")]
            credit_code: Option<&'a crate::enterprise::CreditCode>,
        }
        let s = serde_json::to_string_pretty(&Out {
            classification: &report,
            credit_code: profile.credit_code.as_ref(),
        })
        .map_err(|e| CliError::new(e.to_string()))?;
        return print(&format!("{s}\n"));
    }
    let mut s = String::new();
    let class = report.size_class.map_or("未能划型", |c| c.name_zh());
    if report.size_industry.is_empty() {
        s.push_str(&format!("划型：{class}\n"));
    } else {
        s.push_str(&format!("划型：{} · {class}\n", report.size_industry));
    }
    s.push_str(&format!("依据：{}\n", report.explanation));
    if !report.missing_fields.is_empty() {
        s.push_str(&format!("缺少：{}\n", report.missing_fields.join(", ")));
    }
    if let Some(cc) = &profile.credit_code {
        s.push_str(&text::matching::render_credit_code(cc));
    }
    print(&s)?;
    if report.size_class.is_none() {
        return Err(CliError {
            message: "size class could not be decided (see above)".into(),
            code: 4,
            io: None,
        });
    }
    Ok(())
}

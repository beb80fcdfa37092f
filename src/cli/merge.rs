//! `smefin merge`: the parts of a sharded run or grid, checked and joined.

use std::path::{Path, PathBuf};

use clap::Args;

use super::CliError;
use super::riskpool::{
    command_line, render, save_report, set_threads, spec_error, write_or_print, write_report,
};
use super::stress::render_grid;
use crate::riskpool::{self, Control, Limits, Model};

/// Flags of `smefin merge`.
#[derive(Debug, Args)]
pub struct MergeArgs {
    /// Part files written by `simulate --shard k/n --out`; a directory
    /// stands for every `part-*.json` in it.
    #[arg(required = true)]
    pub parts: Vec<PathBuf>,
    /// Print the summary as JSON.
    #[arg(long)]
    pub json: bool,
    /// Write the result to this file (whole, or not at all) instead of
    /// standard output.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Also write the report as one self-contained HTML file.
    #[arg(long)]
    pub report: Option<PathBuf>,
    /// A stress grid's target exhaustion probability: its report outlines
    /// the cells whose 95% interval is within it (as `stress --target`).
    #[arg(long, requires = "report", value_parser = |s: &str| s.parse::<f64>().map_err(|e| e.to_string()).and_then(riskpool::grid::check_target))]
    pub target: Option<f64>,
    /// Worker threads for the risk-contribution pass.
    #[arg(long, value_parser = super::parse_threads)]
    pub threads: Option<usize>,
}

/// The part files `merge` was given: files as named, directories as every
/// `part-*.json` in them, by name.
fn part_files(args: &[PathBuf]) -> Result<Vec<PathBuf>, CliError> {
    let mut files = Vec::new();
    for p in args {
        if !p.is_dir() {
            files.push(p.clone());
            continue;
        }
        let mut found: Vec<PathBuf> = std::fs::read_dir(p)
            .map_err(|e| CliError::new(format!("{}: {e}", p.display())))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|f| {
                f.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with("part-") && n.ends_with(".json"))
            })
            .collect();
        if found.is_empty() {
            return Err(CliError::new(format!(
                "{}: no part-*.json files in this directory",
                p.display()
            )));
        }
        found.sort();
        files.extend(found);
    }
    Ok(files)
}

/// Reads a part file as `P`, named by its path.
fn read_part<P: serde::de::DeserializeOwned>(
    p: &Path,
    bytes: &[u8],
) -> Result<(String, P), CliError> {
    let part: P = serde_json::from_slice(bytes)
        .map_err(|e| CliError::new(format!("{}: not a part file: {e}", p.display())))?;
    Ok((p.display().to_string(), part))
}

/// Runs `smefin merge`: the parts of a sharded simulation, or of a sharded
/// stress grid (told apart by their format tag).
pub fn run_merge(a: MergeArgs) -> Result<(), CliError> {
    super::check_output_dirs(&[a.out.as_deref(), a.report.as_deref()])?;
    #[derive(serde::Deserialize)]
    struct Tag {
        format: String,
    }
    let mut files = Vec::new();
    for p in part_files(&a.parts)? {
        let bytes =
            std::fs::read(&p).map_err(|e| CliError::new(format!("{}: {e}", p.display())))?;
        let tag: Tag = serde_json::from_slice(&bytes)
            .map_err(|e| CliError::new(format!("{}: not a part file: {e}", p.display())))?;
        files.push((p, tag.format, bytes));
    }
    let grid = files
        .first()
        .is_some_and(|(_, f, _)| f == riskpool::grid::GRID_PART_FORMAT);
    let want = if grid {
        riskpool::grid::GRID_PART_FORMAT
    } else {
        riskpool::PART_FORMAT
    };
    if let Some((p, f, _)) = files.iter().find(|(_, f, _)| f != want) {
        return Err(CliError::new(format!(
            "{}: not a {want} file like the first part (it is `{f}`): merge one run's parts at a time",
            p.display()
        )));
    }
    if grid {
        return merge_grid(&files, &a);
    }
    if a.target.is_some() {
        return Err(CliError::new(
            "--target: a simulation's parts have no cells to outline; it is for a stress grid's parts",
        ));
    }
    let parts = files
        .iter()
        .map(|(p, _, b)| read_part::<riskpool::Part>(p, b))
        .collect::<Result<Vec<_>, _>>()?;
    drop(files);
    let merged = riskpool::merge_named(parts).map_err(|e| CliError::new(e.to_string()))?;
    let csv = crate::files::csv_of(&merged.spec).map_err(spec_error)?;
    merged
        .check_inputs(csv.as_deref())
        .map_err(|e| CliError::new(e.to_string()))?;
    let riskpool::Merged {
        spec,
        raw,
        tail_sectors,
        ..
    } = merged;
    let model =
        Model::compile_with_csv(&spec, csv.as_deref(), &Limits::default()).map_err(spec_error)?;
    set_threads(a.threads)?;
    let engine = riskpool::engine_for(&model);
    let summary =
        riskpool::stats::summarize_with(&engine, &model, &raw, &Control::default(), &tail_sectors)
            .map_err(|e| CliError::new(e.to_string()))?;
    if let Some(r) = &a.report {
        write_report(r, &summary, &model, csv.as_deref())?;
    }
    write_or_print(
        &render(&summary, a.json)?,
        a.out.as_deref(),
        summary.scenarios,
        "scenarios",
    )
}

/// `smefin merge` of a stress grid's parts: the grid (and its report).
fn merge_grid(files: &[(PathBuf, String, Vec<u8>)], a: &MergeArgs) -> Result<(), CliError> {
    let parts = files
        .iter()
        .map(|(p, _, b)| read_part::<riskpool::grid::GridPart>(p, b))
        .collect::<Result<Vec<_>, _>>()?;
    // The cells are computed in the parts: merging needs neither the
    // loan book nor the version that ran them (the parts must agree).
    let spec = parts.first().map(|(_, p)| p.spec.clone());
    let result = riskpool::grid::merge(parts).map_err(|e| CliError::new(e.to_string()))?;
    if let (Some(path), Some(spec)) = (&a.report, spec) {
        let csv = crate::files::csv_of(&spec).map_err(spec_error)?;
        let info = crate::report::RunInfo::of(&spec, csv.as_deref(), command_line());
        save_report(path, &crate::report::grid::stress(&result, a.target, &info))?;
    }
    write_or_print(
        &render_grid(&result, a.json)?,
        a.out.as_deref(),
        result.cells.len() as u64,
        "cells",
    )
}

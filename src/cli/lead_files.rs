//! The files `smefin campaign` writes, fed as the leads are found: the
//! lead list, and one file per bank with `--by-bank`. CSV lines are
//! rendered in parallel and written at once; XLSX sheets keep their rows on
//! disk; so a registry of millions never sits in memory whole (unless the
//! campaign is also to be stored).

use std::collections::BTreeMap;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use rayon::prelude::*;

use super::CliError;
use crate::matching::leads::Lead;
use crate::report::leads::{XlsxLeads, csv_head, csv_line};

/// The file kinds a lead list is written as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    Csv,
    Xlsx,
}

impl Kind {
    /// The kind `path` names by its extension.
    pub(super) fn of(path: &Path) -> Result<Kind, CliError> {
        match path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase)
        {
            Some(e) if e == "csv" => Ok(Kind::Csv),
            Some(e) if e == "xlsx" => Ok(Kind::Xlsx),
            _ => Err(CliError::new(format!(
                "--out: {} must end in .xlsx or .csv",
                path.display()
            ))),
        }
    }

    fn ext(self) -> &'static str {
        match self {
            Kind::Csv => "csv",
            Kind::Xlsx => "xlsx",
        }
    }
}

/// One file being written.
enum Sink {
    Csv(BufWriter<std::fs::File>, PathBuf),
    Xlsx(Box<XlsxLeads>, PathBuf),
}

fn io_err(path: &Path, e: impl std::fmt::Display) -> CliError {
    CliError::new(format!("{}: {e}", path.display()))
}

impl Sink {
    fn create(path: &Path, kind: Kind) -> Result<Sink, CliError> {
        Ok(match kind {
            Kind::Csv => {
                let f = std::fs::File::create(path).map_err(|e| io_err(path, e))?;
                let mut w = BufWriter::with_capacity(1 << 20, f);
                w.write_all(csv_head().as_bytes())
                    .map_err(|e| io_err(path, e))?;
                Sink::Csv(w, path.to_path_buf())
            }
            Kind::Xlsx => Sink::Xlsx(
                Box::new(XlsxLeads::new().map_err(CliError::new)?),
                path.to_path_buf(),
            ),
        })
    }

    fn push(&mut self, leads: &[Lead]) -> Result<(), CliError> {
        match self {
            Sink::Csv(w, path) => {
                let lines: Vec<String> = leads.par_iter().map(csv_line).collect();
                for l in lines {
                    w.write_all(l.as_bytes()).map_err(|e| io_err(path, e))?;
                }
                Ok(())
            }
            Sink::Xlsx(x, _) => x.push(leads).map_err(CliError::new),
        }
    }

    fn finish(self) -> Result<(), CliError> {
        match self {
            Sink::Csv(mut w, path) => w.flush().map_err(|e| io_err(&path, e)),
            Sink::Xlsx(x, path) => x.save(&path).map_err(|e| io_err(&path, e)),
        }
    }
}

/// The lead list and, with `--by-bank`, each bank's own file (`未分配` for
/// leads of products without banks).
pub(super) struct LeadFiles {
    kind: Kind,
    main: Sink,
    by_bank: Option<(PathBuf, BTreeMap<String, Sink>)>,
    /// Every lead, when the campaign is to be stored.
    pub(super) kept: Option<Vec<Lead>>,
}

impl LeadFiles {
    /// Files at `out` and in `by_bank`, keeping the leads when `keep`.
    pub(super) fn create(
        out: &Path,
        by_bank: Option<&Path>,
        keep: bool,
    ) -> Result<LeadFiles, CliError> {
        let kind = Kind::of(out)?;
        if let Some(dir) = by_bank {
            std::fs::create_dir_all(dir).map_err(|e| io_err(dir, e))?;
        }
        Ok(LeadFiles {
            kind,
            main: Sink::create(out, kind)?,
            by_bank: by_bank.map(|d| (d.to_path_buf(), BTreeMap::new())),
            kept: keep.then(Vec::new),
        })
    }

    /// Writes leads after those already written.
    pub(super) fn push(&mut self, leads: Vec<Lead>) -> Result<(), CliError> {
        if leads.is_empty() {
            return Ok(());
        }
        self.main.push(&leads)?;
        if let Some((dir, sinks)) = &mut self.by_bank {
            let mut per: BTreeMap<String, Vec<Lead>> = BTreeMap::new();
            for l in &leads {
                let bank = l.bank_id.clone().unwrap_or_else(|| "未分配".into());
                per.entry(bank).or_default().push(l.clone());
            }
            for (bank, ls) in per {
                let sink = match sinks.entry(bank) {
                    std::collections::btree_map::Entry::Occupied(o) => o.into_mut(),
                    std::collections::btree_map::Entry::Vacant(v) => {
                        let path = dir.join(format!("{}.{}", v.key(), self.kind.ext()));
                        v.insert(Sink::create(&path, self.kind)?)
                    }
                };
                sink.push(&ls)?;
            }
        }
        if let Some(k) = &mut self.kept {
            k.extend(leads);
        }
        Ok(())
    }

    /// Closes every file; returns the leads kept.
    pub(super) fn finish(self) -> Result<Option<Vec<Lead>>, CliError> {
        self.main.finish()?;
        if let Some((_, sinks)) = self.by_bank {
            for s in sinks.into_values() {
                s.finish()?;
            }
        }
        Ok(self.kept)
    }
}

//! The CSV inputs of `smefin incentives compute`.
//!
//! - balances: `bank_id,bank_name,institution_type,period,balance`
//! - banks: `bank_id,bank_name,institution_type`
//! - loans: `bank_id,period,loan_id,borrower_id,borrower_type,purpose,credit_line,balance`
//!
//! Every problem is reported as `file:line.column: reason`, all at once.

use std::collections::BTreeMap;

use super::{
    BalanceReport, Bank, BorrowerType, IncentiveRules, InstitutionType, LoanRecord, LoanUse,
    Quarter,
};
use crate::kernel::money::Yuan;
use crate::kernel::violation::FieldViolation;

/// What the CSV files hold, validated.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Inputs {
    /// Banks by id.
    pub banks: BTreeMap<String, Bank>,
    /// Reports by (bank, quarter).
    pub reports: BTreeMap<(String, Quarter), BalanceReport>,
}

struct Rows<'a> {
    origin: &'a str,
    rdr: csv::Reader<&'a [u8]>,
    cols: Vec<usize>,
}

fn open<'a>(
    text: &'a str,
    origin: &'a str,
    want: &[&str],
    errs: &mut Vec<FieldViolation>,
) -> Option<Rows<'a>> {
    let mut rdr = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let headers = match rdr.headers() {
        Ok(h) => h.clone(),
        Err(e) => {
            errs.push(FieldViolation::new(origin, e.to_string()));
            return None;
        }
    };
    let mut cols = Vec::new();
    for w in want {
        match headers.iter().position(|h| h == *w) {
            Some(i) => cols.push(i),
            None => {
                errs.push(FieldViolation::new(
                    origin,
                    format!("header must contain {}", want.join(",")),
                ));
                return None;
            }
        }
    }
    Some(Rows { origin, rdr, cols })
}

impl Rows<'_> {
    /// Calls `f(line, fields)` for every record.
    fn each(
        &mut self,
        errs: &mut Vec<FieldViolation>,
        mut f: impl FnMut(usize, &[&str], &mut Vec<FieldViolation>),
    ) {
        for (i, rec) in self.rdr.records().enumerate() {
            let line = i + 2;
            match rec {
                Ok(r) => {
                    let fields: Vec<&str> =
                        self.cols.iter().map(|&c| r.get(c).unwrap_or("")).collect();
                    f(line, &fields, errs);
                }
                Err(e) => errs.push(FieldViolation::new(
                    format!("{}:{line}", self.origin),
                    e.to_string(),
                )),
            }
        }
    }
}

fn err(
    errs: &mut Vec<FieldViolation>,
    origin: &str,
    line: usize,
    col: &str,
    msg: impl Into<String>,
) {
    errs.push(FieldViolation::new(format!("{origin}:{line}.{col}"), msg));
}

fn money(errs: &mut Vec<FieldViolation>, origin: &str, line: usize, col: &str, s: &str) -> Yuan {
    Yuan::parse_fen(s).unwrap_or_else(|e| {
        err(errs, origin, line, col, e.to_string());
        Yuan::ZERO
    })
}

fn inst(errs: &mut Vec<FieldViolation>, origin: &str, line: usize, s: &str) -> InstitutionType {
    InstitutionType::parse(s).unwrap_or_else(|| {
        err(errs, origin, line, "institution_type", format!("unknown institution type `{s}` (e.g. 城市商业银行, 农村商业银行, 村镇银行, 国有大型商业银行)"));
        InstitutionType::StateOwnedLarge
    })
}

fn quarter(errs: &mut Vec<FieldViolation>, origin: &str, line: usize, s: &str) -> Quarter {
    s.parse().unwrap_or_else(|e: String| {
        err(errs, origin, line, "period", e);
        Quarter { year: 2000, q: 1 }
    })
}

/// The `bank_id,bank_name,institution_type` columns of a row.
fn bank_row(f: &[&str], errs: &mut Vec<FieldViolation>, origin: &str, line: usize) -> Bank {
    Bank {
        bank_id: f[0].to_string(),
        name: f[1].to_string(),
        institution_type: inst(errs, origin, line, f[2]),
    }
}

fn add_bank(
    inputs: &mut Inputs,
    errs: &mut Vec<FieldViolation>,
    origin: &str,
    line: usize,
    b: Bank,
) {
    if let Err(why) = super::check_bank_id(&b.bank_id) {
        err(errs, origin, line, "bank_id", why);
        return;
    }
    if let Err(why) = super::check_text(&b.name, 200) {
        err(errs, origin, line, "bank_name", why);
        return;
    }
    match inputs.banks.get(&b.bank_id) {
        Some(old) if *old != b => err(
            errs,
            origin,
            line,
            "bank_id",
            format!("`{}` is registered with another name or type", b.bank_id),
        ),
        _ => {
            inputs.banks.insert(b.bank_id.clone(), b);
        }
    }
}

impl Inputs {
    /// Adds a balances CSV.
    pub fn add_balances(&mut self, text: &str, origin: &str, errs: &mut Vec<FieldViolation>) {
        let Some(mut rows) = open(
            text,
            origin,
            &[
                "bank_id",
                "bank_name",
                "institution_type",
                "period",
                "balance",
            ],
            errs,
        ) else {
            return;
        };
        rows.each(errs, |line, f, errs| {
            let bank = bank_row(f, errs, origin, line);
            let period = quarter(errs, origin, line, f[3]);
            let balance = money(errs, origin, line, "balance", f[4]);
            let key = (bank.bank_id.clone(), period);
            add_bank(self, errs, origin, line, bank);
            if self.reports.contains_key(&key) {
                err(
                    errs,
                    origin,
                    line,
                    "period",
                    format!("a second balance for {} {}", key.0, key.1),
                );
            }
            self.reports.insert(
                key.clone(),
                BalanceReport {
                    bank_id: key.0,
                    period,
                    balance,
                    version: 1,
                    excluded: vec![],
                },
            );
        });
    }

    /// Adds a banks CSV.
    pub fn add_banks(&mut self, text: &str, origin: &str, errs: &mut Vec<FieldViolation>) {
        let Some(mut rows) = open(
            text,
            origin,
            &["bank_id", "bank_name", "institution_type"],
            errs,
        ) else {
            return;
        };
        rows.each(errs, |line, f, errs| {
            let bank = bank_row(f, errs, origin, line);
            add_bank(self, errs, origin, line, bank);
        });
    }

    /// Adds a loans CSV: each (bank, quarter) snapshot becomes that bank's
    /// report for the quarter.
    pub fn add_loans(
        &mut self,
        text: &str,
        origin: &str,
        rules: &IncentiveRules,
        errs: &mut Vec<FieldViolation>,
    ) {
        let Some(mut rows) = open(
            text,
            origin,
            &[
                "bank_id",
                "period",
                "loan_id",
                "borrower_id",
                "borrower_type",
                "purpose",
                "credit_line",
                "balance",
            ],
            errs,
        ) else {
            return;
        };
        let mut snaps: BTreeMap<(String, Quarter), Vec<LoanRecord>> = BTreeMap::new();
        let mut ids: BTreeMap<(String, Quarter), super::LoanIds> = BTreeMap::new();
        let banks = &self.banks;
        rows.each(errs, |line, f, errs| {
            if !banks.contains_key(f[0]) {
                err(errs, origin, line, "bank_id", format!("unknown bank `{}` (give it in --banks or --reports)", f[0]));
            }
            let period = quarter(errs, origin, line, f[1]);
            let loan_id = ids
                .entry((f[0].to_string(), period))
                .or_default()
                .admit(line, f[2], |l| format!("line {l}"))
                .unwrap_or_else(|why| {
                    err(errs, origin, line, "loan_id", why);
                    f[2].to_string()
                });
            let borrower_id = super::normalize_id(f[3]).unwrap_or_else(|why| {
                err(errs, origin, line, "borrower_id", why);
                f[3].to_string()
            });
            let borrower_type = BorrowerType::parse(f[4]).unwrap_or_else(|| {
                err(errs, origin, line, "borrower_type", format!("unknown borrower type `{}` (小微企业, 个体工商户, 小微企业主, 大中型企业, 其他个人)", f[4]));
                BorrowerType::OtherIndividual
            });
            let purpose = LoanUse::parse(f[5]).unwrap_or_else(|| {
                err(errs, origin, line, "purpose", format!("unknown purpose `{}` (经营性, 消费, 其他)", f[5]));
                LoanUse::Other
            });
            let rec = LoanRecord {
                loan_id,
                borrower_id,
                borrower_type,
                purpose,
                credit_line: money(errs, origin, line, "credit_line", f[6]),
                balance: money(errs, origin, line, "balance", f[7]),
            };
            snaps.entry((f[0].to_string(), period)).or_default().push(rec);
        });
        self.add_snapshots(snaps, origin, rules, errs);
    }

    /// Each (bank, quarter) snapshot's balance as that bank's report; a
    /// quarter with a reported balance too is an error.
    fn add_snapshots(
        &mut self,
        snaps: BTreeMap<(String, Quarter), Vec<LoanRecord>>,
        origin: &str,
        rules: &IncentiveRules,
        errs: &mut Vec<FieldViolation>,
    ) {
        for ((bank, period), loans) in snaps {
            let limit = match rules.line_limit_for(period) {
                Ok(l) => l,
                Err(why) => {
                    errs.push(FieldViolation::new(
                        origin,
                        format!("{bank} {period}: {why}"),
                    ));
                    continue;
                }
            };
            let s = super::snapshot_balance(&loans, limit);
            if self.reports.contains_key(&(bank.clone(), period)) {
                errs.push(FieldViolation::new(
                    origin,
                    format!("{bank} {period} has both a reported balance and a loan snapshot"),
                ));
            }
            self.reports.insert(
                (bank.clone(), period),
                BalanceReport {
                    bank_id: bank,
                    period,
                    balance: s.balance,
                    version: 1,
                    excluded: s.excluded,
                },
            );
        }
    }
}

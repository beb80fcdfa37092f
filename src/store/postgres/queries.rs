//! Reads shared by the store's calls: a bank, the banks, a stored report, a
//! statement.

use postgres::GenericClient;

use super::*;
use crate::incentive::{BalanceReport, Bank, Excluded, InstitutionType, Quarter, Statement};
use crate::kernel::money::Yuan;
use crate::store::{StoreError, StoredReport, StoredStatement};

pub(super) fn bank_in(c: &mut impl GenericClient, id: &str) -> Result<Option<Bank>, Failure> {
    let row = c.query_opt(
        "SELECT bank_id, name, institution_type FROM banks WHERE bank_id = $1",
        &[&id],
    )?;
    let Some(row) = row else { return Ok(None) };
    let t: String = row.get(2);
    let institution_type = InstitutionType::parse(&t)
        .ok_or_else(|| StoreError::Corrupt(format!("institution type `{t}`")))?;
    Ok(Some(Bank {
        bank_id: row.get(0),
        name: row.get(1),
        institution_type,
    }))
}

pub(super) fn banks_in(
    c: &mut impl GenericClient,
    only: Option<&str>,
    offset: u64,
    limit: u64,
) -> Result<Vec<Bank>, Failure> {
    let rows = c.query(
        "SELECT bank_id, name, institution_type FROM banks WHERE ($1::TEXT IS NULL OR bank_id = $1)
         ORDER BY bank_id LIMIT $2 OFFSET $3",
        &[&only, &bound(limit), &bound(offset)],
    )?;
    rows.iter()
        .map(|row| {
            let t: String = row.get(2);
            let institution_type = InstitutionType::parse(&t)
                .ok_or_else(|| StoreError::Corrupt(format!("institution type `{t}`")))?;
            Ok(Bank {
                bank_id: row.get(0),
                name: row.get(1),
                institution_type,
            })
        })
        .collect()
}

pub(super) fn report_by_id(c: &mut impl GenericClient, id: i64) -> Result<StoredReport, Failure> {
    let row = c.query_one(
        "SELECT bank_id, period, version, balance_fen, source, loans, excluded_json, request_id, submitted_by, submitted_at
         FROM reports WHERE id = $1",
        &[&id],
    )?;
    let period: String = row.get(1);
    let period: Quarter = period.parse().map_err(StoreError::Corrupt)?;
    let excluded: String = row.get(6);
    let excluded: Vec<Excluded> =
        serde_json::from_str(&excluded).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    let version: i32 = row.get(2);
    let loans: i64 = row.get(5);
    Ok(StoredReport {
        report: BalanceReport {
            bank_id: row.get(0),
            period,
            balance: Yuan::from_fen(row.get(3)),
            version: version as u32,
            excluded,
        },
        source: row.get(4),
        loans: loans as u64,
        request_id: row.get(7),
        submitted_by: row.get(8),
        submitted_at: row.get(9),
    })
}

pub(super) fn statement_in(
    c: &mut impl GenericClient,
    period: Quarter,
    version: Option<u32>,
) -> Result<Option<StoredStatement>, Failure> {
    let version = version.map(|v| i32::try_from(v).unwrap_or(i32::MAX));
    let row = c.query_opt(
        "SELECT json, computed_by, computed_at FROM statements
         WHERE period = $1 AND ($2::INTEGER IS NULL OR version = $2) ORDER BY version DESC LIMIT 1",
        &[&period.to_string(), &version],
    )?;
    let Some(row) = row else { return Ok(None) };
    let json: String = row.get(0);
    let statement: Statement =
        serde_json::from_str(&json).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    Ok(Some(StoredStatement {
        statement,
        computed_by: row.get(1),
        computed_at: row.get(2),
    }))
}

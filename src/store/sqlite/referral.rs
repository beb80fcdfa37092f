//! Campaigns, leads and outcomes in the embedded SQLite.

use rusqlite::{Connection, OptionalExtension, Transaction, params};

use super::Store;
use crate::matching::leads::Lead;
use crate::matching::referral::{OutcomeRecord, OutcomeReport};
use crate::store::referral::{
    Campaign, LeadFilter, NewCampaign, ReferralStore, StoredLead, from_json, name_taken, no_lead,
    outcome_reused, repeated_campaign, to_json,
};
use crate::store::{StoreError, now};

/// The tables (migration 3); PostgreSQL's are the same shape.
pub(super) const SCHEMA: &str = "CREATE TABLE campaigns (
        campaign_id TEXT PRIMARY KEY,
        as_of TEXT NOT NULL,
        firms INTEGER NOT NULL,
        invalid INTEGER NOT NULL,
        leads INTEGER NOT NULL,
        already_json TEXT NOT NULL,
        request_scope TEXT NOT NULL,
        request_id TEXT NOT NULL,
        content_hash TEXT NOT NULL,
        created_by TEXT NOT NULL,
        created_at TEXT NOT NULL,
        UNIQUE (request_scope, request_id)
     );
     CREATE TABLE leads (
        seq INTEGER PRIMARY KEY,
        lead_id TEXT NOT NULL UNIQUE,
        campaign_id TEXT NOT NULL REFERENCES campaigns(campaign_id),
        product_id TEXT NOT NULL,
        bank_id TEXT,
        json TEXT NOT NULL,
        outcome_version INTEGER NOT NULL DEFAULT 0
     );
     CREATE INDEX leads_by_campaign ON leads (campaign_id, seq);
     CREATE INDEX leads_by_bank ON leads (bank_id, seq);
     CREATE INDEX leads_by_campaign_bank ON leads (campaign_id, bank_id, seq);
     CREATE TABLE lead_outcomes (
        lead_id TEXT NOT NULL REFERENCES leads(lead_id),
        version INTEGER NOT NULL,
        json TEXT NOT NULL,
        request_scope TEXT NOT NULL,
        request_id TEXT NOT NULL,
        content_hash TEXT NOT NULL,
        recorded_by TEXT NOT NULL,
        recorded_at TEXT NOT NULL,
        PRIMARY KEY (lead_id, version),
        UNIQUE (request_scope, request_id)
     );";

const CAMPAIGN_COLUMNS: &str = "campaign_id, as_of, firms, invalid, leads, already_json, request_id, created_by, created_at, content_hash";

fn campaign_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<(Campaign, String)> {
    let as_of: String = r.get(1)?;
    let already: String = r.get(5)?;
    let bad = |e: String| {
        rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, e.into())
    };
    Ok((
        Campaign {
            id: r.get(0)?,
            as_of: as_of
                .parse()
                .map_err(|e: chrono::ParseError| bad(e.to_string()))?,
            firms: r.get::<_, i64>(2)? as u64,
            invalid: r.get::<_, i64>(3)? as u64,
            leads: r.get::<_, i64>(4)? as u64,
            already: serde_json::from_str(&already).map_err(|e| bad(e.to_string()))?,
            request_id: r.get(6)?,
            created_by: r.get(7)?,
            created_at: r.get(8)?,
        },
        r.get(9)?,
    ))
}

fn campaign_in(c: &Connection, id: &str) -> Result<Option<(Campaign, String)>, StoreError> {
    Ok(c.query_row(
        &format!("SELECT {CAMPAIGN_COLUMNS} FROM campaigns WHERE campaign_id = ?1"),
        [id],
        campaign_row,
    )
    .optional()?)
}

/// The leads and their latest outcomes, `{}` the query choosing the leads
/// (limited before the join, so a page joins only its own rows).
const LEAD_SELECT: &str = "SELECT l.seq, l.campaign_id, l.json, o.json, o.version, o.request_id, o.recorded_by, o.recorded_at
     FROM ({}) l LEFT JOIN lead_outcomes o ON o.lead_id = l.lead_id AND o.version = l.outcome_version ORDER BY l.seq";

type LeadColumns = (
    i64,
    String,
    String,
    Option<String>,
    Option<i64>,
    Option<String>,
    Option<String>,
    Option<String>,
);

fn lead_columns(r: &rusqlite::Row<'_>) -> rusqlite::Result<LeadColumns> {
    Ok((
        r.get(0)?,
        r.get(1)?,
        r.get(2)?,
        r.get(3)?,
        r.get(4)?,
        r.get(5)?,
        r.get(6)?,
        r.get(7)?,
    ))
}

fn stored_lead(c: LeadColumns) -> Result<StoredLead, StoreError> {
    let (seq, campaign_id, json, outcome, version, request_id, by, at) = c;
    let lead: Lead = from_json(&json)?;
    let latest = match (outcome, version, request_id, by, at) {
        (Some(o), Some(v), Some(request_id), Some(recorded_by), Some(recorded_at)) => {
            Some(OutcomeRecord {
                lead_id: lead.id.clone(),
                version: v as u32,
                report: from_json(&o)?,
                request_id,
                recorded_by,
                recorded_at,
            })
        }
        _ => None,
    };
    Ok(StoredLead {
        seq: seq as u64,
        campaign_id,
        lead,
        latest,
    })
}

fn insert_leads(tx: &Transaction<'_>, campaign: &str, leads: &[Lead]) -> Result<(), StoreError> {
    let mut st = tx.prepare(
        "INSERT INTO leads (lead_id, campaign_id, product_id, bank_id, json) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?;
    for l in leads {
        st.execute(params![
            l.id,
            campaign,
            l.product_id,
            l.bank_id,
            to_json(l)?
        ])?;
    }
    Ok(())
}

fn outcome_of(
    tx: &Transaction<'_>,
    lead_id: &str,
    version: i64,
) -> Result<OutcomeRecord, StoreError> {
    let (json, request_id, recorded_by, recorded_at): (String, String, String, String) = tx
        .query_row(
            "SELECT json, request_id, recorded_by, recorded_at FROM lead_outcomes WHERE lead_id = ?1 AND version = ?2",
            params![lead_id, version],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )?;
    Ok(OutcomeRecord {
        lead_id: lead_id.to_string(),
        version: version as u32,
        report: from_json(&json)?,
        request_id,
        recorded_by,
        recorded_at,
    })
}

impl ReferralStore for Store {
    fn save_campaign(
        &self,
        request_id: &str,
        content_hash: &str,
        by: &str,
        campaign: &NewCampaign,
        leads: &[Lead],
    ) -> Result<Campaign, StoreError> {
        let mut conn = self.lock();
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let prior = tx
            .query_row(
                &format!(
                    "SELECT {CAMPAIGN_COLUMNS} FROM campaigns WHERE request_scope = ?1 AND request_id = ?2"
                ),
                [by, request_id],
                campaign_row,
            )
            .optional()?;
        if let Some((c, hash)) = prior {
            return repeated_campaign(c, &hash, content_hash, request_id);
        }
        if campaign_in(&tx, &campaign.id)?.is_some() {
            return Err(name_taken(&campaign.id));
        }
        tx.execute(
            "INSERT INTO campaigns (campaign_id, as_of, firms, invalid, leads, already_json, request_scope, request_id, content_hash, created_by, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?7, ?10)",
            params![
                campaign.id,
                campaign.as_of.to_string(),
                campaign.firms as i64,
                campaign.invalid as i64,
                leads.len() as i64,
                to_json(&campaign.already)?,
                by,
                request_id,
                content_hash,
                now()
            ],
        )?;
        insert_leads(&tx, &campaign.id, leads)?;
        let stored = campaign_in(&tx, &campaign.id)?
            .ok_or_else(|| StoreError::Corrupt("campaign vanished".into()))?;
        tx.commit()?;
        Ok(stored.0)
    }

    fn campaign(&self, id: &str) -> Result<Option<Campaign>, StoreError> {
        Ok(campaign_in(&self.lock(), id)?.map(|c| c.0))
    }

    fn campaigns(&self, offset: u64, limit: u64) -> Result<Vec<Campaign>, StoreError> {
        let conn = self.lock();
        let mut st = conn.prepare(&format!(
            "SELECT {CAMPAIGN_COLUMNS} FROM campaigns ORDER BY created_at, campaign_id LIMIT ?1 OFFSET ?2"
        ))?;
        let rows = st.query_map(params![bound(limit), bound(offset)], campaign_row)?;
        Ok(rows.map(|r| r.map(|c| c.0)).collect::<Result<_, _>>()?)
    }

    fn leads(
        &self,
        filter: &LeadFilter,
        after: u64,
        limit: u64,
    ) -> Result<Vec<StoredLead>, StoreError> {
        let conn = self.lock();
        let mut st = conn.prepare(&LEAD_SELECT.replace(
            "{}",
            "SELECT seq, campaign_id, lead_id, json, outcome_version FROM leads
             WHERE seq > ?1 AND (?2 IS NULL OR campaign_id = ?2)
             AND (?3 IS NULL OR bank_id = ?3) AND (?4 IS NULL OR product_id = ?4)
             ORDER BY seq LIMIT ?5",
        ))?;
        let rows = st.query_map(
            params![
                bound(after),
                filter.campaign,
                filter.bank,
                filter.product,
                bound(limit)
            ],
            lead_columns,
        )?;
        rows.map(|r| stored_lead(r?)).collect()
    }

    fn lead(&self, id: &str, bank: Option<&str>) -> Result<Option<StoredLead>, StoreError> {
        let conn = self.lock();
        let row = conn
            .query_row(
                &LEAD_SELECT.replace(
                    "{}",
                    "SELECT seq, campaign_id, lead_id, json, outcome_version FROM leads
                     WHERE lead_id = ?1 AND (?2 IS NULL OR bank_id = ?2)",
                ),
                params![id, bank],
                lead_columns,
            )
            .optional()?;
        row.map(stored_lead).transpose()
    }

    fn report_outcome(
        &self,
        request_id: &str,
        content_hash: &str,
        by: &str,
        lead_id: &str,
        bank: Option<&str>,
        report: &OutcomeReport,
    ) -> Result<OutcomeRecord, StoreError> {
        let mut conn = self.lock();
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let prior: Option<(String, i64, String)> = tx
            .query_row(
                "SELECT lead_id, version, content_hash FROM lead_outcomes WHERE request_scope = ?1 AND request_id = ?2",
                [by, request_id],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()?;
        if let Some((lead, version, hash)) = prior {
            if hash != content_hash || lead != lead_id {
                return Err(outcome_reused(request_id));
            }
            return outcome_of(&tx, &lead, version);
        }
        let version: Option<i64> = tx
            .query_row(
                "SELECT outcome_version FROM leads WHERE lead_id = ?1 AND (?2 IS NULL OR bank_id = ?2)",
                params![lead_id, bank],
                |r| r.get(0),
            )
            .optional()?;
        let version = version.ok_or_else(|| no_lead(lead_id))? + 1;
        tx.execute(
            "INSERT INTO lead_outcomes (lead_id, version, json, request_scope, request_id, content_hash, recorded_by, recorded_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?4, ?7)",
            params![lead_id, version, to_json(report)?, by, request_id, content_hash, now()],
        )?;
        tx.execute(
            "UPDATE leads SET outcome_version = ?2 WHERE lead_id = ?1",
            params![lead_id, version],
        )?;
        let out = outcome_of(&tx, lead_id, version)?;
        tx.commit()?;
        Ok(out)
    }

    fn outcomes(&self, lead_id: &str) -> Result<Vec<OutcomeRecord>, StoreError> {
        let conn = self.lock();
        let mut st = conn.prepare(
            "SELECT version, json, request_id, recorded_by, recorded_at FROM lead_outcomes WHERE lead_id = ?1 ORDER BY version",
        )?;
        let rows = st.query_map([lead_id], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
            ))
        })?;
        rows.map(|r| {
            let (version, json, request_id, recorded_by, recorded_at) = r?;
            Ok(OutcomeRecord {
                lead_id: lead_id.to_string(),
                version: version as u32,
                report: from_json(&json)?,
                request_id,
                recorded_by,
                recorded_at,
            })
        })
        .collect()
    }
}

fn bound(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

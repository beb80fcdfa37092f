//! Campaigns, leads and outcomes in PostgreSQL: SQLite's behaviour, with
//! transaction-scoped advisory locks on each request id (then on the lead)
//! so that replicas racing on one request or one lead store it once and
//! number versions without a gap.

use postgres::GenericClient;
use postgres::binary_copy::BinaryCopyInWriter;
use postgres::types::Type;

use super::errors::Failure;
use super::{PgStore, bound};
use crate::matching::leads::Lead;
use crate::matching::referral::{OutcomeRecord, OutcomeReport};
use crate::store::referral::{
    Campaign, LeadFilter, NewCampaign, ReferralStore, StoredLead, from_json, name_taken, no_lead,
    outcome_reused, repeated_campaign, to_json,
};
use crate::store::{StoreError, now};

/// The tables (migration 2); the same shape as SQLite's.
pub(super) const SCHEMA: &str = "CREATE TABLE campaigns (
        campaign_id TEXT PRIMARY KEY,
        as_of TEXT NOT NULL,
        firms BIGINT NOT NULL,
        invalid BIGINT NOT NULL,
        leads BIGINT NOT NULL,
        already_json TEXT NOT NULL,
        request_scope TEXT NOT NULL,
        request_id TEXT NOT NULL,
        content_hash TEXT NOT NULL,
        created_by TEXT NOT NULL,
        created_at TEXT NOT NULL,
        UNIQUE (request_scope, request_id)
     );
     CREATE TABLE leads (
        seq BIGSERIAL PRIMARY KEY,
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

fn campaign_row(r: &postgres::Row) -> Result<(Campaign, String), Failure> {
    let as_of: String = r.get(1);
    let already: String = r.get(5);
    let n = |i: usize| r.get::<_, i64>(i) as u64;
    Ok((
        Campaign {
            id: r.get(0),
            as_of: as_of
                .parse()
                .map_err(|e: chrono::ParseError| StoreError::Corrupt(e.to_string()))?,
            firms: n(2),
            invalid: n(3),
            leads: n(4),
            already: from_json(&already)?,
            request_id: r.get(6),
            created_by: r.get(7),
            created_at: r.get(8),
        },
        r.get(9),
    ))
}

fn campaign_in(
    c: &mut impl GenericClient,
    id: &str,
) -> Result<Option<(Campaign, String)>, Failure> {
    let row = c.query_opt(
        &format!("SELECT {CAMPAIGN_COLUMNS} FROM campaigns WHERE campaign_id = $1"),
        &[&id],
    )?;
    row.as_ref().map(campaign_row).transpose()
}

/// The leads and their latest outcomes, `{}` the query choosing the leads
/// (limited before the join, so a page joins only its own rows).
const LEAD_SELECT: &str = "SELECT l.seq, l.campaign_id, l.json, o.json, o.version, o.request_id, o.recorded_by, o.recorded_at
     FROM ({}) l LEFT JOIN lead_outcomes o ON o.lead_id = l.lead_id AND o.version = l.outcome_version ORDER BY l.seq";

fn stored_lead(r: &postgres::Row) -> Result<StoredLead, Failure> {
    let seq: i64 = r.get(0);
    let json: String = r.get(2);
    let lead: Lead = from_json(&json)?;
    let outcome: Option<String> = r.get(3);
    let latest = match outcome {
        Some(o) => {
            let version: i32 = r.get(4);
            Some(OutcomeRecord {
                lead_id: lead.id.clone(),
                version: version as u32,
                report: from_json(&o)?,
                request_id: r.get(5),
                recorded_by: r.get(6),
                recorded_at: r.get(7),
            })
        }
        None => None,
    };
    Ok(StoredLead {
        seq: seq as u64,
        campaign_id: r.get(1),
        lead,
        latest,
    })
}

fn outcome_of(
    c: &mut impl GenericClient,
    lead_id: &str,
    version: i32,
) -> Result<OutcomeRecord, Failure> {
    let r = c.query_one(
        "SELECT json, request_id, recorded_by, recorded_at FROM lead_outcomes WHERE lead_id = $1 AND version = $2",
        &[&lead_id, &version],
    )?;
    let json: String = r.get(0);
    Ok(OutcomeRecord {
        lead_id: lead_id.to_string(),
        version: version as u32,
        report: from_json(&json)?,
        request_id: r.get(1),
        recorded_by: r.get(2),
        recorded_at: r.get(3),
    })
}

fn copy_leads(
    tx: &mut postgres::Transaction<'_>,
    campaign: &str,
    leads: &[Lead],
) -> Result<(), Failure> {
    let sink = tx.copy_in(
        "COPY leads (lead_id, campaign_id, product_id, bank_id, json) FROM STDIN BINARY",
    )?;
    let mut w = BinaryCopyInWriter::new(
        sink,
        &[Type::TEXT, Type::TEXT, Type::TEXT, Type::TEXT, Type::TEXT],
    );
    for l in leads {
        let json = to_json(l)?;
        w.write(&[&l.id, &campaign, &l.product_id, &l.bank_id, &json])?;
    }
    w.finish()?;
    Ok(())
}

/// Takes the transaction's lock on a caller's request id.
fn lock_request(
    tx: &mut postgres::Transaction<'_>,
    kind: &str,
    by: &str,
    request_id: &str,
) -> Result<(), Failure> {
    tx.execute(
        "SELECT pg_advisory_xact_lock(hashtextextended($1::TEXT || '/' || $2::TEXT || '/' || $3::TEXT, 0))",
        &[&kind, &by, &request_id],
    )?;
    Ok(())
}

impl ReferralStore for PgStore {
    fn save_campaign(
        &self,
        request_id: &str,
        content_hash: &str,
        by: &str,
        campaign: &NewCampaign,
        leads: &[Lead],
    ) -> Result<Campaign, StoreError> {
        self.transact(|tx| {
            lock_request(tx, "campaign", by, request_id)?;
            let prior = tx.query_opt(
                &format!(
                    "SELECT {CAMPAIGN_COLUMNS} FROM campaigns WHERE request_scope = $1 AND request_id = $2"
                ),
                &[&by, &request_id],
            )?;
            if let Some(row) = prior {
                let (c, hash) = campaign_row(&row)?;
                return Ok(repeated_campaign(c, &hash, content_hash, request_id)?);
            }
            lock_request(tx, "campaign-name", "", &campaign.id)?;
            if campaign_in(tx, &campaign.id)?.is_some() {
                return Err(name_taken(&campaign.id).into());
            }
            tx.execute(
                "INSERT INTO campaigns (campaign_id, as_of, firms, invalid, leads, already_json, request_scope, request_id, content_hash, created_by, created_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $7, $10)",
                &[
                    &campaign.id,
                    &campaign.as_of.to_string(),
                    &bound(campaign.firms),
                    &bound(campaign.invalid),
                    &bound(leads.len() as u64),
                    &to_json(&campaign.already)?,
                    &by,
                    &request_id,
                    &content_hash,
                    &now(),
                ],
            )?;
            copy_leads(tx, &campaign.id, leads)?;
            // (fresh statistics, so pages are read by index from the start)
            tx.batch_execute("ANALYZE leads")?;
            campaign_in(tx, &campaign.id)?
                .map(|c| c.0)
                .ok_or_else(|| StoreError::Corrupt("campaign vanished".into()).into())
        })
    }

    fn campaign(&self, id: &str) -> Result<Option<Campaign>, StoreError> {
        self.read(|c| Ok(campaign_in(c, id)?.map(|c| c.0)))
    }

    fn campaigns(&self, offset: u64, limit: u64) -> Result<Vec<Campaign>, StoreError> {
        self.read(|c| {
            let rows = c.query(
                &format!(
                    "SELECT {CAMPAIGN_COLUMNS} FROM campaigns ORDER BY created_at, campaign_id LIMIT $1 OFFSET $2"
                ),
                &[&bound(limit), &bound(offset)],
            )?;
            rows.iter().map(|r| campaign_row(r).map(|c| c.0)).collect()
        })
    }

    fn leads(
        &self,
        filter: &LeadFilter,
        after: u64,
        limit: u64,
    ) -> Result<Vec<StoredLead>, StoreError> {
        // Only the filters given are in the query, so the planner picks the
        // index for them ((bank_id, seq) or (campaign_id, seq)); one query
        // with `$n IS NULL OR …` for each would be planned for none.
        let (after, limit) = (bound(after), bound(limit));
        let mut sql =
            "SELECT seq, campaign_id, lead_id, json, outcome_version FROM leads WHERE seq > $1"
                .to_string();
        let mut params: Vec<&(dyn postgres::types::ToSql + Sync)> = vec![&after];
        for (column, value) in [
            ("campaign_id", &filter.campaign),
            ("bank_id", &filter.bank),
            ("product_id", &filter.product),
        ] {
            if let Some(v) = value {
                params.push(v);
                sql.push_str(&format!(" AND {column} = ${}", params.len()));
            }
        }
        params.push(&limit);
        sql.push_str(&format!(" ORDER BY seq LIMIT ${}", params.len()));
        let sql = LEAD_SELECT.replace("{}", &sql);
        self.read(|c| {
            let rows = c.query(sql.as_str(), &params)?;
            rows.iter().map(stored_lead).collect()
        })
    }

    fn lead(&self, id: &str, bank: Option<&str>) -> Result<Option<StoredLead>, StoreError> {
        self.read(|c| {
            let row = c.query_opt(
                &LEAD_SELECT.replace(
                    "{}",
                    "SELECT seq, campaign_id, lead_id, json, outcome_version FROM leads
                     WHERE lead_id = $1 AND ($2::TEXT IS NULL OR bank_id = $2)",
                ),
                &[&id, &bank],
            )?;
            row.as_ref().map(stored_lead).transpose()
        })
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
        let json = to_json(report)?;
        self.transact(|tx| {
            lock_request(tx, "outcome", by, request_id)?;
            let prior = tx.query_opt(
                "SELECT lead_id, version, content_hash FROM lead_outcomes WHERE request_scope = $1 AND request_id = $2",
                &[&by, &request_id],
            )?;
            if let Some(row) = prior {
                let (lead, version, hash): (String, i32, String) =
                    (row.get(0), row.get(1), row.get(2));
                if hash != content_hash || lead != lead_id {
                    return Err(outcome_reused(request_id).into());
                }
                return outcome_of(tx, &lead, version);
            }
            let row = tx.query_opt(
                "SELECT outcome_version FROM leads WHERE lead_id = $1 AND ($2::TEXT IS NULL OR bank_id = $2) FOR UPDATE",
                &[&lead_id, &bank],
            )?;
            let version: i32 = row.ok_or_else(|| no_lead(lead_id))?.get::<_, i32>(0) + 1;
            tx.execute(
                "INSERT INTO lead_outcomes (lead_id, version, json, request_scope, request_id, content_hash, recorded_by, recorded_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $4, $7)",
                &[&lead_id, &version, &json, &by, &request_id, &content_hash, &now()],
            )?;
            tx.execute(
                "UPDATE leads SET outcome_version = $2 WHERE lead_id = $1",
                &[&lead_id, &version],
            )?;
            outcome_of(tx, lead_id, version)
        })
    }

    fn outcomes(&self, lead_id: &str) -> Result<Vec<OutcomeRecord>, StoreError> {
        self.read(|c| {
            let rows = c.query(
                "SELECT version FROM lead_outcomes WHERE lead_id = $1 ORDER BY version",
                &[&lead_id],
            )?;
            let versions: Vec<i32> = rows.iter().map(|r| r.get(0)).collect();
            versions
                .into_iter()
                .map(|v| outcome_of(c, lead_id, v))
                .collect()
        })
    }
}

//! ProjectPool: the pool as it stands, projected over the roll rates of its
//! own history (see [`crate::ledger::project`]); bureau and analyst.

use crate::ledger::project::{self as proj, Options, Projection};
use crate::ledger::rolls::{self, Prior, RollRates, STATES};

use super::*;

/// Most scenarios × loans one projection may run.
const MAX_WORK: u64 = 10_000_000_000;

/// The options of a request, or every problem with its fields.
fn options(r: &pb::ProjectPoolRequest) -> Result<(Options, Prior), Vec<FieldViolation>> {
    let d = Options::default();
    let mut errs = Vec::new();
    let new_lending = r.new_lending.as_deref().and_then(|t| {
        proj::new_lending(t)
            .map_err(|why| errs.push(FieldViolation::new("new_lending", why)))
            .ok()
    });
    let o = Options {
        months: if r.months == 0 { d.months } else { r.months },
        scenarios: if r.scenarios == 0 {
            d.scenarios
        } else {
            r.scenarios
        },
        seed: if r.seed == 0 { d.seed } else { r.seed },
        rho: r.rho.unwrap_or(d.rho),
        claim_lag: r.claim_lag.unwrap_or(d.claim_lag),
        claim_batch: r.claim_batch.unwrap_or(d.claim_batch),
        recovery_rate: r.recovery_rate.unwrap_or(d.recovery_rate),
        recovery_lag: r.recovery_lag.unwrap_or(d.recovery_lag),
        target: r.target.unwrap_or(d.target),
        top_up_rule: r.top_up_rule.unwrap_or(true),
        new_lending,
    };
    let strength = r.prior_strength.unwrap_or(Prior::default().strength);
    let mut problems = o.problems();
    if !(100..=1_000_000).contains(&o.scenarios) {
        problems.push(("scenarios", "must be 100 to 1,000,000"));
    }
    if !(strength.is_finite() && (0.0..=1e9).contains(&strength)) {
        problems.push((
            "prior_strength",
            "must be a number of pseudo-loans from 0 to 1e9",
        ));
    }
    errs.extend(
        problems
            .into_iter()
            .map(|(f, why)| FieldViolation::new(f, why)),
    );
    if !errs.is_empty() {
        return Err(errs);
    }
    Ok((
        o,
        Prior {
            strength,
            ..Prior::default()
        },
    ))
}

impl LedgerSvc {
    /// Projects the pool.
    pub(super) async fn project(
        &self,
        who: Principal,
        r: pb::ProjectPoolRequest,
    ) -> Result<Response<pb::ProjectPoolResponse>, Status> {
        if matches!(who, Principal::Bank(_)) {
            return Err(denied(
                &who,
                "project the pool (it shows every bank's loans)",
            ));
        }
        let mut errs = Vec::new();
        pool(&r.pool_id, &mut errs);
        let as_of = date(&r.as_of, "as_of", &mut errs);
        let (o, prior) = match options(&r) {
            Ok(x) if errs.is_empty() => x,
            Ok(_) => return Err(invalid(errs)),
            Err(more) => {
                errs.extend(more);
                return Err(invalid(errs));
            }
        };
        let permit = self.projections.clone().try_acquire_owned().map_err(|_| {
            Status::from(ApiError::ResourceExhausted(
                "projections are already running on every core; retry later".into(),
            ))
        })?;
        let (programmes, pool_id) = (self.programmes.clone(), r.pool_id);
        let (rolls, r) = crate::server::on_store(&self.store, move |store| {
            let _permit = permit;
            let p = programme_of(store, &programmes, &pool_id)?;
            let (rolls, book) = rolls::estimate_from(
                p,
                |f| store.visit(&pool_id, as_of, None, f),
                as_of,
                &prior,
            )?;
            let work = u64::from(o.scenarios) * book.loans.len() as u64;
            if work > MAX_WORK {
                return Err(StoreError::Quota(format!(
                    "{} scenarios over {} loans is past the limit of {MAX_WORK} scenario-loans; ask for at most {}",
                    o.scenarios,
                    book.loans.len(),
                    MAX_WORK / book.loans.len().max(1) as u64
                )));
            }
            let r = proj::project(&book, as_of, &proj::matrix(&rolls), &o);
            Ok((rolls, r))
        })
        .await?;
        Ok(Response::new(wire(&rolls, &r)))
    }
}

fn claims(bank: &str, c: &[Yuan; 3]) -> pb::ProjectedClaims {
    pb::ProjectedClaims {
        bank_id: bank.into(),
        mean: c[0].to_fen_string(),
        p95: c[1].to_fen_string(),
        p99: c[2].to_fen_string(),
    }
}

fn wire(rolls: &RollRates, r: &Projection) -> pb::ProjectPoolResponse {
    pb::ProjectPoolResponse {
        as_of: r.as_of.to_string(),
        cash: r.cash.to_fen_string(),
        committed: r.committed.to_fen_string(),
        pipeline_claims: r.pipeline_claims.to_fen_string(),
        suspended_now: r.suspended_now,
        months: r
            .cash_fan
            .iter()
            .enumerate()
            .map(|(m, fan)| pb::ProjectedMonth {
                month: m as u32 + 1,
                exhausted_by: r.exhausted_by[m],
                tripped_by: r.tripped_by[m],
                cash_fan: fan.iter().map(|y| y.to_fen_string()).collect(),
                top_up: r.top_ups[m].to_fen_string(),
            })
            .collect(),
        claims: std::iter::once(claims("", &r.claims))
            .chain(r.claims_by_bank.iter().map(|(b, c)| claims(b, c)))
            .collect(),
        top_up_for_target: r
            .top_up_for_target
            .map_or(String::new(), |y| y.to_fen_string()),
        new_lending: r.new_lending[0].to_fen_string(),
        new_loan_size: r.new_lending[1].to_fen_string(),
        new_lent: r.new_lent.to_fen_string(),
        top_ups: Some(pb::MoneySpread {
            mean: r.top_up_total[0].to_fen_string(),
            p95: r.top_up_total[1].to_fen_string(),
            p99: r.top_up_total[2].to_fen_string(),
        }),
        roll_rates: rolls
            .rates
            .iter()
            .enumerate()
            .flat_map(|(i, row)| {
                row.iter().enumerate().map(move |(j, x)| pb::RollRate {
                    from: STATES[i].into(),
                    to: STATES[j].into(),
                    count: x.count,
                    estimate: x.estimate,
                    low: x.low,
                    high: x.high,
                })
            })
            .collect(),
        history_months: rolls.month_ends.len().saturating_sub(1) as u32,
    }
}

//! SimulatePool's `from_pool`: the pool the ledger holds as the
//! simulator's book ([`crate::livebook`]), read from the store on a
//! blocking thread.

use crate::ledger::rolls;
use crate::livebook::{self, Options};
use crate::riskpool::spec::Spec;

use super::*;

/// The request's options, the defaults for those not given.
fn options(r: &pb::LivePool) -> Options {
    let d = Options::default();
    Options {
        rho: r.rho.unwrap_or(d.rho),
        recovery_rate: r.recovery_rate.unwrap_or(d.recovery_rate),
        prior_strength: r.prior_strength.unwrap_or(d.prior_strength),
    }
}

/// A problem with one of `from_pool`'s fields.
fn refused(p: livebook::Problem) -> Status {
    invalid(vec![FieldViolation::new(
        format!("from_pool.{}", p.field),
        p.why,
    )])
}

impl LedgerSvc {
    /// Pool `r.pool_id` as the simulator's book, and how it was built.
    pub(crate) async fn live_spec(&self, r: pb::LivePool) -> Result<(Spec, Vec<String>), Status> {
        let mut errs = Vec::new();
        pool(&r.pool_id, &mut errs);
        let as_of = date(&r.as_of, "as_of", &mut errs);
        if !errs.is_empty() {
            for e in &mut errs {
                e.field = format!("from_pool.{}", e.field);
            }
            return Err(invalid(errs));
        }
        let o = options(&r);
        o.check().map_err(refused)?;
        let scenarios = (r.scenarios > 0).then_some(r.scenarios);
        let seed = (r.seed > 0).then_some(r.seed);
        let (programmes, pool_id) = (self.programmes.clone(), r.pool_id);
        let built = crate::server::on_store(&self.store, move |store| {
            let p = programme_of(store, &programmes, &pool_id)?;
            let (rates, book) = rolls::estimate_from(
                p,
                |f| store.visit(&pool_id, as_of, None, f),
                as_of,
                &o.prior(),
            )?;
            Ok(livebook::spec(
                &pool_id,
                p,
                (&book, &rates),
                as_of,
                &o,
                (scenarios, seed),
            ))
        })
        .await?;
        built.map_err(refused)
    }
}

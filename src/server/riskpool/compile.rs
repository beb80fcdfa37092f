//! Compiling a SimulatePool, RunStressGrid or SolveLeverage request's
//! spec off the async runtime: the request's own, or a pool the ledger
//! holds (`from_pool`).

use tonic::Status;

use super::RiskPoolSvc;
use crate::kernel::violation::FieldViolation;
use crate::riskpool::{Model, Spec};
use crate::server::error::ApiError;
use crate::server::pb;

impl RiskPoolSvc {
    /// The model of a SimulatePool request: its spec's, or the pool's the
    /// ledger holds (`from_pool`), with how that book was built.
    pub(super) async fn model_of(
        &self,
        spec: Option<pb::PoolSpec>,
        from_pool: Option<pb::LivePool>,
    ) -> Result<(Model, Vec<String>), Status> {
        let Some(live) = from_pool else {
            return Ok((self.compile(spec, 1).await?.1, Vec::new()));
        };
        let invalid = |field: &str, why: &str| -> Status {
            ApiError::InvalidArgument {
                reason: "INVALID_SPEC",
                violations: vec![FieldViolation::new(field, why)],
            }
            .into()
        };
        if spec.is_some() {
            return Err(invalid("from_pool", "give a spec or from_pool, not both"));
        }
        let Some(ledger) = &self.ledger else {
            return Err(invalid("from_pool", "this server holds no ledger"));
        };
        let (built, notes) = ledger.live_spec(live).await?;
        Ok((self.compile_from(Some(built), None, 1).await?.1, notes))
    }

    /// Parses and compiles a request's spec off the async runtime (a spec
    /// of a million loans is real work), checking the work of `runs` runs
    /// of it against `riskpool.max_work`.
    pub(super) async fn compile(
        &self,
        spec: Option<pb::PoolSpec>,
        runs: u64,
    ) -> Result<(Spec, Model), ApiError> {
        self.compile_from(None, spec, runs).await
    }

    /// [`RiskPoolSvc::compile`] of a spec `built` here, or else of the
    /// request's `spec`.
    async fn compile_from(
        &self,
        built: Option<Spec>,
        spec: Option<pb::PoolSpec>,
        runs: u64,
    ) -> Result<(Spec, Model), ApiError> {
        let _turn = self
            .compiling
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| ApiError::stopped(false))?;
        let me = self.clone();
        tokio::task::spawn_blocking(move || {
            let spec = match built {
                Some(s) => s,
                None => me.spec(spec)?,
            };
            let model = me.model(&spec)?;
            let limits = me.cfg.limits();
            let errs = model
                .resources()
                .times(runs)
                .check(&limits, "spec.scenarios");
            if !errs.is_empty() {
                return Err(ApiError::InvalidArgument {
                    reason: "INVALID_SPEC",
                    violations: errs,
                });
            }
            Ok((spec, model))
        })
        .await
        .map_err(|e| ApiError::Stopped {
            deadline: false,
            message: format!("spec compilation failed: {e}"),
        })?
    }

    fn spec(&self, spec: Option<pb::PoolSpec>) -> Result<Spec, ApiError> {
        let invalid = |field: &str, m: String| ApiError::field("INVALID_SPEC", field, m);
        let pb::PoolSpec {
            document,
            scenarios,
            seed,
        } = spec.ok_or_else(|| invalid("spec", "is required".into()))?;
        let mut spec = match document {
            None => {
                return Err(invalid(
                    "spec.document",
                    "give the spec as `toml` or `json`".into(),
                ));
            }
            Some(pb::pool_spec::Document::Toml(t)) => {
                Spec::from_toml(&t).map_err(ApiError::spec)?
            }
            Some(pb::pool_spec::Document::Json(j)) => {
                Spec::from_json(&j).map_err(ApiError::spec)?
            }
        };
        if spec.portfolio.csv.is_some() {
            return Err(invalid(
                "spec.portfolio.csv",
                "server-side files are not read over RPC; send the loans inline".into(),
            ));
        }
        if scenarios > 0 {
            spec.scenarios = scenarios;
        }
        if let Some(s) = seed {
            spec.seed = s;
        }
        Ok(spec)
    }

    fn model(&self, spec: &Spec) -> Result<Model, ApiError> {
        Model::compile(spec, &self.cfg.limits()).map_err(ApiError::spec)
    }
}

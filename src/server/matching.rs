//! `smefin.v1.MatchingService`: convert the request, call the domain, convert
//! the result, map the error.

use std::pin::Pin;
use std::sync::Arc;

use chrono::NaiveDate;
use futures::Stream;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status, Streaming};

use crate::catalog::Catalog;
use crate::enterprise::Profile;
use crate::kernel::violation::FieldViolation;
use crate::matching::{self, MatchOptions};
use crate::server::error::{self, ApiError};
use crate::server::page::Page;
use crate::server::pb;

/// Default and maximum page sizes of ListProducts.
const DEFAULT_PAGE: u64 = 50;
const MAX_PAGE: u64 = 500;

/// The matching service.
#[derive(Debug, Clone)]
pub struct MatchingSvc {
    catalog: Arc<Catalog>,
    batch_buffer: usize,
}

impl MatchingSvc {
    /// A service over `catalog`; BatchMatch buffers at most `batch_buffer`
    /// responses per stream.
    pub fn new(catalog: Arc<Catalog>, batch_buffer: usize) -> Self {
        MatchingSvc {
            catalog,
            batch_buffer: batch_buffer.max(1),
        }
    }
}

fn parse_as_of(s: &str, field: &str, errs: &mut Vec<FieldViolation>) -> Option<NaiveDate> {
    if s.trim().is_empty() {
        return Some(crate::files::today_cst());
    }
    match crate::kernel::date::parse_date(s) {
        Ok(d) => Some(d),
        Err(e) => {
            errs.push(FieldViolation::new(field, e));
            None
        }
    }
}

/// Validates a profile and a date together, so one response names every
/// problem.
fn validate(
    profile: Option<pb::EnterpriseProfile>,
    as_of: &str,
) -> Result<(Profile, NaiveDate), Vec<FieldViolation>> {
    let mut errs = Vec::new();
    let date = parse_as_of(as_of, "as_of", &mut errs);
    let profile = match profile {
        None => {
            errs.push(FieldViolation::new("profile", "is required"));
            None
        }
        Some(p) => match Profile::from_raw_at(p.into(), "profile.") {
            Ok(p) => Some(p),
            Err(e) => {
                errs.extend(e.violations);
                None
            }
        },
    };
    match (profile, date) {
        (Some(p), Some(d)) if errs.is_empty() => Ok((p, d)),
        _ => Err(errs),
    }
}

/// A request's `view`: UNSPECIFIED is FULL; an unknown number is refused.
fn match_view(v: i32) -> Result<matching::View, Vec<FieldViolation>> {
    match pb::MatchView::try_from(v) {
        Ok(pb::MatchView::Basic) => Ok(matching::View::Basic),
        Ok(pb::MatchView::Full | pb::MatchView::Unspecified) => Ok(matching::View::Full),
        Err(_) => Err(vec![FieldViolation::new(
            "view",
            format!("unknown enum value {v} (MATCH_VIEW_BASIC or MATCH_VIEW_FULL)"),
        )]),
    }
}

/// Most problems a BatchMatch response lists (it counts them all), so one
/// profile's problems cannot outgrow a message: 500,000 bad certifications,
/// one problem each, once made a 138 MB response that ended the whole stream
/// with OUT_OF_RANGE. (They are now one problem; this bound stays for any
/// list a profile may gain.)
const MAX_BATCH_PROBLEMS: usize = 100;

fn batch_item(
    catalog: &Catalog,
    index: u64,
    item: pb::BatchMatchRequest,
) -> pb::BatchMatchResponse {
    let pb::BatchMatchRequest {
        reference,
        profile,
        as_of,
        view,
    } = item;
    let outcome = validate(profile, &as_of).and_then(|(p, d)| {
        let view = match_view(view)?;
        matching::match_profile_view(catalog, &p, &MatchOptions::on(d), view)
            .map_err(|e| vec![FieldViolation::new("as_of", e.to_string())])
    });
    match outcome {
        Ok(r) => pb::BatchMatchResponse {
            index,
            reference,
            result: Some(r.into()),
            problems: vec![],
            problems_total: 0,
        },
        Err(v) => pb::BatchMatchResponse {
            index,
            reference,
            result: None,
            problems_total: u32::try_from(v.len()).unwrap_or(u32::MAX),
            problems: v
                .into_iter()
                .take(MAX_BATCH_PROBLEMS)
                .map(|p| error::clipped(p).into())
                .collect(),
        },
    }
}

type BatchStream = Pin<Box<dyn Stream<Item = Result<pb::BatchMatchResponse, Status>> + Send>>;

#[tonic::async_trait]
impl pb::matching_service_server::MatchingService for MatchingSvc {
    async fn match_enterprise(
        &self,
        request: Request<pb::MatchEnterpriseRequest>,
    ) -> Result<Response<pb::MatchEnterpriseResponse>, Status> {
        let pb::MatchEnterpriseRequest {
            profile,
            as_of,
            product_ids,
            view,
        } = request.into_inner();
        let checked = validate(profile, &as_of);
        let view = match_view(view);
        let ((p, as_of), view) = match (checked, view) {
            (Ok(x), Ok(v)) => (x, v),
            (a, b) => {
                let mut violations = a.err().unwrap_or_default();
                violations.extend(b.err().unwrap_or_default());
                return Err(ApiError::InvalidArgument {
                    reason: "INVALID_PROFILE",
                    violations,
                }
                .into());
            }
        };
        let report = matching::match_profile_view(
            &self.catalog,
            &p,
            &MatchOptions { as_of, product_ids },
            view,
        )
        .map_err(ApiError::from)?;
        Ok(Response::new(pb::MatchEnterpriseResponse {
            result: Some(report.into()),
        }))
    }

    async fn match_registry(
        &self,
        request: Request<Streaming<pb::MatchRegistryRequest>>,
    ) -> Result<Response<pb::MatchRegistryResponse>, Status> {
        use crate::matching::registry::{FirmTally, RegistryStats};
        let mut stream = request.into_inner();
        let mut stats = RegistryStats::default();
        let mut digest = <sha2::Sha256 as sha2::Digest>::new();
        let mut setup: Option<(NaiveDate, bool)> = None;
        let mut index = 0u64;
        while let Some(item) = stream.message().await? {
            let pb::MatchRegistryRequest {
                profile,
                as_of,
                report,
            } = item;
            let (date, want_report) = registry_setup(&mut setup, &as_of, report, index)?;
            index += 1;
            if want_report && let Some(p) = &profile {
                sha2::Digest::update(&mut digest, prost::Message::encode_to_vec(p));
            }
            let Ok((p, _)) = validate(profile, "") else {
                stats.invalid += 1;
                continue;
            };
            let cls = p.classify();
            match matching::evaluate(&self.catalog, &p, &cls, &MatchOptions::on(date)) {
                Ok(ev) => stats.add(FirmTally::of(&ev, cls.class())),
                Err(e) => return Err(ApiError::from(e).into()),
            }
        }
        let (date, want_report) = setup.unwrap_or((crate::files::today_cst(), false));
        let digest = want_report.then(|| hex::encode(sha2::Digest::finalize(digest)));
        Ok(Response::new(self.registry_response(&stats, date, digest)))
    }

    type BatchMatchStream = BatchStream;

    async fn batch_match(
        &self,
        request: Request<Streaming<pb::BatchMatchRequest>>,
    ) -> Result<Response<Self::BatchMatchStream>, Status> {
        let mut input = request.into_inner();
        let (tx, rx) = mpsc::channel(self.batch_buffer);
        let catalog = self.catalog.clone();
        tokio::spawn(async move {
            let mut index = 0u64;
            loop {
                match input.message().await {
                    Ok(Some(item)) => {
                        let resp = batch_item(&catalog, index, item);
                        if tx.send(Ok(resp)).await.is_err() {
                            super::listen::abandoned(
                                "BatchMatch",
                                &format!("client went away after {index} answers"),
                            );
                            break;
                        }
                        index += 1;
                    }
                    Ok(None) => break,
                    Err(status) => {
                        // A client that resets or drops its stream is its
                        // own business: counted, logged at debug.
                        super::listen::abandoned("BatchMatch", &status);
                        let _ = tx
                            .send(Err(error::inbound(status, "requests", index)))
                            .await;
                        break;
                    }
                }
            }
        });
        Ok(Response::new(Box::pin(ReceiverStream::new(rx))))
    }

    async fn classify_enterprise(
        &self,
        request: Request<pb::ClassifyEnterpriseRequest>,
    ) -> Result<Response<pb::ClassifyEnterpriseResponse>, Status> {
        let pb::ClassifyEnterpriseRequest { profile } = request.into_inner();
        let (p, _) = validate(profile, "").map_err(|violations| ApiError::InvalidArgument {
            reason: "INVALID_PROFILE",
            violations,
        })?;
        let cls = p.classify();
        Ok(Response::new(pb::ClassifyEnterpriseResponse {
            classification: Some(matching::ClassificationReport::from(&cls).into()),
            credit_code: p.credit_code.map(Into::into),
        }))
    }

    async fn list_products(
        &self,
        request: Request<pb::ListProductsRequest>,
    ) -> Result<Response<pb::ListProductsResponse>, Status> {
        let pb::ListProductsRequest {
            page_size,
            page_token,
            as_of,
            kind,
        } = request.into_inner();
        let mut errs = Vec::new();
        let date = if as_of.trim().is_empty() {
            None
        } else {
            parse_as_of(&as_of, "as_of", &mut errs)
        };
        let kind = match pb::ProductKind::try_from(kind) {
            Ok(k) => crate::server::convert::matching::product_kind(k),
            Err(_) => {
                errs.push(FieldViolation::new(
                    "kind",
                    format!("unknown enum value {kind}"),
                ));
                None
            }
        };
        let no_page = Page { offset: 0, size: 0 };
        let req_page = match Page::parse(&page_token, page_size, DEFAULT_PAGE, MAX_PAGE) {
            Ok(p) if p.offset <= self.catalog.products.len() as u64 => p,
            Ok(_) => {
                errs.push(FieldViolation::new(
                    "page_token",
                    "is not a token this service returned",
                ));
                no_page
            }
            Err(v) => {
                errs.push(v);
                no_page
            }
        };
        if !errs.is_empty() {
            return Err(ApiError::InvalidArgument {
                reason: "INVALID_LIST_REQUEST",
                violations: errs,
            }
            .into());
        }
        let matching: Vec<_> = self
            .catalog
            .products
            .iter()
            .filter(|p| date.is_none_or(|d| p.in_force(d)) && kind.is_none_or(|k| p.kind == k))
            .collect();
        let offset = req_page.offset as usize;
        let page: Vec<pb::Product> = matching
            .iter()
            .skip(offset)
            .take(req_page.size as usize)
            .map(|p| (*p).into())
            .collect();
        let more = offset + page.len() < matching.len();
        let next_page_token = req_page.next_token(page.len(), more);
        Ok(Response::new(pb::ListProductsResponse {
            products: page,
            next_page_token,
        }))
    }

    async fn get_product(
        &self,
        request: Request<pb::GetProductRequest>,
    ) -> Result<Response<pb::GetProductResponse>, Status> {
        let pb::GetProductRequest { product_id } = request.into_inner();
        if product_id.trim().is_empty() {
            return Err(ApiError::field("MISSING_PRODUCT_ID", "product_id", "is required").into());
        }
        let p = self
            .catalog
            .product(product_id.trim())
            .ok_or(ApiError::NotFound {
                reason: "PRODUCT_NOT_FOUND",
                kind: "product",
                name: product_id.clone(),
            })?;
        Ok(Response::new(pb::GetProductResponse {
            product: Some(p.into()),
        }))
    }
}

/// The first message of a MatchRegistry stream sets the date and whether to
/// draw the report; later messages may not.
fn registry_setup(
    setup: &mut Option<(NaiveDate, bool)>,
    as_of: &str,
    report: bool,
    index: u64,
) -> Result<(NaiveDate, bool), Status> {
    match *setup {
        Some(s) if as_of.is_empty() && !report => Ok(s),
        Some(_) => Err(ApiError::InvalidArgument {
            reason: "INVALID_REGISTRY_REQUEST",
            violations: vec![FieldViolation::new(
                "as_of",
                format!("message {index}: as_of and report belong in the first message only"),
            )],
        }
        .into()),
        None => {
            let mut errs = Vec::new();
            let d = parse_as_of(as_of, "as_of", &mut errs).ok_or_else(|| {
                Status::from(ApiError::InvalidArgument {
                    reason: "INVALID_REGISTRY_REQUEST",
                    violations: errs,
                })
            })?;
            *setup = Some((d, report));
            Ok((d, report))
        }
    }
}

impl MatchingSvc {
    /// MatchRegistry's answer: the counts by product and missing field, and
    /// the report when asked for (`digest`: of the profiles sent).
    fn registry_response(
        &self,
        stats: &crate::matching::registry::RegistryStats,
        date: NaiveDate,
        digest: Option<String>,
    ) -> pb::MatchRegistryResponse {
        let mut missing: Vec<_> = stats.missing.iter().map(|(f, n)| (*f, *n)).collect();
        missing.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
        let report_html = match digest {
            Some(digest) => {
                let info = crate::report::RunInfo {
                    spec_text: String::new(),
                    digest,
                    version: crate::riskpool::VERSION.to_string(),
                    how: "gRPC MatchRegistry".into(),
                };
                crate::report::registry::registry(stats, &self.catalog, &date.to_string(), &info)
            }
            None => String::new(),
        };
        pb::MatchRegistryResponse {
            firms: stats.firms,
            invalid: stats.invalid,
            products: stats
                .by_product
                .iter()
                .map(|(&order, c)| {
                    let p = &self.catalog.products[order];
                    pb::RegistryProductCount {
                        product_id: p.id.clone(),
                        name: p.name.clone(),
                        eligible: c.eligible,
                        needs_info: c.needs_info,
                        ineligible: c.ineligible,
                        already: c.already,
                    }
                })
                .collect(),
            missing_fields: missing
                .into_iter()
                .map(|(field, firms)| pb::RegistryFieldCount {
                    field: field.to_string(),
                    firms,
                })
                .collect(),
            report_html,
        }
    }
}

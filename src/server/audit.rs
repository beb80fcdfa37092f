//! The audit trail: one line (target `audit`; JSON with `log.format =
//! json`) for every call the server refuses — the method, the caller (its
//! principal, or why it has none), the peer, the gRPC code and message —
//! and for every write, whatever its result. A token is never written:
//! only the principal it names.
//!
//! A layer round every service: it reads the call's path, its peer and its
//! `authorization` header before the call, and the code of the answer's
//! head after it (an error is answered in the head; a streamed answer that
//! fails after its first message is not seen here).

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use tonic::transport::server::{TcpConnectInfo, TlsConnectInfo};

use super::auth::Auth;

/// The calls that write: each one's answer is audited, refused or not.
const WRITES: &[&str] = &[
    "RegisterBank",
    "SubmitBalanceReport",
    "SubmitLoanSnapshot",
    "ComputeIncentives",
    "RunCampaign",
    "ReportLeadOutcome",
    "CreatePool",
    "RecordCash",
    "EnrollLoan",
    "EnrollLoans",
    "ReportLoanStatus",
    "FileClaim",
    "ReviewClaim",
    "PayClaim",
    "ReportRecovery",
    "ResumeEnrolment",
];

/// A request that is not valid protobuf (bad wire format, a string that is
/// not UTF-8) is the caller's error: tonic reports it as INTERNAL, this turns
/// it into INVALID_ARGUMENT before it leaves the server. (Trailers-only
/// responses, which is how a request that cannot be decoded fails.)
fn malformed_request_is_invalid_argument(
    mut resp: http::Response<tonic::body::Body>,
) -> http::Response<tonic::body::Body> {
    let h = resp.headers();
    let internal = h.get("grpc-status").is_some_and(|v| v == "13");
    let decode = h
        .get("grpc-message")
        .and_then(|m| m.to_str().ok())
        .is_some_and(|m| m.starts_with("failed%20to%20decode"));
    if internal && decode {
        resp.headers_mut()
            .insert("grpc-status", http::HeaderValue::from_static("3"));
    }
    resp
}

/// The layer.
#[derive(Debug, Clone)]
pub struct AuditLayer {
    auth: Auth,
}

impl AuditLayer {
    /// Audits calls, naming callers by `auth`'s tokens.
    pub fn new(auth: Auth) -> AuditLayer {
        AuditLayer { auth }
    }
}

impl<S> tower::Layer<S> for AuditLayer {
    type Service = Audited<S>;
    fn layer(&self, inner: S) -> Audited<S> {
        Audited {
            inner,
            auth: self.auth.clone(),
        }
    }
}

/// A service whose calls are audited.
#[derive(Debug, Clone)]
pub struct Audited<S> {
    inner: S,
    auth: Auth,
}

/// What is known of a call before its answer.
struct Call {
    method: String,
    peer: String,
    authorization: tonic::metadata::MetadataMap,
    auth: Auth,
}

impl Call {
    fn of<B>(req: &http::Request<B>, auth: &Auth) -> Call {
        let ext = req.extensions();
        let peer = ext
            .get::<TcpConnectInfo>()
            .and_then(TcpConnectInfo::remote_addr)
            .or_else(|| {
                ext.get::<TlsConnectInfo<TcpConnectInfo>>()
                    .and_then(|t| t.get_ref().remote_addr())
            })
            .map_or_else(|| "unknown".into(), |a| a.to_string());
        let mut headers = http::HeaderMap::new();
        for v in req.headers().get_all("authorization") {
            headers.append("authorization", v.clone());
        }
        Call {
            method: req.uri().path().to_string(),
            peer,
            authorization: tonic::metadata::MetadataMap::from_headers(headers),
            auth: auth.clone(),
        }
    }

    /// Writes the call's line when it was refused or it writes.
    fn record(self, resp: &http::Response<tonic::body::Body>) {
        let code = resp
            .headers()
            .get("grpc-status")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<i32>().ok())
            .map_or(tonic::Code::Ok, tonic::Code::from_i32);
        let name = self.method.rsplit('/').next().unwrap_or("");
        let write = WRITES.contains(&name);
        if code == tonic::Code::Ok && !write || self.method.starts_with("/grpc.") {
            return;
        }
        let mut r = tonic::Request::new(());
        *r.metadata_mut() = self.authorization;
        let principal = match self.auth.principal(&r) {
            Ok(p) => p.name(),
            Err(s) => format!("none ({})", s.message()),
        };
        let message = resp
            .headers()
            .get("grpc-message")
            .and_then(|v| v.to_str().ok())
            .map(percent_decoded)
            .unwrap_or_default();
        tracing::info!(
            target: "audit",
            method = %self.method,
            principal = %principal,
            peer = %self.peer,
            code = ?code,
            message = %message,
            write,
            "{}",
            if code == tonic::Code::Ok { "written" } else { "refused" }
        );
    }
}

/// `grpc-message` as sent (percent-encoded) made readable.
fn percent_decoded(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = |c: u8| (c as char).to_digit(16);
        match (
            b[i],
            b.get(i + 1).and_then(|c| hex(*c)),
            b.get(i + 2).and_then(|c| hex(*c)),
        ) {
            (b'%', Some(h), Some(l)) => {
                out.push((h * 16 + l) as u8);
                i += 3;
            }
            (c, _, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

type Answer<R, E> = Pin<Box<dyn Future<Output = Result<R, E>> + Send>>;

impl<S, B> tower::Service<http::Request<B>> for Audited<S>
where
    S: tower::Service<http::Request<B>, Response = http::Response<tonic::body::Body>>,
    S::Future: Send + 'static,
{
    type Response = http::Response<tonic::body::Body>;
    type Error = S::Error;
    type Future = Answer<Self::Response, S::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: http::Request<B>) -> Self::Future {
        let call = Call::of(&req, &self.auth);
        let answer = self.inner.call(req);
        Box::pin(async move {
            let resp = malformed_request_is_invalid_argument(answer.await?);
            call.record(&resp);
            Ok(resp)
        })
    }
}

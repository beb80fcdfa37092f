//! Bearer-token access control.
//!
//! A token file (TOML) maps SHA-256 hashes of tokens to principals — the
//! tokens themselves are never stored:
//!
//! ```toml
//! [[token]]
//! sha256 = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
//! principal = "bureau"          # or "analyst", or "bank:JXB"
//! ```
//!
//! `bureau` may do everything; `bank:<id>` may submit and read its own bank's
//! data only; `analyst` may use matching and simulation only. A missing or
//! unknown token is UNAUTHENTICATED; a principal acting outside its rights is
//! PERMISSION_DENIED. Without a token file the server is open (every call acts
//! as the bureau) and [`super::serve`] refuses to listen beyond loopback
//! unless told `insecure`.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use crate::server::error::ApiError;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use tonic::{Request, Status};

/// Who is calling.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    /// No token file: an open server on loopback.
    Open,
    /// The financial bureau: everything.
    Bureau,
    /// An analyst: matching and simulation.
    Analyst,
    /// A bank's integration service: its own data.
    Bank(String),
}

impl Principal {
    /// Parses `bureau`, `analyst`, `bank:<id>`.
    pub fn parse(s: &str) -> Option<Principal> {
        match s.trim() {
            "bureau" => Some(Principal::Bureau),
            "analyst" => Some(Principal::Analyst),
            t => t
                .strip_prefix("bank:")
                .filter(|id| crate::incentive::check_bank_id(id).is_ok())
                .map(|id| Principal::Bank(id.to_string())),
        }
    }

    /// The name recorded with what it submits.
    pub fn name(&self) -> String {
        match self {
            Principal::Open => "open".into(),
            Principal::Bureau => "bureau".into(),
            Principal::Analyst => "analyst".into(),
            Principal::Bank(id) => format!("bank:{id}"),
        }
    }

    /// Bureau rights (the bureau, or an open server).
    pub fn is_bureau(&self) -> bool {
        matches!(self, Principal::Open | Principal::Bureau)
    }

    /// Whether it may read and write `bank_id`'s data.
    pub fn may_act_for(&self, bank_id: &str) -> bool {
        match self {
            Principal::Open | Principal::Bureau => true,
            Principal::Bank(id) => id == bank_id,
            Principal::Analyst => false,
        }
    }
}

/// SHA-256 of a token, lowercase hex.
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// A token file that could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("token file {path}: {reason}")]
pub struct TokenFileError {
    /// Path.
    pub path: String,
    /// What is wrong.
    pub reason: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TokenFile {
    #[serde(default)]
    token: Vec<TokenEntry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TokenEntry {
    sha256: String,
    principal: String,
}

/// The known tokens.
#[derive(Debug, Clone, Default)]
pub struct Tokens {
    by_hash: HashMap<String, Principal>,
}

impl Tokens {
    /// Loads a token file.
    pub fn load(path: &Path) -> Result<Tokens, TokenFileError> {
        let err = |reason: String| TokenFileError {
            path: path.display().to_string(),
            reason,
        };
        let text = std::fs::read_to_string(path).map_err(|e| err(e.to_string()))?;
        let file: TokenFile = toml::from_str(&text).map_err(|e| err(e.message().to_string()))?;
        let mut by_hash = HashMap::new();
        for (i, t) in file.token.iter().enumerate() {
            let h = t.sha256.trim().to_ascii_lowercase();
            if h.len() != 64 || !h.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(err(format!(
                    "token[{i}].sha256 is not a SHA-256 hex digest"
                )));
            }
            let p = Principal::parse(&t.principal).ok_or_else(|| {
                err(format!(
                    "token[{i}].principal `{}` is not bureau, analyst or bank:<id> (id: 1-64 letters, digits, '-' or '_')",
                    t.principal
                ))
            })?;
            by_hash.insert(h, p);
        }
        if by_hash.is_empty() {
            return Err(err("has no [[token]] entries".into()));
        }
        Ok(Tokens { by_hash })
    }

    /// Tokens from (token, principal) pairs (tests and tools).
    pub fn from_pairs(pairs: &[(&str, Principal)]) -> Tokens {
        Tokens {
            by_hash: pairs
                .iter()
                .map(|(t, p)| (token_hash(t), p.clone()))
                .collect(),
        }
    }
}

/// The access check shared by every service. Its tokens can be replaced
/// while the server runs ([`Auth::reload`]); calls in flight keep the set
/// they started with.
#[derive(Debug, Clone, Default)]
pub struct Auth {
    tokens: Option<Arc<std::sync::RwLock<Arc<Tokens>>>>,
}

impl Auth {
    /// Open (no tokens) or token-checked.
    pub fn new(tokens: Option<Tokens>) -> Auth {
        Auth {
            tokens: tokens.map(|t| Arc::new(std::sync::RwLock::new(Arc::new(t)))),
        }
    }

    /// Replaces the tokens of a token-checked server; returns how many
    /// there were and are (an open server stays open: `None`).
    pub fn reload(&self, new: Tokens) -> Option<(usize, usize)> {
        let lock = self.tokens.as_ref()?;
        let mut held = lock.write().unwrap_or_else(|e| e.into_inner());
        let counts = (held.by_hash.len(), new.by_hash.len());
        *held = Arc::new(new);
        Some(counts)
    }

    /// Whether tokens are checked.
    pub fn enforced(&self) -> bool {
        self.tokens.is_some()
    }

    /// The caller of a request. The scheme is case-insensitive (RFC 7235
    /// §2.1: `Bearer`, `bearer`, `BEARER`); exactly one `authorization`
    /// header is accepted — two are refused rather than one picked.
    pub fn principal<T>(&self, req: &Request<T>) -> Result<Principal, Status> {
        let Some(lock) = &self.tokens else {
            return Ok(Principal::Open);
        };
        let tokens = lock.read().unwrap_or_else(|e| e.into_inner()).clone();
        let unauth = |reason: &'static str, m: &str| -> Status {
            ApiError::Unauthenticated {
                reason,
                message: m.to_string(),
            }
            .into()
        };
        let mut headers = req.metadata().get_all("authorization").iter();
        let header = headers.next().ok_or_else(|| {
            unauth(
                "MISSING_CREDENTIALS",
                "missing `authorization: Bearer <token>` metadata",
            )
        })?;
        if headers.next().is_some() {
            return Err(unauth(
                "AMBIGUOUS_CREDENTIALS",
                "more than one `authorization` header; send exactly one",
            ));
        }
        let value = header.to_str().map_err(|_| {
            unauth(
                "MALFORMED_CREDENTIALS",
                "authorization metadata is not text",
            )
        })?;
        let token = match value.split_once(' ') {
            Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") => token.trim(),
            _ => {
                return Err(unauth(
                    "MALFORMED_CREDENTIALS",
                    "authorization must be `Bearer <token>`",
                ));
            }
        };
        tokens
            .by_hash
            .get(&token_hash(token))
            .cloned()
            .ok_or_else(|| unauth("UNKNOWN_TOKEN", "unknown token"))
    }

    /// An interceptor that admits `allowed` principals and records the
    /// principal in the request's extensions.
    pub fn interceptor(
        &self,
        allowed: fn(&Principal) -> bool,
        what: &'static str,
    ) -> impl FnMut(Request<()>) -> Result<Request<()>, Status> + Clone + Send + Sync + 'static
    {
        let auth = self.clone();
        move |mut req: Request<()>| {
            let p = auth.principal(&req)?;
            if !allowed(&p) {
                return Err(ApiError::PermissionDenied {
                    reason: "ROLE_NOT_ALLOWED",
                    message: format!("{} may not use {what}", p.name()),
                }
                .into());
            }
            req.extensions_mut().insert(p);
            Ok(req)
        }
    }
}

/// Matching and simulation: bureau and analysts.
pub fn analysis_allowed(p: &Principal) -> bool {
    !matches!(p, Principal::Bank(_))
}

/// Incentives: bureau and banks (each handler narrows further).
pub fn incentive_allowed(p: &Principal) -> bool {
    !matches!(p, Principal::Analyst)
}

/// Referral: everyone (each handler narrows: a bank to its own leads).
pub fn referral_allowed(_: &Principal) -> bool {
    true
}

/// The principal an interceptor recorded. A handler reached without one
/// (a service mounted without its interceptor) is refused: access fails
/// closed.
pub fn caller<T>(req: &Request<T>) -> Result<Principal, Status> {
    req.extensions().get::<Principal>().cloned().ok_or_else(|| {
        tracing::error!("a call reached a handler without a recorded principal");
        ApiError::Unauthenticated {
            reason: "NO_PRINCIPAL",
            message: "the caller could not be identified".into(),
        }
        .into()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn principals_and_hashes() {
        assert_eq!(
            Principal::parse("bank:JXB"),
            Some(Principal::Bank("JXB".into()))
        );
        assert_eq!(Principal::parse("bank:"), None);
        // the bank-id rule RegisterBank applies: a token cannot name a bank
        // that could never be registered
        assert_eq!(Principal::parse("bank:J X"), None);
        assert_eq!(Principal::parse(&format!("bank:{}", "J".repeat(65))), None);
        assert_eq!(
            Principal::parse("bank:nc-rcb_2"),
            Some(Principal::Bank("nc-rcb_2".into()))
        );
        assert_eq!(
            token_hash("test"),
            "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
        );
        assert!(Principal::Bank("A".into()).may_act_for("A"));
        assert!(!Principal::Bank("A".into()).may_act_for("B"));
        assert!(!Principal::Analyst.may_act_for("A"));
    }

    #[test]
    fn token_files() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("t.toml");
        std::fs::write(
            &p,
            format!(
                "[[token]]\nsha256 = \"{}\"\nprincipal = \"bank:JXB\"\n",
                token_hash("s3cret")
            ),
        )
        .unwrap();
        let t = Tokens::load(&p).unwrap();
        let auth = Auth::new(Some(t));
        let mut req = Request::new(());
        req.metadata_mut()
            .insert("authorization", "Bearer s3cret".parse().unwrap());
        assert_eq!(auth.principal(&req).unwrap(), Principal::Bank("JXB".into()));
        let mut bad = Request::new(());
        bad.metadata_mut()
            .insert("authorization", "Bearer nope".parse().unwrap());
        assert_eq!(
            auth.principal(&bad).unwrap_err().code(),
            tonic::Code::Unauthenticated
        );
        assert_eq!(
            auth.principal(&Request::new(())).unwrap_err().code(),
            tonic::Code::Unauthenticated
        );
        std::fs::write(&p, "[[token]]\nsha256 = \"xyz\"\nprincipal = \"bureau\"\n").unwrap();
        assert!(Tokens::load(&p).unwrap_err().reason.contains("sha256"));
        std::fs::write(
            &p,
            format!(
                "[[token]]\nsha256 = \"{}\"\nprincipal = \"king\"\n",
                token_hash("x")
            ),
        )
        .unwrap();
        assert!(Tokens::load(&p).unwrap_err().reason.contains("king"));
    }
}

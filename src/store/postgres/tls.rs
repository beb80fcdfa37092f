//! TLS to the database: rustls with the configured or the system's CAs.

use tokio_postgres_rustls::MakeRustlsConnect;

use crate::store::StoreError;

/// Where Debian (and most Linux systems) keep the system's trusted CAs.
pub(super) const SYSTEM_CA_BUNDLES: &[&str] = &[
    "/etc/ssl/certs/ca-certificates.crt",
    "/etc/pki/tls/certs/ca-bundle.crt",
];

/// The TLS connector: rustls (ring), trusting the CAs of `ca_file`, or of
/// the system bundle. Whether TLS is used follows the URL's `sslmode`
/// (`disable`, `prefer` — the default: TLS when the server offers it — or
/// `require`); when it is, the database's certificate is always verified
/// against these CAs and the host name.
pub(super) fn tls(ca_file: Option<&std::path::Path>) -> Result<MakeRustlsConnect, StoreError> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;
    let path = match ca_file {
        Some(p) => Some(p.to_path_buf()),
        None => SYSTEM_CA_BUNDLES
            .iter()
            .map(std::path::PathBuf::from)
            .find(|p| p.is_file()),
    };
    let mut roots = rustls::RootCertStore::empty();
    if let Some(path) = &path {
        let bad = |e: String| StoreError::Config(format!("store.ca_file {}: {e}", path.display()));
        for cert in CertificateDer::pem_file_iter(path).map_err(|e| bad(e.to_string()))? {
            roots
                .add(cert.map_err(|e| bad(e.to_string()))?)
                .map_err(|e| bad(e.to_string()))?;
        }
        if roots.is_empty() {
            return Err(bad("holds no certificate".into()));
        }
    }
    let config = rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| StoreError::Config(format!("store TLS settings: {e}")))?
    .with_root_certificates(roots)
    .with_no_client_auth();
    Ok(MakeRustlsConnect::new(config))
}

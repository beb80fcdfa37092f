//! TLS (rustls): the server with a certificate, and with a client-certificate
//! check, called by a real tonic client.

use crate::common;

use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
use smefin::server::pb;
use smefin::server::pb::matching_service_client::MatchingServiceClient;
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Identity};

struct Pki {
    ca_pem: String,
    server: (String, String),
    client: (String, String),
}

fn pki() -> Pki {
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().unwrap()).unwrap();
    let leaf = |name: &str| {
        let key = KeyPair::generate().unwrap();
        let cert = CertificateParams::new(vec![name.to_string()])
            .unwrap()
            .signed_by(&key, &ca)
            .unwrap();
        (cert.pem(), key.serialize_pem())
    };
    Pki {
        ca_pem: ca.pem(),
        server: leaf("localhost"),
        client: leaf("bank-client"),
    }
}

async fn serve_tls(p: &Pki, client_ca: bool, dir: &std::path::Path) -> common::TestServer {
    let w = |name: &str, text: &str| {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        path
    };
    let mut cfg = smefin::config::Config::default();
    cfg.tls.cert = Some(w("server.pem", &p.server.0));
    cfg.tls.key = Some(w("server.key", &p.server.1));
    if client_ca {
        cfg.tls.client_ca = Some(w("ca.pem", &p.ca_pem));
    }
    common::start_with(cfg).await
}

async fn call(addr: std::net::SocketAddr, tls: Option<ClientTlsConfig>) -> Result<(), String> {
    let scheme = if tls.is_some() { "https" } else { "http" };
    let mut ep = Channel::from_shared(format!("{scheme}://localhost:{}", addr.port())).unwrap();
    if let Some(t) = tls {
        ep = ep.tls_config(t).map_err(|e| e.to_string())?;
    }
    let ch = ep.connect().await.map_err(|e| format!("connect: {e}"))?;
    MatchingServiceClient::new(ch)
        .get_product(pb::GetProductRequest {
            product_id: "gongxintong".into(),
        })
        .await
        .map(|_| ())
        .map_err(|e| e.to_string())
}

#[tokio::test]
async fn tls_server_and_client_certificates() {
    let p = pki();
    let dir = tempfile::tempdir().unwrap();
    let trust = ClientTlsConfig::new()
        .ca_certificate(Certificate::from_pem(&p.ca_pem))
        .domain_name("localhost");

    let srv = serve_tls(&p, false, dir.path()).await;
    call(srv.addr, Some(trust.clone())).await.expect("TLS call");
    assert!(
        call(srv.addr, None).await.is_err(),
        "plaintext must not work against a TLS server"
    );
    srv.shutdown().await;

    let srv = serve_tls(&p, true, dir.path()).await;
    assert!(
        call(srv.addr, Some(trust.clone())).await.is_err(),
        "a client without a certificate must be refused"
    );
    // a client certificate from another CA (a well-formed certificate, the
    // same name) is refused too
    let other = pki();
    let foreign = trust
        .clone()
        .identity(Identity::from_pem(&other.client.0, &other.client.1));
    let e = call(srv.addr, Some(foreign)).await;
    assert!(e.is_err(), "a certificate from another CA must be refused");
    let with_cert = trust.identity(Identity::from_pem(&p.client.0, &p.client.1));
    call(srv.addr, Some(with_cert))
        .await
        .expect("mutual TLS call");
    srv.shutdown().await;
}

/// `server.health_listen`: with TLS on the main port, a second port answers
/// health in plaintext (for probes that cannot speak TLS), and nothing
/// else: matching is not served there.
#[tokio::test]
async fn the_health_port_is_plaintext_and_health_only() {
    use tonic_health::pb::health_client::HealthClient;
    let p = pki();
    let dir = tempfile::tempdir().unwrap();
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let w = |name: &str, text: &str| {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path
    };
    let mut cfg = smefin::config::Config::default();
    cfg.tls.cert = Some(w("server.pem", &p.server.0));
    cfg.tls.key = Some(w("server.key", &p.server.1));
    cfg.server.health_listen = Some(([127, 0, 0, 1], port).into());
    let srv = common::start_with(cfg).await;
    let addr: std::net::SocketAddr = ([127, 0, 0, 1], port).into();
    let mut ch = None;
    for _ in 0..50 {
        if let Ok(c) = Channel::from_shared(format!("http://{addr}"))
            .unwrap()
            .connect()
            .await
        {
            ch = Some(c);
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let ch = ch.expect("the health port listens");
    let r = HealthClient::new(ch.clone())
        .check(tonic_health::pb::HealthCheckRequest::default())
        .await
        .unwrap();
    assert_eq!(r.into_inner().status, 1, "SERVING");
    let e = MatchingServiceClient::new(ch)
        .get_product(pb::GetProductRequest {
            product_id: "gongxintong".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), tonic::Code::Unimplemented);
    assert!(
        call(srv.addr, None).await.is_err(),
        "the main port stays TLS"
    );
    srv.shutdown().await;
}

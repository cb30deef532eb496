//! Local test servers for the transport's tests and the VMOD's varnishtest (feature `testing`): a test PKI made
//! with rcgen, an echo handler, TLS and H2C servers on loopback ports.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use ghost_core::contract::ClientCertificate;
use http::{header, Request, Response};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, ExtendedKeyUsagePurpose, IsCa, KeyPair, SanType};
use rustls::server::WebPkiClientVerifier;
use rustls::{RootCertStore, ServerConfig};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;

/// The runtime the test servers run on, apart from the transport's: their work does not compete with the transport's
/// threads.
fn server_runtime() -> &'static tokio::runtime::Handle {
    static RUNTIME: std::sync::OnceLock<tokio::runtime::Runtime> = std::sync::OnceLock::new();
    RUNTIME
        .get_or_init(|| {
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .thread_name("ghost-test-server")
                .enable_all()
                .build()
                .expect("cannot start the test servers' runtime")
        })
        .handle()
}

/// The URI subjectAltName of [`test_pki`]'s server certificate (a SPIFFE ID).
pub const ECHO_URI: &str = "spiffe://lacquer.test/ns/default/sa/echo";

/// A test PKI: one CA, a server certificate, a client certificate.
pub struct Pki {
    /// The CA certificate.
    pub ca_pem: String,
    server_chain: Vec<CertificateDer<'static>>,
    server_key: String,
    /// A client certificate signed by the CA.
    pub client: ClientCertificate,
}

/// Makes a new test PKI whose server certificate is for `echo.test` and [`ECHO_URI`].
///
/// # Panics
///
/// When rcgen fails.
#[must_use]
pub fn test_pki() -> Pki {
    test_pki_for(&["echo.test", ECHO_URI])
}

/// Makes a new test PKI whose server certificate carries `names` as subjectAltNames: URIs (with `://`) or DNS names.
///
/// # Panics
///
/// When rcgen fails.
#[must_use]
pub fn test_pki_for(names: &[&str]) -> Pki {
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().unwrap()).unwrap();
    let server_key = KeyPair::generate().unwrap();
    let mut server_params = CertificateParams::default();
    server_params.subject_alt_names = names
        .iter()
        .map(|n| {
            if n.contains("://") {
                SanType::URI((*n).try_into().unwrap())
            } else {
                SanType::DnsName((*n).try_into().unwrap())
            }
        })
        .collect();
    let server = server_params.signed_by(&server_key, &ca).unwrap();
    let client_key = KeyPair::generate().unwrap();
    let mut client_params = CertificateParams::new(vec!["gateway.test".to_owned()]).unwrap();
    client_params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    let client = client_params.signed_by(&client_key, &ca).unwrap();
    Pki {
        ca_pem: ca.pem(),
        server_chain: vec![server.der().clone()],
        server_key: server_key.serialize_pem(),
        client: ClientCertificate { certificate: client.pem(), key: client_key.serialize_pem() },
    }
}

/// The echo handler: status 200, the request's Host (or `:authority`), path, version and body back; `…/slow` answers
/// after 3 s, `…/big` answers 1 MiB (the request body read and dropped).
///
/// # Errors
///
/// Never.
///
/// # Panics
///
/// When the Host is not a valid header value.
pub async fn echo(req: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let host = req
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .map(str::to_owned)
        .or_else(|| req.uri().authority().map(ToString::to_string))
        .unwrap_or_default();
    let path = req.uri().path().to_owned();
    let version = format!("{:?}", req.version());
    if path.ends_with("/slow") {
        tokio::time::sleep(Duration::from_secs(3)).await;
    }
    // The request body is read whole first, even for /big: a server that answers and closes with request bytes still
    // unread makes its kernel reset the connection, which can cut the answer short at the client.
    let received = req.into_body().collect().await.map(http_body_util::Collected::to_bytes).unwrap_or_default();
    let body = if path.ends_with("/big") { Bytes::from(vec![b'x'; 1 << 20]) } else { received };
    Ok(Response::builder()
        .header("x-echo-host", host)
        .header("x-echo-path", path)
        .header("x-echo-version", version)
        .header("connection", "keep-alive")
        .body(Full::new(body))
        .unwrap())
}

/// A TLS server on a loopback port (requiring a client certificate signed by `client_ca` when given); returns its
/// address and a counter of accepted TCP connections.
///
/// # Panics
///
/// When the port cannot be bound or the certificates are unusable.
#[must_use]
pub fn tls_server(pki: &Pki, client_ca: Option<&str>) -> (SocketAddr, Arc<AtomicUsize>) {
    let key = PrivateKeyDer::from_pem_slice(pki.server_key.as_bytes()).unwrap();
    let builder = ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .unwrap();
    let builder = match client_ca {
        Some(pem) => {
            let mut roots = RootCertStore::empty();
            roots.add(CertificateDer::from_pem_slice(pem.as_bytes()).unwrap()).unwrap();
            let provider = Arc::new(rustls::crypto::ring::default_provider());
            builder.with_client_cert_verifier(
                WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider).build().unwrap(),
            )
        }
        None => builder.with_no_client_auth(),
    };
    let config = builder.with_single_cert(pki.server_chain.clone(), key).unwrap();
    let acceptor = TlsAcceptor::from(Arc::new(config));
    serve(move |tcp| {
        let acceptor = acceptor.clone();
        async move {
            if let Ok(tls) = acceptor.accept(tcp).await {
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(tls), service_fn(echo))
                    .await;
            }
        }
    })
}

/// A plain HTTP/1.1 echo server on a loopback port (what Varnish's native backends reach); like [`tls_server`].
///
/// # Panics
///
/// When the port cannot be bound.
#[must_use]
pub fn http1_server() -> (SocketAddr, Arc<AtomicUsize>) {
    serve(|tcp| async move {
        let _ = hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(tcp), service_fn(echo)).await;
    })
}

/// A cleartext HTTP/2 (prior knowledge) echo server on a loopback port; like [`tls_server`].
///
/// # Panics
///
/// When the port cannot be bound.
#[must_use]
pub fn h2c_server() -> (SocketAddr, Arc<AtomicUsize>) {
    serve(|tcp| async move {
        let _ = hyper::server::conn::http2::Builder::new(TokioExecutor::new())
            .serve_connection(TokioIo::new(tcp), service_fn(echo))
            .await;
    })
}

fn serve<F, Fut>(handle: F) -> (SocketAddr, Arc<AtomicUsize>)
where
    F: Fn(TcpStream) -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let listener = server_runtime().block_on(TcpListener::bind("127.0.0.1:0")).unwrap();
    let addr = listener.local_addr().unwrap();
    let accepted = Arc::new(AtomicUsize::new(0));
    let count = accepted.clone();
    server_runtime().spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            count.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(handle(tcp));
        }
    });
    (addr, accepted)
}

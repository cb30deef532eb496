//! The rustls client configuration of a TLS backend: trust anchors, name checks, client certificate.

use std::sync::Arc;

use ghost_core::contract::BackendTls;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::ring;
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};

/// Builds the client configuration for `tls`: the chain must end in `caCertificates` (or a well-known root when
/// absent) and carry `hostname`, or one of `subjectAltNames` when those are given; the client certificate is
/// presented when set. Only HTTP/1.1 is offered by ALPN.
///
/// # Errors
///
/// A message naming what cannot be used: no or unparsable CA certificates, a bad client certificate or key.
pub fn client_config(tls: &BackendTls) -> Result<Arc<ClientConfig>, String> {
    // ring named explicitly: a process-wide default provider installed by anything else changes nothing here.
    let provider = Arc::new(ring::default_provider());
    let mut roots = RootCertStore::empty();
    match &tls.ca_certificates {
        Some(pem) => {
            for cert in CertificateDer::pem_slice_iter(pem.as_bytes()) {
                let cert = cert.map_err(|e| format!("caCertificates: {e}"))?;
                roots.add(cert).map_err(|e| format!("caCertificates: {e}"))?;
            }
            if roots.is_empty() {
                return Err("caCertificates holds no PEM certificate".to_owned());
            }
        }
        None => roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
    }
    let webpki = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
        .build()
        .map_err(|e| format!("caCertificates: {e}"))?;
    let names = tls
        .subject_alt_names
        .iter()
        .map(|n| ServerName::try_from(n.clone()).map_err(|e| format!("subjectAltNames {n:?}: {e}")))
        .collect::<Result<Vec<_>, _>>()?;
    let builder = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?;
    let builder = if names.is_empty() {
        builder.with_webpki_verifier(webpki)
    } else {
        builder.dangerous().with_custom_certificate_verifier(Arc::new(AnyNameVerifier { inner: webpki, names }))
    };
    let mut config = match &tls.client_certificate {
        Some(client) => {
            let chain = CertificateDer::pem_slice_iter(client.certificate.as_bytes())
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| format!("clientCertificate: {e}"))?;
            if chain.is_empty() {
                return Err("clientCertificate holds no PEM certificate".to_owned());
            }
            let key = PrivateKeyDer::from_pem_slice(client.key.as_bytes())
                .map_err(|e| format!("clientCertificate key: {e}"))?;
            builder.with_client_auth_cert(chain, key).map_err(|e| format!("clientCertificate: {e}"))?
        }
        None => builder.with_no_client_auth(),
    };
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// The server name a TLS backend is sent (SNI).
///
/// # Errors
///
/// When `hostname` is not a DNS name or an IP address.
pub fn server_name(tls: &BackendTls) -> Result<ServerName<'static>, String> {
    ServerName::try_from(tls.hostname.clone()).map_err(|e| format!("hostname {:?}: {e}", tls.hostname))
}

/// BackendTLSPolicy `subjectAltNames`: the chain is verified as usual, and the certificate must be valid for at
/// least one of the names (rather than for the SNI hostname).
#[derive(Debug)]
struct AnyNameVerifier {
    inner: Arc<WebPkiServerVerifier>,
    names: Vec<ServerName<'static>>,
}

impl ServerCertVerifier for AnyNameVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let mut last = rustls::Error::General("no subjectAltNames to verify".to_owned());
        for name in &self.names {
            match self.inner.verify_server_cert(end_entity, intermediates, name, ocsp_response, now) {
                Ok(ok) => return Ok(ok),
                Err(err) => last = err,
            }
        }
        Err(last)
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

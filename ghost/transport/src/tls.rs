//! The rustls client configuration of a TLS backend: trust anchors, name checks, client certificate.

use std::fmt;
use std::sync::Arc;

use ghost_core::contract::BackendTls;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::{verify_server_cert_signed_by_trust_anchor, verify_server_name, WebPkiServerVerifier};
use rustls::crypto::{ring, verify_tls12_signature, verify_tls13_signature, WebPkiSupportedAlgorithms};
use rustls::server::ParsedCertificate;
use rustls::{CertificateError, ClientConfig, DigitallySignedStruct, OtherError, RootCertStore, SignatureScheme};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use x509_parser::extensions::GeneralName;

/// Builds the client configuration for `tls`: the chain must end in `caCertificates` (or a well-known root when
/// absent) and carry `hostname`, or one of `subjectAltNames` / `uriSubjectAltNames` when those are given; the client
/// certificate is presented when set. Only HTTP/1.1 is offered by ALPN.
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
    let roots = Arc::new(roots);
    let names = tls
        .subject_alt_names
        .iter()
        .map(|n| ServerName::try_from(n.clone()).map_err(|e| format!("subjectAltNames {n:?}: {e}")))
        .collect::<Result<Vec<_>, _>>()?;
    let algorithms = provider.signature_verification_algorithms;
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?;
    let builder = if names.is_empty() && tls.uri_subject_alt_names.is_empty() {
        let webpki = WebPkiServerVerifier::builder_with_provider(roots, provider)
            .build()
            .map_err(|e| format!("caCertificates: {e}"))?;
        builder.with_webpki_verifier(webpki)
    } else {
        let uris = tls.uri_subject_alt_names.clone();
        let verifier = SubjectAltNameVerifier { roots, algorithms, names, uris };
        builder.dangerous().with_custom_certificate_verifier(Arc::new(verifier))
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

/// BackendTLSPolicy `subjectAltNames` of both types: the chain is verified against the roots as usual, and the
/// certificate must be valid for one of the DNS names or carry one of the URIs as a URI subjectAltName, exactly
/// (rather than be valid for the SNI hostname).
#[derive(Debug)]
struct SubjectAltNameVerifier {
    roots: Arc<RootCertStore>,
    algorithms: WebPkiSupportedAlgorithms,
    names: Vec<ServerName<'static>>,
    uris: Vec<String>,
}

/// The certificate carries none of the subjectAltNames asked for.
#[derive(Debug)]
struct NoListedName(String);

impl fmt::Display for NoListedName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for NoListedName {}

impl SubjectAltNameVerifier {
    /// Whether the certificate is valid for one of the names or URIs; else what it carries instead.
    fn check_names(&self, cert: &ParsedCertificate<'_>, der: &CertificateDer<'_>) -> Result<(), String> {
        if self.names.iter().any(|name| verify_server_name(cert, name).is_ok()) {
            return Ok(());
        }
        let presented = presented_names(der);
        if presented.iter().any(|(uri, value)| *uri && self.uris.iter().any(|u| u == value)) {
            return Ok(());
        }
        let wanted: Vec<String> = self.names.iter().map(|n| n.to_str().into_owned()).chain(self.uris.clone()).collect();
        let presented: Vec<&str> = presented.iter().map(|(_, value)| value.as_str()).collect();
        Err(format!("certificate carries none of the subjectAltNames {wanted:?} (it carries {presented:?})"))
    }
}

/// The DNS and URI subjectAltNames of a certificate, `(is a URI, value)`; none when it cannot be parsed (webpki has
/// accepted it by then, so only an odd extension gets here).
fn presented_names(der: &CertificateDer<'_>) -> Vec<(bool, String)> {
    let Ok((_, cert)) = x509_parser::parse_x509_certificate(der.as_ref()) else { return Vec::new() };
    let Ok(Some(san)) = cert.subject_alternative_name() else { return Vec::new() };
    san.value
        .general_names
        .iter()
        .filter_map(|name| match name {
            GeneralName::URI(uri) => Some((true, (*uri).to_owned())),
            GeneralName::DNSName(dns) => Some((false, (*dns).to_owned())),
            _ => None,
        })
        .collect()
}

impl ServerCertVerifier for SubjectAltNameVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let cert = ParsedCertificate::try_from(end_entity)?;
        verify_server_cert_signed_by_trust_anchor(&cert, &self.roots, intermediates, now, self.algorithms.all)?;
        self.check_names(&cert, end_entity).map_err(|message| {
            rustls::Error::InvalidCertificate(CertificateError::Other(OtherError(Arc::new(NoListedName(message)))))
        })?;
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

//! The transport against real local servers: TLS (rustls, certificates from a test CA made here) and H2C (hyper).

use std::sync::atomic::AtomicUsize;
use std::time::Instant;

use ghost_core::contract::BackendTls;

use super::*;
use crate::testing::{h2c_server, http1_server, test_pki, test_pki_for, tls_server, Pki, ECHO_URI};

const TIMEOUTS: Timeouts = Timeouts {
    connect: Duration::from_secs(2),
    first_byte: Duration::from_secs(5),
    between_bytes: Duration::from_secs(5),
};

/// HTTPS to `hostname` with the PKI's CA; `sans` with `://` are URI subjectAltNames, the others DNS ones.
fn https(pki: &Pki, hostname: &str, sans: &[&str], client: bool) -> Transport {
    let (uris, names): (Vec<&str>, Vec<&str>) = sans.iter().partition(|s| s.contains("://"));
    Transport {
        protocol: TransportProtocol::Https,
        tls: Some(BackendTls {
            hostname: hostname.to_owned(),
            ca_certificates: Some(pki.ca_pem.clone()),
            subject_alt_names: names.into_iter().map(str::to_owned).collect(),
            uri_subject_alt_names: uris.into_iter().map(str::to_owned).collect(),
            client_certificate: client.then(|| pki.client.clone()),
        }),
    }
}

fn request(host: &str, path: &str, body: RequestBody) -> Request<RequestBody> {
    Request::builder().method("POST").uri(path).header(header::HOST, host).body(body).unwrap()
}

/// Sends `path` with `body` and reads the whole answer: (status, x-echo-* headers, body).
fn fetch(endpoint: &Arc<Endpoint>, path: &str, chunks: &[&[u8]]) -> Result<(u16, HeaderMap, Vec<u8>), Error> {
    let (body, writer) = RequestBody::channel(None);
    let pending = endpoint.start(request("app.example", path, body), TIMEOUTS);
    // A request that failed early (TLS refused) stops taking its body; the error comes from `wait`.
    for chunk in chunks {
        if !writer.write(chunk) {
            break;
        }
    }
    drop(writer);
    let mut answer = pending.wait(TIMEOUTS)?;
    let headers = answer.headers().clone();
    let mut out = Vec::new();
    let mut buf = [0u8; 16 << 10];
    loop {
        let n = answer.body.read(&mut buf)?;
        if n == 0 {
            break;
        }
        out.extend_from_slice(&buf[..n]);
    }
    Ok((answer.parts.status.as_u16(), headers, out))
}

/// Waits (up to 5 s: the machine may be loaded) until `endpoint` pools `n` idle connections.
fn wait_for_idle(endpoint: &Endpoint, n: usize) {
    let started = Instant::now();
    while endpoint.idle_connections() != n && started.elapsed() < Duration::from_secs(5) {
        std::thread::sleep(Duration::from_millis(5));
    }
    assert_eq!(endpoint.idle_connections(), n, "idle connections");
}

#[test]
fn tls_with_a_private_ca_streams_both_ways_and_reuses_the_connection() {
    let pki = test_pki();
    let (addr, accepted) = tls_server(&pki, None);
    let endpoint = Arc::new(Endpoint::new(addr, &https(&pki, "echo.test", &[], false)).unwrap());
    for round in 0..3 {
        let (status, headers, body) = fetch(&endpoint, "/echo", &[b"hello ", b"over ", b"tls"]).unwrap();
        assert_eq!(status, 200);
        assert_eq!(body, b"hello over tls", "round {round}");
        assert_eq!(headers["x-echo-host"], "app.example", "the Host header is passed unchanged");
        assert_eq!(headers["x-echo-version"], "HTTP/1.1");
        assert!(headers.get(header::CONNECTION).is_none(), "hop-by-hop headers are not passed on");
        // The connection goes back to the pool once the body is read; give the pool a moment to take it.
        wait_for_idle(&endpoint, 1);
    }
    assert_eq!(accepted.load(Ordering::SeqCst), 1, "three requests, one connection");
    let (status, _, body) = fetch(&endpoint, "/big", &[]).unwrap();
    assert_eq!((status, body.len()), (200, 1 << 20));
}

#[test]
fn a_certificate_not_valid_for_the_hostname_fails_the_request_with_a_tls_error() {
    let pki = test_pki();
    let (addr, _) = tls_server(&pki, None);
    let endpoint = Arc::new(Endpoint::new(addr, &https(&pki, "other.test", &[], false)).unwrap());
    let err = fetch(&endpoint, "/echo", &[]).unwrap_err();
    assert_eq!(err.kind, ErrorKind::Tls, "{err}");
    assert!(err.to_string().contains("not valid for name \"other.test\""), "{err}");
    // A CA that did not sign the chain: the certificate is not trusted.
    let other = test_pki();
    let mut transport = https(&pki, "echo.test", &[], false);
    transport.tls.as_mut().unwrap().ca_certificates = Some(other.ca_pem);
    let endpoint = Arc::new(Endpoint::new(addr, &transport).unwrap());
    let err = fetch(&endpoint, "/echo", &[]).unwrap_err();
    assert_eq!(err.kind, ErrorKind::Tls, "{err}");
    assert!(err.to_string().contains("invalid peer certificate"), "{err}");
}

#[test]
fn subject_alt_names_replace_the_hostname_for_verification() {
    let pki = test_pki();
    let (addr, _) = tls_server(&pki, None);
    let listed =
        Arc::new(Endpoint::new(addr, &https(&pki, "sni.example", &["nope.test", "echo.test"], false)).unwrap());
    assert_eq!(fetch(&listed, "/echo", &[b"ok"]).unwrap().2, b"ok");
    let unlisted = Arc::new(Endpoint::new(addr, &https(&pki, "echo.test", &["nope.test"], false)).unwrap());
    assert_eq!(fetch(&unlisted, "/echo", &[]).unwrap_err().kind, ErrorKind::Tls);
}

#[test]
fn uri_subject_alt_names_match_a_uri_san_exactly_and_the_chain_is_still_verified() {
    // A SPIFFE-style certificate: only a URI subjectAltName, no DNS name at all.
    let pki = test_pki_for(&[ECHO_URI]);
    let (addr, _) = tls_server(&pki, None);
    let fetch_with = |pki: &Pki, sans: &[&str]| {
        let endpoint = Arc::new(Endpoint::new(addr, &https(pki, "sni.example", sans, false)).unwrap());
        fetch(&endpoint, "/echo", &[b"uri"])
    };
    assert_eq!(fetch_with(&pki, &[ECHO_URI]).unwrap().2, b"uri");
    // One of several, DNS and URI: the URI one matches.
    assert_eq!(fetch_with(&pki, &["nope.test", "spiffe://lacquer.test/other", ECHO_URI]).unwrap().2, b"uri");
    for wrong in [
        &["spiffe://lacquer.test/ns/default/sa/other"][..],
        &["spiffe://lacquer.test/ns/default"],
        &["spiffe://LACQUER.test/ns/default/sa/echo"],
    ] {
        let err = fetch_with(&pki, wrong).unwrap_err();
        assert_eq!(err.kind, ErrorKind::Tls, "{wrong:?}: {err}");
        assert!(err.to_string().contains("carries none of the subjectAltNames"), "{err}");
        assert!(err.to_string().contains(ECHO_URI), "the log line names what the certificate carries: {err}");
    }
    // A DNS subjectAltName never matches a URI one, nor the other way round.
    assert_eq!(fetch_with(&pki, &["lacquer.test"]).unwrap_err().kind, ErrorKind::Tls);
    let dns_only = test_pki_for(&["echo.test"]);
    let (dns_addr, _) = tls_server(&dns_only, None);
    let endpoint =
        Arc::new(Endpoint::new(dns_addr, &https(&dns_only, "echo.test", &["spiffe://echo.test"], false)).unwrap());
    assert_eq!(fetch(&endpoint, "/echo", &[]).unwrap_err().kind, ErrorKind::Tls, "listed URIs replace the hostname");
    // The right URI from a CA that did not sign the chain: not trusted.
    let other = test_pki_for(&[ECHO_URI]);
    let mut transport = https(&pki, "sni.example", &[ECHO_URI], false);
    transport.tls.as_mut().unwrap().ca_certificates = Some(other.ca_pem);
    let endpoint = Arc::new(Endpoint::new(addr, &transport).unwrap());
    let err = fetch(&endpoint, "/echo", &[]).unwrap_err();
    assert_eq!(err.kind, ErrorKind::Tls, "{err}");
    assert!(err.to_string().contains("invalid peer certificate"), "{err}");
}

#[test]
fn the_client_certificate_is_presented_when_set() {
    let pki = test_pki();
    let (addr, _) = tls_server(&pki, Some(&pki.ca_pem));
    let with = Arc::new(Endpoint::new(addr, &https(&pki, "echo.test", &[], true)).unwrap());
    assert_eq!(fetch(&with, "/echo", &[b"mtls"]).unwrap().2, b"mtls");
    let without = Arc::new(Endpoint::new(addr, &https(&pki, "echo.test", &[], false)).unwrap());
    assert!(fetch(&without, "/echo", &[]).is_err(), "the server requires a client certificate");
}

#[test]
fn h2c_multiplexes_requests_over_one_connection_with_the_host_as_authority() {
    let (addr, accepted) = h2c_server();
    let endpoint = Arc::new(Endpoint::new(addr, &Transport { protocol: TransportProtocol::H2c, tls: None }).unwrap());
    let threads: Vec<_> = (0..4)
        .map(|i| {
            let endpoint = endpoint.clone();
            std::thread::spawn(move || fetch(&endpoint, &format!("/r{i}"), &[b"h2", b"c"]).unwrap())
        })
        .collect();
    for thread in threads {
        let (status, headers, body) = thread.join().unwrap();
        assert_eq!((status, body.as_slice()), (200, b"h2c".as_slice()));
        assert_eq!(headers["x-echo-version"], "HTTP/2.0");
        assert_eq!(headers["x-echo-host"], "app.example");
    }
    assert_eq!(fetch(&endpoint, "/big", &[]).unwrap().2.len(), 1 << 20);
    assert_eq!(accepted.load(Ordering::SeqCst), 1, "every request on one HTTP/2 connection");
}

#[test]
fn timeouts_and_refused_connections_are_errors_of_their_kind() {
    let (addr, _) = h2c_server();
    let endpoint = Arc::new(Endpoint::new(addr, &Transport { protocol: TransportProtocol::H2c, tls: None }).unwrap());
    let short = Timeouts { first_byte: Duration::from_millis(200), ..TIMEOUTS };
    let started = Instant::now();
    let (body, writer) = RequestBody::channel(Some(0));
    drop(writer);
    let err = endpoint.start(request("a", "/slow", body), short).wait(short).err().unwrap();
    assert_eq!(err.kind, ErrorKind::Timeout, "{err}");
    assert!(started.elapsed() < Duration::from_secs(2));

    // A port nobody listens on: bind one, then close it.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let endpoint = Arc::new(Endpoint::new(closed, &Transport { protocol: TransportProtocol::H2c, tls: None }).unwrap());
    let err = endpoint.start(request("a", "/", RequestBody::empty()), TIMEOUTS).wait(TIMEOUTS).err().unwrap();
    assert_eq!(err.kind, ErrorKind::Connect, "{err}");
}

#[test]
fn unusable_tls_settings_are_refused_when_the_endpoint_is_made() {
    let pki = test_pki();
    let addr: SocketAddr = "127.0.0.1:1".parse().unwrap();
    let mut transport = https(&pki, "echo.test", &[], false);
    transport.tls.as_mut().unwrap().ca_certificates = Some("not a certificate".to_owned());
    assert!(Endpoint::new(addr, &transport).unwrap_err().contains("caCertificates"));
    let mut transport = https(&pki, "echo.test", &[], true);
    transport.tls.as_mut().unwrap().client_certificate.as_mut().unwrap().key = String::new();
    assert!(Endpoint::new(addr, &transport).unwrap_err().contains("clientCertificate"));
}

fn plain() -> Transport {
    Transport { protocol: TransportProtocol::Http, tls: None }
}

#[test]
fn plain_http1_reuses_its_connection() {
    let (addr, accepted) = http1_server();
    let endpoint = Arc::new(Endpoint::new(addr, &plain()).unwrap());
    for _ in 0..3 {
        let (status, headers, body) = fetch(&endpoint, "/echo", &[b"plain"]).unwrap();
        assert_eq!((status, body.as_slice()), (200, b"plain".as_slice()));
        assert_eq!(headers["x-echo-version"], "HTTP/1.1");
        wait_for_idle(&endpoint, 1);
    }
    assert_eq!(accepted.load(Ordering::SeqCst), 1, "three requests, one connection");
}

/// A raw HTTP/1.1 server that answers `ok` with keep-alive, and then, on each connection: closes it `idle_close`
/// after an answer (a backend's keep-alive timeout), or reads the second request and closes without an answer (the
/// same timeout firing just as the request arrives). Returns its address, the connections it accepted and those it
/// closed after its idle time.
fn closing_server(idle_close: Option<Duration>) -> (SocketAddr, Arc<AtomicUsize>, Arc<AtomicUsize>) {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let accepted = Arc::new(AtomicUsize::new(0));
    let closed = Arc::new(AtomicUsize::new(0));
    let (count, closes) = (accepted.clone(), closed.clone());
    std::thread::spawn(move || {
        for mut tcp in listener.incoming().map_while(Result::ok) {
            count.fetch_add(1, Ordering::SeqCst);
            let closes = closes.clone();
            std::thread::spawn(move || {
                let mut buf = [0u8; 4096];
                for answered in 0.. {
                    let mut request = Vec::new();
                    while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                        match tcp.read(&mut buf) {
                            Ok(0) | Err(_) => return,
                            Ok(n) => request.extend_from_slice(&buf[..n]),
                        }
                    }
                    if idle_close.is_none() && answered == 1 {
                        return; // drops the connection with the request unanswered
                    }
                    let _ = tcp.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok");
                    if let Some(after) = idle_close {
                        std::thread::sleep(after);
                        drop(tcp);
                        closes.fetch_add(1, Ordering::SeqCst);
                        return;
                    }
                }
            });
        }
    });
    (addr, accepted, closed)
}

fn get(endpoint: &Arc<Endpoint>, method: &str) -> Result<Vec<u8>, Error> {
    let request = Request::builder().method(method).uri("/").header(header::HOST, "a").body(RequestBody::empty());
    let mut answer = endpoint.start(request.unwrap(), TIMEOUTS).wait(TIMEOUTS)?;
    let mut buf = [0u8; 64];
    let n = answer.body.read(&mut buf)?;
    Ok(buf[..n].to_vec())
}

#[test]
fn a_pooled_connection_the_backend_closed_while_idle_does_not_fail_the_next_request() {
    let (addr, accepted, closed) = closing_server(Some(Duration::from_millis(50)));
    let endpoint = Arc::new(Endpoint::new(addr, &plain()).unwrap());
    for round in 1..=3 {
        assert_eq!(get(&endpoint, "POST").unwrap(), b"ok", "round {round}");
        // The next request comes once the backend has closed the connection and hyper has seen it (a busy machine
        // may take a while): a close not seen yet is the race the resend covers, and a POST is never resent.
        let started = Instant::now();
        let seen = || closed.load(Ordering::SeqCst) == round && endpoint.idle_connections() == endpoint.idle_closed();
        while !seen() && started.elapsed() < Duration::from_secs(5) {
            std::thread::sleep(Duration::from_millis(5));
        }
        assert!(seen(), "round {round}: the backend's close not seen");
    }
    assert_eq!(accepted.load(Ordering::SeqCst), 3, "each request on a new connection");
}

#[test]
fn a_request_the_backend_dropped_on_a_pooled_connection_is_sent_again_only_when_safe() {
    let (addr, accepted, _) = closing_server(None);
    let endpoint = Arc::new(Endpoint::new(addr, &plain()).unwrap());
    let resent = Stats::global().resent.load(Ordering::Relaxed);
    assert_eq!(get(&endpoint, "GET").unwrap(), b"ok");
    wait_for_idle(&endpoint, 1);
    // The second request on the connection goes unanswered: a GET without a body is sent again on a new one.
    assert_eq!(get(&endpoint, "GET").unwrap(), b"ok");
    assert_eq!(accepted.load(Ordering::SeqCst), 2);
    assert!(Stats::global().resent.load(Ordering::Relaxed) > resent);
    // A POST may have been acted on: its failure is the backend's to report, not resent.
    wait_for_idle(&endpoint, 1);
    let err = get(&endpoint, "POST").unwrap_err();
    assert_eq!(err.kind, ErrorKind::Protocol, "{err}");
    assert_eq!(accepted.load(Ordering::SeqCst), 2, "no new connection for the POST");
}

#[test]
fn a_retired_endpoint_closes_its_idle_connections_and_lets_requests_in_flight_finish() {
    let (addr, accepted) = http1_server();
    let endpoint = Arc::new(Endpoint::new(addr, &plain()).unwrap());
    // A request in flight when the endpoint leaves ghost.json (its answer is read after the retirement), and an idle
    // connection beside it.
    let pending = endpoint.start(request("app.example", "/big", RequestBody::empty()), TIMEOUTS);
    let mut answer = pending.wait(TIMEOUTS).unwrap();
    assert_eq!(fetch(&endpoint, "/echo", &[b"a"]).unwrap().2, b"a");
    wait_for_idle(&endpoint, 1);
    endpoint.retire();
    assert_eq!(endpoint.idle_connections(), 0, "idle connections are closed at once");
    let mut read = 0;
    let mut buf = [0u8; 16 << 10];
    loop {
        let n = answer.body.read(&mut buf).unwrap();
        if n == 0 {
            break;
        }
        read += n;
    }
    assert_eq!(read, 1 << 20);
    drop(answer);
    assert_eq!(endpoint.idle_connections(), 0, "nor is the in-flight one pooled again");
    // A late request (one that picked the endpoint before the swap) still works, on a connection of its own.
    assert_eq!(fetch(&endpoint, "/echo", &[b"late"]).unwrap().2, b"late");
    std::thread::sleep(Duration::from_millis(50));
    assert_eq!(endpoint.idle_connections(), 0);
    assert_eq!(accepted.load(Ordering::SeqCst), 3);
}

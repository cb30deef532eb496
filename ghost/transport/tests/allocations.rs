//! Allocations and bytes allocated per request through the transport, over plain HTTP/1.1, TLS and H2C, counted by a
//! counting global allocator (`stats_alloc`). The echo servers run in a child process (this test binary run again
//! with `GHOST_ALLOCATIONS_SERVE` set) so that only the client side is counted: building the request the way the
//! VMOD does (method, URL and ten headers), starting it, waiting for the answer, reading the body.
//!
//! `ghost/scripts/cargo.sh test -p ghost-transport --features testing --test allocations -- --nocapture` prints the
//! figures; the test fails when a mode allocates more than [`MAX_ALLOCATIONS`] times per request.

use std::alloc::System;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use ghost_core::contract::{BackendTls, Transport, TransportProtocol};
use ghost_transport::testing::{h2c_server, http1_server, test_pki, tls_server};
use ghost_transport::{Endpoint, RequestBody, Timeouts};
use stats_alloc::{Region, StatsAlloc, INSTRUMENTED_SYSTEM};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

const SERVE: &str = "GHOST_ALLOCATIONS_SERVE";
const REQUESTS: usize = 400;
/// Per request, for any mode: several times what was measured, so that only a storm fails it.
const MAX_ALLOCATIONS: usize = 150;

const TIMEOUTS: Timeouts = Timeouts {
    connect: Duration::from_secs(5),
    first_byte: Duration::from_secs(10),
    between_bytes: Duration::from_secs(10),
};

/// In the child: serves until killed, after printing `PORTS <http> <tls> <h2c>` and the CA certificate.
#[test]
fn serve() {
    if std::env::var_os(SERVE).is_none() {
        return;
    }
    let pki = test_pki();
    let (http, _) = http1_server();
    let (tls, _) = tls_server(&pki, None);
    let (h2c, _) = h2c_server();
    // On a line of its own, after whatever the test harness printed.
    println!("\n{}PORTS {} {} {}", pki.ca_pem, http.port(), tls.port(), h2c.port());
    loop {
        std::thread::park();
    }
}

/// One request as the VMOD builds it from `bereq`, sent and read whole.
fn exchange(endpoint: &Arc<Endpoint>, buf: &mut [u8]) -> usize {
    let mut builder = http::Request::builder().method("GET").uri("/bench/x?page=1");
    for (name, value) in [
        ("host", "shop.example"),
        ("user-agent", "allocations/1.0"),
        ("accept", "*/*"),
        ("accept-encoding", "gzip"),
        ("x-forwarded-for", "192.0.2.1"),
        ("x-forwarded-proto", "http"),
        ("x-forwarded-host", "shop.example"),
        ("x-forwarded-port", "80"),
        ("x-real-ip", "192.0.2.1"),
        ("x-varnish", "32770"),
    ] {
        builder = builder.header(name, value.as_bytes());
    }
    let request = builder.body(RequestBody::empty()).unwrap();
    let mut answer = endpoint.start(request, TIMEOUTS).wait(TIMEOUTS).unwrap();
    assert_eq!(answer.parts.status, 200);
    assert!(answer.headers().contains_key("x-echo-path"));
    let mut total = 0;
    loop {
        let n = answer.body.read(buf).unwrap();
        if n == 0 {
            return total;
        }
        total += n;
    }
}

#[test]
fn allocations_per_request() {
    if std::env::var_os(SERVE).is_some() {
        return;
    }
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "serve", "--nocapture"])
        .env(SERVE, "1")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut ca_pem = String::new();
    let mut ports = Vec::new();
    for line in BufReader::new(child.stdout.take().unwrap()).lines() {
        let line = line.unwrap();
        if let Some(rest) = line.split_once("PORTS ") {
            ca_pem.push_str(rest.0);
            ports = rest.1.split(' ').map(|p| p.parse::<u16>().unwrap()).collect();
            break;
        }
        if line.starts_with("-----") || !ca_pem.is_empty() {
            ca_pem.push_str(&line);
            ca_pem.push('\n');
        }
    }
    let addr = |port: u16| SocketAddr::from(([127, 0, 0, 1], port));
    let tls = BackendTls {
        hostname: "echo.test".to_owned(),
        ca_certificates: Some(ca_pem),
        subject_alt_names: Vec::new(),
        uri_subject_alt_names: Vec::new(),
        client_certificate: None,
    };
    let modes = [
        ("HTTP/1.1", addr(ports[0]), Transport { protocol: TransportProtocol::Http, tls: None }),
        ("TLS", addr(ports[1]), Transport { protocol: TransportProtocol::Https, tls: Some(tls) }),
        ("H2C", addr(ports[2]), Transport { protocol: TransportProtocol::H2c, tls: None }),
    ];
    let mut failures = Vec::new();
    let mut buf = vec![0u8; 16 << 10];
    for (name, addr, transport) in modes {
        let endpoint = Arc::new(Endpoint::new(addr, &transport).unwrap());
        for _ in 0..50 {
            exchange(&endpoint, &mut buf);
        }
        let region = Region::new(GLOBAL);
        for _ in 0..REQUESTS {
            exchange(&endpoint, &mut buf);
        }
        let stats = region.change();
        let allocations = (stats.allocations + stats.reallocations) / REQUESTS;
        let bytes = (stats.bytes_allocated + stats.bytes_reallocated.max(0).unsigned_abs()) / REQUESTS;
        println!("{name}: {allocations} allocations, {bytes} bytes allocated per request ({REQUESTS} requests)");
        if allocations > MAX_ALLOCATIONS {
            failures.push(format!("{name}: {allocations} allocations per request"));
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    assert!(failures.is_empty(), "{failures:?}");
}

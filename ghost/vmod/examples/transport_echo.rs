//! TLS, H2C and plain HTTP/1.1 echo servers for the varnishtest of ghost's backend transport
//! (`tests/f01_transport_reaches_tls_and_h2c_backends.vtc`) and `deno task bench:transport`. Usage: `transport_echo
//! <dir>`. Writes into `<dir>`: `env` (`TLS_PORT=…`, `H2C_PORT=…` and `HTTP_PORT=…`, for `sh`), `tls_ok.json` and `tls_wrong_name.json` (ghost.json `transport`
//! objects trusting the test CA, for the server's name `echo.test` and for a name its certificate does not carry),
//! then `ready`; serves until killed.

use std::fs;
use std::path::Path;

use ghost_transport::testing::{h2c_server, http1_server, test_pki, tls_server};

fn main() {
    let dir = std::env::args().nth(1).expect("usage: transport_echo <dir>");
    let dir = Path::new(&dir);
    fs::create_dir_all(dir).expect("cannot create the output directory");
    let pki = test_pki();
    let (tls, _) = tls_server(&pki, None);
    let (h2c, _) = h2c_server();
    let (http, _) = http1_server();
    let transport = |hostname: &str| {
        serde_json::json!({"protocol": "HTTPS", "tls": {"hostname": hostname, "caCertificates": pki.ca_pem}})
            .to_string()
    };
    let env = format!("TLS_PORT={}\nH2C_PORT={}\nHTTP_PORT={}\n", tls.port(), h2c.port(), http.port());
    fs::write(dir.join("env"), env).unwrap();
    fs::write(dir.join("tls_ok.json"), transport("echo.test")).unwrap();
    fs::write(dir.join("tls_wrong_name.json"), transport("wrong.test")).unwrap();
    fs::write(dir.join("ready"), "").unwrap();
    loop {
        std::thread::park();
    }
}

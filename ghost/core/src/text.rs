//! Numbers and addresses appended to a string without the formatting machinery: these run for every request (cache
//! keys, forwarding headers, the routing log line), where `write!` costs several times the work itself.

use std::fmt::Write as _;
use std::net::{IpAddr, SocketAddr};

/// Appends `n` in decimal.
pub fn push_decimal(out: &mut String, n: u64) {
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    let mut rest = n;
    loop {
        at -= 1;
        digits[at] = b'0' + u8::try_from(rest % 10).unwrap_or(0);
        rest /= 10;
        if rest == 0 {
            break;
        }
    }
    out.push_str(std::str::from_utf8(&digits[at..]).unwrap_or_default());
}

/// Appends `ip` as `Display` writes it (dotted quad for IPv4).
pub fn push_ip(out: &mut String, ip: IpAddr) {
    match ip {
        IpAddr::V4(v4) => {
            let mut text = [0u8; 15];
            let mut len = 0;
            for (i, octet) in v4.octets().into_iter().enumerate() {
                if i > 0 {
                    text[len] = b'.';
                    len += 1;
                }
                for (place, shown) in [(100, octet >= 100), (10, octet >= 10), (1, true)] {
                    if shown {
                        text[len] = b'0' + octet / place % 10;
                        len += 1;
                    }
                }
            }
            out.push_str(std::str::from_utf8(&text[..len]).unwrap_or_default());
        }
        IpAddr::V6(_) => {
            let _ = write!(out, "{ip}");
        }
    }
}

/// Appends `addr` as `Display` writes it (`a.b.c.d:port`, `[v6]:port`).
pub fn push_socket_addr(out: &mut String, addr: SocketAddr) {
    match addr {
        SocketAddr::V4(v4) => {
            push_ip(out, IpAddr::V4(*v4.ip()));
            out.push(':');
            push_decimal(out, u64::from(v4.port()));
        }
        SocketAddr::V6(_) => {
            let _ = write!(out, "{addr}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_what_display_writes() {
        for n in [0u64, 7, 10, 99, 100, 65_535, u64::MAX] {
            let mut out = String::from("x");
            push_decimal(&mut out, n);
            assert_eq!(out, format!("x{n}"));
        }
        for ip in ["0.0.0.0", "192.168.10.255", "10.0.0.1", "::1", "2001:db8::a:1", "::ffff:192.0.2.1"] {
            let ip: IpAddr = ip.parse().unwrap();
            let mut out = String::new();
            push_ip(&mut out, ip);
            assert_eq!(out, ip.to_string());
        }
        for addr in ["127.0.0.1:80", "10.1.2.3:65535", "[::1]:8080", "[fd00::a]:1"] {
            let addr: SocketAddr = addr.parse().unwrap();
            let mut out = String::new();
            push_socket_addr(&mut out, addr);
            assert_eq!(out, addr.to_string());
        }
    }
}

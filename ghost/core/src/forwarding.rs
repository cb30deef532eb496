//! The forwarding headers a backend reads to learn who the client is and how it connected.
//!
//! A client that is not a trusted proxy could claim anything in `X-Forwarded-Proto: https` (and bypass an app's
//! HTTPS enforcement) or `X-Forwarded-For` (and its IP allow-list), so its `Forwarded`, `X-Forwarded-*` and
//! `X-Real-IP` headers are dropped and the gateway states what it saw: the client address (the real client's, from
//! the PROXY protocol header, on HTTPS listeners), the listener's protocol and port, and the Host as received.
//! A trusted proxy's values are kept and only missing ones are filled in. `Forwarded` (RFC 7239) is never
//! generated: the `X-Forwarded-*` family is what frameworks read.

use std::net::IpAddr;
use std::str::FromStr;

use crate::contract::Protocol;
use crate::filters::HeaderSink;
use crate::text::{push_decimal, push_ip};

/// The headers a client that is not trusted may not set.
const CLIENT_CLAIMS: [&str; 6] =
    ["Forwarded", "X-Forwarded-For", "X-Forwarded-Proto", "X-Forwarded-Host", "X-Forwarded-Port", "X-Real-IP"];

/// An address block such as `10.0.0.0/8` or `2001:db8::/32` (a bare address is a single host).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    network: IpAddr,
    bits: u8,
}

impl FromStr for Cidr {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let (address, bits) = match text.split_once('/') {
            Some((a, b)) => (a, Some(b)),
            None => (text, None),
        };
        let network: IpAddr = address.parse().map_err(|_| format!("{text:?} is not an IP address or CIDR block"))?;
        let max = if network.is_ipv4() { 32 } else { 128 };
        let bits = match bits {
            None => max,
            Some(b) => match b.parse::<u8>() {
                Ok(n) if n <= max && !b.starts_with('+') => n,
                _ => return Err(format!("{text:?}: the prefix length must be 0 to {max}")),
            },
        };
        Ok(Self { network, bits })
    }
}

impl Cidr {
    /// Whether `ip` is inside the block (an IPv4-mapped IPv6 address counts as its IPv4 address).
    #[must_use]
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            IpAddr::V4(_) => ip,
        };
        match (self.network, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                same_prefix(u32::from(net).into(), u32::from(ip).into(), 32, self.bits)
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => same_prefix(u128::from(net), u128::from(ip), 128, self.bits),
            _ => false,
        }
    }
}

fn same_prefix(a: u128, b: u128, width: u8, bits: u8) -> bool {
    bits == 0 || (a ^ b) >> (width - bits) == 0
}

/// What the gateway knows about how a request arrived.
#[derive(Debug, Clone, Copy)]
pub struct Arrival<'a> {
    /// The client address (after the PROXY protocol), when known.
    pub client: Option<IpAddr>,
    /// Whether the client is a trusted proxy.
    pub trusted: bool,
    /// The listener's protocol and port, when the request matched a listener.
    pub listener: Option<(Protocol, u16)>,
    /// The Host header as received.
    pub host: &'a str,
}

/// Sets the forwarding headers of a request that arrived as `arrival` says.
///
/// `X-Forwarded-For` of a trusted proxy is left alone: varnishd has already appended the client address to it.
pub fn set_forwarding_headers(arrival: &Arrival<'_>, headers: &mut impl HeaderSink) {
    if !arrival.trusted {
        headers.remove_each(&CLIENT_CLAIMS);
    }
    // Every header filled here is one of CLIENT_CLAIMS: absent now unless a trusted proxy sent it.
    let mut fill = |name: &str, value: &str| {
        if !arrival.trusted {
            headers.append(name, value);
        } else if headers.get(name).is_none() {
            headers.set(name, value);
        }
    };
    // Room for an IPv6 address.
    let mut text = String::with_capacity(48);
    if let Some(client) = arrival.client {
        push_ip(&mut text, client);
        fill("X-Forwarded-For", &text);
        fill("X-Real-IP", &text);
    }
    if let Some((protocol, port)) = arrival.listener {
        fill("X-Forwarded-Proto", if protocol == Protocol::Https { "https" } else { "http" });
        text.clear();
        push_decimal(&mut text, u64::from(port));
        fill("X-Forwarded-Port", &text);
    }
    if !arrival.host.is_empty() {
        fill("X-Forwarded-Host", arrival.host);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cidr(text: &str) -> Cidr {
        text.parse().unwrap()
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn cidrs_parse_and_contain() {
        assert!(cidr("10.0.0.0/8").contains(ip("10.200.1.2")));
        assert!(!cidr("10.0.0.0/8").contains(ip("11.0.0.1")));
        assert!(cidr("10.1.2.3").contains(ip("10.1.2.3")));
        assert!(!cidr("10.1.2.3").contains(ip("10.1.2.4")));
        assert!(cidr("0.0.0.0/0").contains(ip("192.0.2.1")));
        assert!(cidr("2001:db8::/32").contains(ip("2001:db8:1::1")));
        assert!(!cidr("2001:db8::/32").contains(ip("2001:db9::1")));
        assert!(cidr("192.0.2.0/24").contains(ip("::ffff:192.0.2.7")));
        assert!(!cidr("192.0.2.0/24").contains(ip("2001:db8::1")));
        for bad in ["10.0.0.0/33", "10.0.0.0/", "x/8", "::/129", "10.0.0.0/+8", ""] {
            assert!(bad.parse::<Cidr>().is_err(), "{bad}");
        }
    }

    fn headers(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(n, v)| ((*n).to_owned(), (*v).to_owned())).collect()
    }

    const CLAIMS: [(&str, &str); 6] = [
        ("X-Forwarded-For", "6.6.6.6, 192.0.2.1"),
        ("X-Forwarded-Proto", "https"),
        ("X-Forwarded-Host", "admin.internal"),
        ("X-Forwarded-Port", "443"),
        ("Forwarded", "for=6.6.6.6;proto=https"),
        ("X-Real-IP", "6.6.6.6"),
    ];

    #[test]
    fn an_untrusted_client_gets_what_the_gateway_saw() {
        let mut h = headers(&CLAIMS);
        let arrival = Arrival {
            client: Some(ip("192.0.2.1")),
            trusted: false,
            listener: Some((Protocol::Http, 80)),
            host: "shop.example.com",
        };
        set_forwarding_headers(&arrival, &mut h);
        let mut got = h.clone();
        got.sort();
        assert_eq!(
            got,
            headers(&[
                ("X-Forwarded-For", "192.0.2.1"),
                ("X-Forwarded-Host", "shop.example.com"),
                ("X-Forwarded-Port", "80"),
                ("X-Forwarded-Proto", "http"),
                ("X-Real-IP", "192.0.2.1"),
            ])
        );
    }

    #[test]
    fn a_trusted_proxy_keeps_its_values_and_missing_ones_are_filled() {
        let mut h = headers(&CLAIMS);
        let arrival = Arrival {
            client: Some(ip("10.0.0.9")),
            trusted: true,
            listener: Some((Protocol::Http, 80)),
            host: "shop.example.com",
        };
        set_forwarding_headers(&arrival, &mut h);
        assert_eq!(h, headers(&CLAIMS));
        let mut h = headers(&[("X-Forwarded-For", "6.6.6.6, 10.0.0.9")]);
        let arrival = Arrival { listener: Some((Protocol::Https, 8443)), ..arrival };
        set_forwarding_headers(&arrival, &mut h);
        assert_eq!(HeaderSink::get(&h, "X-Forwarded-For").as_deref(), Some("6.6.6.6, 10.0.0.9"));
        assert_eq!(HeaderSink::get(&h, "X-Forwarded-Proto").as_deref(), Some("https"));
        assert_eq!(HeaderSink::get(&h, "X-Forwarded-Port").as_deref(), Some("8443"));
        assert_eq!(HeaderSink::get(&h, "X-Real-IP").as_deref(), Some("10.0.0.9"));
    }

    #[test]
    fn without_a_listener_or_client_only_claims_are_removed() {
        let mut h = headers(&CLAIMS);
        set_forwarding_headers(&Arrival { client: None, trusted: false, listener: None, host: "" }, &mut h);
        assert!(h.is_empty(), "{h:?}");
    }
}

//! The clustered cache: which gateway pod owns a cache key, and the signed token one pod sends another.
//!
//! Ownership is rendezvous hashing (highest random weight): every pod scores every peer for a key and the highest
//! score owns it. All pods read the same peer list from ghost.json, so they agree on the owner without talking to
//! each other; a peer that joins takes about 1/N of the keys (those it now scores highest on) and one that leaves
//! gives up only its own, the rest stay where they were.
//!
//! A request for an object another pod owns is sent to that pod's peer listener with a [`PeerToken`]: the decision
//! the first pod made (key, origin endpoint, cache and fetch settings), so the owner neither routes nor filters the
//! request again. The token and the request line are signed with HMAC-SHA256 under the Gateway's secret; the owner
//! accepts only a valid signature issued within [`MAX_TOKEN_AGE_MS`].

use std::net::{IpAddr, SocketAddr};

use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use crate::cache::FetchSettings;
use crate::contract::{self, Endpoint};
use crate::fetch::FetchPlan;
use crate::HeaderToken;

/// The shortest secret accepted.
pub const MIN_SECRET_LEN: usize = 32;

/// How old (or how far in the future, for clocks apart) a token may be.
pub const MAX_TOKEN_AGE_MS: u64 = 30_000;

/// The most peers a cluster lists (a Gateway's pods).
pub const MAX_PEERS: usize = 256;

/// The compiled cluster section of ghost.json.
#[derive(Debug, Clone)]
pub struct Cluster {
    peers: Vec<SocketAddr>,
    /// The hash of each peer's address, scored against each key.
    seeds: Vec<u64>,
    own: Option<usize>,
    secret: Vec<u8>,
}

/// Checks a cluster section; on failure returns the field (`.peers[2]`) and why.
///
/// # Errors
///
/// An address that is not an IP, a secret shorter than [`MIN_SECRET_LEN`], more than [`MAX_PEERS`] peers.
pub fn check(cluster: &contract::Cluster) -> Result<(), (String, String)> {
    addr(&cluster.own).map_err(|m| (".self".to_owned(), m))?;
    if cluster.peers.len() > MAX_PEERS {
        return Err((".peers".to_owned(), format!("more than {MAX_PEERS} peers")));
    }
    for (i, peer) in cluster.peers.iter().enumerate() {
        addr(peer).map_err(|m| (format!(".peers[{i}]"), m))?;
    }
    if cluster.secret.len() < MIN_SECRET_LEN {
        return Err((".secret".to_owned(), format!("must be at least {MIN_SECRET_LEN} characters")));
    }
    Ok(())
}

fn addr(endpoint: &Endpoint) -> Result<SocketAddr, String> {
    let ip: IpAddr = endpoint.address.parse().map_err(|_| format!("{:?} is not an IP address", endpoint.address))?;
    Ok(SocketAddr::new(ip, endpoint.port))
}

/// 64-bit FNV-1a: stable across builds and processes (every pod must compute the same scores).
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| (h ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01b3))
}

/// splitmix64's finaliser: spreads the combined hashes so that scores are independent per peer.
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

impl Cluster {
    /// Compiles a section that [`check`] accepted (addresses that do not parse are left out).
    #[must_use]
    pub fn new(cluster: &contract::Cluster) -> Self {
        let mut peers: Vec<SocketAddr> = cluster.peers.iter().filter_map(|p| addr(p).ok()).collect();
        peers.sort_unstable();
        peers.dedup();
        let seeds = peers.iter().map(|p| fnv1a(p.to_string().as_bytes())).collect();
        let own = addr(&cluster.own).ok().and_then(|own| peers.iter().position(|p| *p == own));
        Self { peers, seeds, own, secret: cluster.secret.as_bytes().to_vec() }
    }

    /// The peers, sorted (indices of [`Cluster::owner`]).
    #[must_use]
    pub fn peers(&self) -> &[SocketAddr] {
        &self.peers
    }

    /// This pod's index among the peers, when it is one (a pod that is not ready yet is not).
    #[must_use]
    pub fn own(&self) -> Option<usize> {
        self.own
    }

    /// The index of the peer that owns `key`, or `None` without peers.
    #[must_use]
    pub fn owner(&self, key: &str) -> Option<usize> {
        let k = fnv1a(key.as_bytes());
        (0..self.seeds.len()).max_by_key(|&i| (mix(k ^ self.seeds[i]), i))
    }

    /// The signature of `token` for the request `method url` with `host`.
    #[must_use]
    pub fn sign(&self, token: &str, method: &str, url: &str, host: &str) -> String {
        let tag = self.mac(token, method, url, host).finalize().into_bytes();
        tag.iter().fold(String::with_capacity(64), |mut out, b| {
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 15)]));
            out
        })
    }

    /// Whether `signature` is this cluster's signature of the request (compared in constant time).
    #[must_use]
    pub fn verify(&self, signature: &str, token: &str, method: &str, url: &str, host: &str) -> bool {
        let Some(tag) = unhex(signature) else { return false };
        self.mac(token, method, url, host).verify_slice(&tag).is_ok()
    }

    fn mac(&self, token: &str, method: &str, url: &str, host: &str) -> Hmac<Sha256> {
        // Any key length is valid for HMAC.
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.secret).expect("HMAC takes keys of any length");
        for part in [token, method, url, host] {
            mac.update(part.as_bytes());
            mac.update(b"\n");
        }
        mac
    }
}

const HEX: &[u8; 16] = b"0123456789abcdef";

fn unhex(text: &str) -> Option<Vec<u8>> {
    if text.len() != 64 {
        return None;
    }
    let digit = |c: u8| char::from(c).to_digit(16).and_then(|d| u8::try_from(d).ok());
    text.as_bytes().chunks(2).map(|pair| Some(digit(pair[0])? << 4 | digit(pair[1])?)).collect()
}

/// What the first pod decided for a request it sends to the object's owner.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PeerToken {
    /// The cache key (`hash_data()` on the owner).
    #[serde(rename = "k")]
    pub key: String,
    /// The origin endpoint the first pod chose.
    #[serde(rename = "e")]
    pub endpoint: SocketAddr,
    /// The rule's cache settings for the owner's fetch.
    #[serde(rename = "c")]
    pub cache: FetchSettings,
    /// The rule's timeouts and retries, without the first pod's endpoint indices.
    #[serde(rename = "p", default, skip_serializing_if = "Option::is_none")]
    pub plan: Option<FetchPlan>,
    /// The `X-Forwarded-For` the first pod set (the owner's Varnish would append the first pod's address).
    #[serde(rename = "x", default, skip_serializing_if = "Option::is_none")]
    pub forwarded_for: Option<String>,
    /// When the token was made (milliseconds since the Unix epoch).
    #[serde(rename = "t")]
    pub issued_ms: u64,
    /// Whether the request's body joins the key (a cached POST): the owner caches and hashes the body it receives
    /// and fetches a miss with the request's method and body.
    #[serde(rename = "b", default, skip_serializing_if = "std::ops::Not::not")]
    pub body: bool,
}

impl HeaderToken for PeerToken {}

impl PeerToken {
    /// Whether the token, made at `issued_ms`, may still be used at `now_ms`.
    #[must_use]
    pub fn is_fresh(&self, now_ms: u64) -> bool {
        self.issued_ms.abs_diff(now_ms) <= MAX_TOKEN_AGE_MS
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Peers 10.0.0.1 … 10.0.0.n, this pod 10.0.0.own.
    fn section(n: u8, own: u8) -> contract::Cluster {
        let peer = |i: u8| Endpoint { address: format!("10.0.0.{i}"), port: 6086 };
        contract::Cluster { own: peer(own), peers: (1..=n).map(peer).collect(), secret: "s".repeat(MIN_SECRET_LEN) }
    }

    fn cluster(n: u8, own: u8) -> Cluster {
        Cluster::new(&section(n, own))
    }

    fn owners(c: &Cluster, keys: usize) -> Vec<SocketAddr> {
        (0..keys).map(|i| c.peers()[c.owner(&format!("example.com/item/{i}")).unwrap()]).collect()
    }

    #[test]
    fn every_pod_agrees_on_the_owner_and_knows_itself() {
        let (a, b) = (cluster(3, 1), cluster(3, 3));
        assert_eq!(owners(&a, 500), owners(&b, 500));
        assert_eq!((a.own(), b.own()), (Some(0), Some(2)));
        assert_eq!(cluster(3, 9).own(), None);
        assert_eq!(cluster(0, 1).owner("k"), None);
    }

    #[test]
    fn keys_spread_evenly_over_the_peers() {
        for n in [2u8, 3, 5, 8] {
            let c = cluster(n, 1);
            let keys = 20_000;
            let all = owners(&c, keys);
            let fair = keys / usize::from(n);
            for peer in c.peers() {
                let mine = all.iter().filter(|o| *o == peer).count();
                assert!(mine.abs_diff(fair) * 10 < fair, "{n} peers: {peer} owns {mine} of {keys}, fair is {fair}");
            }
        }
    }

    #[test]
    fn a_joining_peer_takes_about_one_nth_and_moves_nothing_else() {
        let keys = 20_000;
        let (before, after) = (owners(&cluster(4, 1), keys), owners(&cluster(5, 1), keys));
        let joined: SocketAddr = "10.0.0.5:6086".parse().unwrap();
        let moved = before.iter().zip(&after).filter(|(b, a)| b != a).count();
        assert!(before.iter().zip(&after).all(|(b, a)| b == a || *a == joined), "a key moved between old peers");
        assert!(moved.abs_diff(keys / 5) * 10 < keys / 5, "{moved} of {keys} keys moved, about 1/5 expected");
    }

    #[test]
    fn a_leaving_peer_gives_up_only_its_own_keys() {
        let keys = 20_000;
        let (before, after) = (owners(&cluster(5, 1), keys), owners(&cluster(4, 1), keys));
        let left: SocketAddr = "10.0.0.5:6086".parse().unwrap();
        for (b, a) in before.iter().zip(&after) {
            assert!(b == a || *b == left, "a key of {b} moved to {a}");
        }
        // The leaver's keys spread over the others rather than landing on one.
        let inherited = |p: &str| {
            let p: SocketAddr = p.parse().unwrap();
            before.iter().zip(&after).filter(|(b, a)| **b == left && **a == p).count()
        };
        for p in ["10.0.0.1:6086", "10.0.0.2:6086", "10.0.0.3:6086", "10.0.0.4:6086"] {
            assert!(inherited(p) > keys / 5 / 4 / 2, "{p} inherited {} keys", inherited(p));
        }
    }

    #[test]
    fn signatures_cover_the_token_and_the_request_line() {
        let c = cluster(3, 1);
        let sig = c.sign("{}", "GET", "/a", "example.com");
        assert_eq!(sig.len(), 64);
        assert!(c.verify(&sig, "{}", "GET", "/a", "example.com"));
        assert!(!c.verify(&sig, "{ }", "GET", "/a", "example.com"));
        assert!(!c.verify(&sig, "{}", "HEAD", "/a", "example.com"));
        assert!(!c.verify(&sig, "{}", "GET", "/b", "example.com"));
        assert!(!c.verify(&sig, "{}", "GET", "/a", "other.com"));
        assert!(!c.verify(&sig[..63], "{}", "GET", "/a", "example.com"));
        assert!(!c.verify("", "{}", "GET", "/a", "example.com"));
        let other = Cluster::new(&contract::Cluster { secret: "t".repeat(MIN_SECRET_LEN), ..section(3, 1) });
        assert!(!other.verify(&sig, "{}", "GET", "/a", "example.com"));
    }

    #[test]
    fn check_refuses_bad_addresses_and_short_secrets() {
        let good = section(1, 1);
        assert!(check(&good).is_ok());
        let bad_peer = contract::Cluster { peers: vec![Endpoint { address: "pod-a".into(), port: 1 }], ..good.clone() };
        assert_eq!(check(&bad_peer).unwrap_err().0, ".peers[0]");
        let short = contract::Cluster { secret: "short".into(), ..good };
        assert_eq!(check(&short).unwrap_err().0, ".secret");
    }

    #[test]
    fn tokens_expire() {
        let token = PeerToken {
            key: "k".into(),
            endpoint: "10.1.0.1:80".parse().unwrap(),
            cache: serde_json::from_str(r#"{"r":"ns/r/0","p":"ns/p","n":"ns","h":"h","d":1,"g":0,"k":0,"sk":"x"}"#)
                .unwrap(),
            plan: None,
            forwarded_for: None,
            issued_ms: 100_000,
            body: false,
        };
        assert_eq!(PeerToken::from_token(&token.to_token()), Some(token.clone()));
        assert!(token.is_fresh(100_000 + MAX_TOKEN_AGE_MS) && token.is_fresh(100_000 - MAX_TOKEN_AGE_MS));
        assert!(!token.is_fresh(100_001 + MAX_TOKEN_AGE_MS));
        let with_body = PeerToken { body: true, ..token.clone() };
        assert_eq!(PeerToken::from_token(&with_body.to_token()), Some(with_body));
        assert!(!token.to_token().is_empty());
    }
}

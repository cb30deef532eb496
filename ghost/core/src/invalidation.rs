//! Invalidation keys: the `xkey` keys that let varnish-modules' `xkey` find every object of one URL, one path
//! prefix or one hostname, always within one namespace (tenant).
//!
//! Every stored object of a cached rule carries, besides its namespaced surrogate keys, implicit keys
//! ([`object_keys`]): one for its hostname, one for its URL path (shared by every variant: query, header and cookie
//! parts of the key) and one per ancestor directory of the path (`/`, `/a/`, `/a/b/`, at most
//! [`MAX_PREFIX_DEPTH`]). An invalidation ([`invalidation_keys`]) names the same keys, so `xkey.purge()` or
//! `xkey.softpurge()` reach exactly those objects. Keys hash the hostname and path (so they stay short tokens
//! whatever the path holds) and start with `<namespace>/`, like surrogate keys, so one tenant never names another's.

use std::fmt::{self, Write as _};

use crate::request::split_url;

/// The deepest directory indexed per object (`/` is depth 1, `/a/` depth 2): a prefix deeper than this cannot be
/// invalidated, and the request that names one is refused.
pub const MAX_PREFIX_DEPTH: usize = 16;

/// The most entries one invalidation request may name.
pub const MAX_ENTRIES: usize = 256;

/// The longest surrogate key an invalidation may name.
pub const MAX_KEY_LENGTH: usize = 256;

/// What an invalidation names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Every variant of some URL paths.
    Url,
    /// Every object whose path lies under some prefixes (path segments, as a Gateway API `PathPrefix` match).
    Prefix,
    /// Every object carrying some surrogate keys.
    Tag,
    /// Every object of the hostname.
    All,
}

impl Kind {
    /// Parses `url`, `prefix`, `tag` or `all`.
    #[must_use]
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "url" => Some(Self::Url),
            "prefix" => Some(Self::Prefix),
            "tag" => Some(Self::Tag),
            "all" => Some(Self::All),
            _ => None,
        }
    }
}

/// An invalidation request that ghost refuses (the chaperone validates first; this is the second line).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidRequest(String);

impl InvalidRequest {
    /// What is wrong.
    #[must_use]
    pub fn message(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for InvalidRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid invalidation: {}", self.0)
    }
}

impl std::error::Error for InvalidRequest {}

/// The implicit keys of an object stored for `namespace` under `host` and `url` (as fetched; the query is not part
/// of them), space-separated: hostname, URL path, then each ancestor directory.
#[must_use]
pub fn object_keys(namespace: &str, host: &str, url: &str) -> String {
    let path = split_url(url).0;
    let mut out = String::with_capacity(64 + 24 * MAX_PREFIX_DEPTH);
    push_key(&mut out, namespace, 'h', host, "");
    push_key(&mut out, namespace, 'u', host, path);
    for (depth, (i, _)) in path.match_indices('/').enumerate() {
        if depth == MAX_PREFIX_DEPTH {
            break;
        }
        push_key(&mut out, namespace, 'd', host, &path[..=i]);
    }
    out
}

/// The keys that one invalidation names, space-separated, for `xkey.purge()` / `xkey.softpurge()`.
///
/// `entries` is space-separated: URL paths (`Url`), path prefixes (`Prefix`: `/a/` covers paths under `/a/`, `/a`
/// covers `/a` itself and paths under `/a/`, never `/ab`), surrogate keys as the origin sent them (`Tag`), or
/// nothing (`All`).
///
/// # Errors
///
/// When the namespace, hostname or an entry is malformed, a prefix is deeper than [`MAX_PREFIX_DEPTH`], or there are
/// no entries (or some for `All`) or more than [`MAX_ENTRIES`].
pub fn invalidation_keys(namespace: &str, host: &str, kind: Kind, entries: &str) -> Result<String, InvalidRequest> {
    let bad = |what: String| Err(InvalidRequest(what));
    if namespace.is_empty()
        || namespace.len() > 63
        || !namespace.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    {
        return bad(format!("namespace {namespace:?} is not a namespace name"));
    }
    if host.is_empty()
        || host.len() > 253
        || !host.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.')
    {
        return bad(format!("hostname {host:?} is not a lowercase hostname"));
    }
    let entries: Vec<&str> = entries.split_ascii_whitespace().collect();
    if kind == Kind::All {
        if !entries.is_empty() {
            return bad("\"all\" takes no entries".to_owned());
        }
        let mut out = String::new();
        push_key(&mut out, namespace, 'h', host, "");
        return Ok(out);
    }
    if entries.is_empty() || entries.len() > MAX_ENTRIES {
        return bad(format!("{} entries, expected 1 to {MAX_ENTRIES}", entries.len()));
    }
    let mut out = String::with_capacity(entries.len() * 48);
    for entry in entries {
        match kind {
            Kind::Tag => {
                if !is_surrogate_key(entry) {
                    return bad(format!(
                        "surrogate key {entry:?} is not 1 to {MAX_KEY_LENGTH} visible ASCII characters without commas"
                    ));
                }
                if !out.is_empty() {
                    out.push(' ');
                }
                let _ = write!(out, "{namespace}/{entry}");
            }
            Kind::Url | Kind::Prefix => {
                if !entry.starts_with('/') || entry.contains(['?', '#']) || !entry.bytes().all(|b| b.is_ascii_graphic())
                {
                    return bad(format!("path {entry:?} is not an absolute path without query"));
                }
                if kind == Kind::Url {
                    push_key(&mut out, namespace, 'u', host, entry);
                } else if entry.ends_with('/') {
                    push_dir(&mut out, namespace, host, entry)?;
                } else {
                    push_key(&mut out, namespace, 'u', host, entry);
                    push_dir(&mut out, namespace, host, &format!("{entry}/"))?;
                }
            }
            Kind::All => unreachable!("handled above"),
        }
    }
    Ok(out)
}

/// A surrogate key as an invalidation may name it: visible ASCII without `,` (`product:42`, `cat/shoes`), at most
/// [`MAX_KEY_LENGTH`]. Whitespace and `,` separate keys in the `Surrogate-Key` and `xkey` headers, so a key holding
/// one would be several. Any other character is safe: keys are scoped as `<namespace>/<key>` and a namespace name
/// never holds `/`, so the first `/` ends the namespace whatever the key holds (`other/x` named in `a` is `a/other/x`).
fn is_surrogate_key(key: &str) -> bool {
    !key.is_empty() && key.len() <= MAX_KEY_LENGTH && key.bytes().all(|b| b.is_ascii_graphic() && b != b',')
}

fn push_dir(out: &mut String, namespace: &str, host: &str, dir: &str) -> Result<(), InvalidRequest> {
    let depth = dir.matches('/').count();
    if depth > MAX_PREFIX_DEPTH {
        return Err(InvalidRequest(format!(
            "prefix {dir:?} is {depth} directories deep, at most {MAX_PREFIX_DEPTH} are indexed"
        )));
    }
    push_key(out, namespace, 'd', host, dir);
    Ok(())
}

/// Appends `<namespace>/#<class><hash of host and path>`; `#` and the fixed length keep them apart from what
/// origins usually send as surrogate keys.
fn push_key(out: &mut String, namespace: &str, class: char, host: &str, path: &str) {
    if !out.is_empty() {
        out.push(' ');
    }
    let _ = write!(out, "{namespace}/#{class}{:016x}", fnv1a(&[host.as_bytes(), b" ", path.as_bytes()]));
}

/// 64-bit FNV-1a: stable across builds and platforms (objects and invalidations must agree), cheap on a miss.
fn fnv1a(parts: &[&[u8]]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for byte in *part {
            hash ^= u64::from(*byte);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
    }
    hash
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(text: &str) -> Vec<&str> {
        text.split(' ').collect()
    }

    #[test]
    fn objects_carry_host_url_and_ancestor_directory_keys() {
        let k = object_keys("shop", "shop.example.com", "/a/b/c.html?x=1");
        let k = keys(&k);
        assert_eq!(k.len(), 2 + 3);
        assert!(k.iter().all(|key| key.starts_with("shop/#") && key.len() == "shop/#h".len() + 16));
        assert_eq!(k[0], invalidation_keys("shop", "shop.example.com", Kind::All, "").unwrap());
        assert_eq!(k[1], invalidation_keys("shop", "shop.example.com", Kind::Url, "/a/b/c.html").unwrap());
        assert_eq!(k[2], invalidation_keys("shop", "shop.example.com", Kind::Prefix, "/").unwrap());
        assert_eq!(k[3], invalidation_keys("shop", "shop.example.com", Kind::Prefix, "/a/").unwrap());
        assert_eq!(k[4], invalidation_keys("shop", "shop.example.com", Kind::Prefix, "/a/b/").unwrap());
    }

    #[test]
    fn query_variants_share_the_url_key() {
        let a = object_keys("shop", "h.example", "/p?a=1");
        let b = object_keys("shop", "h.example", "/p");
        assert_eq!(a, b);
    }

    #[test]
    fn keys_differ_by_namespace_host_and_path() {
        let base = object_keys("a", "h.example", "/p");
        assert_ne!(keys(&base)[1], keys(&object_keys("a", "h.example", "/q"))[1]);
        assert_ne!(keys(&base)[0], keys(&object_keys("a", "g.example", "/p"))[0]);
        let other = object_keys("b", "h.example", "/p");
        assert!(keys(&other).iter().all(|k| !keys(&base).contains(k)));
    }

    #[test]
    fn a_prefix_without_slash_covers_the_path_and_what_is_under_it() {
        let k = invalidation_keys("shop", "h.example", Kind::Prefix, "/a").unwrap();
        let object_a = object_keys("shop", "h.example", "/a");
        let object_under = object_keys("shop", "h.example", "/a/x");
        let object_sibling = object_keys("shop", "h.example", "/ab");
        let named = keys(&k);
        assert!(keys(&object_a).iter().any(|o| named.contains(o)));
        assert!(keys(&object_under).iter().any(|o| named.contains(o)));
        assert!(!keys(&object_sibling).iter().any(|o| named.contains(o)));
    }

    #[test]
    fn tags_are_prefixed_with_the_namespace() {
        assert_eq!(invalidation_keys("shop", "h.example", Kind::Tag, "p-1  list").unwrap(), "shop/p-1 shop/list");
    }

    #[test]
    fn surrogate_keys_take_any_visible_ascii_but_the_comma_and_stay_in_their_namespace() {
        let named = invalidation_keys("shop", "h.example", Kind::Tag, "product:42 cat/shoes a\"b;c=d").unwrap();
        assert_eq!(named, "shop/product:42 shop/cat/shoes shop/a\"b;c=d");
        // A key spelt with another namespace's prefix is still the caller's: "a" naming "b/x" is not "b"'s "x".
        let a = invalidation_keys("a", "h.example", Kind::Tag, "b/x").unwrap();
        assert_eq!(a, "a/b/x");
        assert_ne!(a, invalidation_keys("b", "h.example", Kind::Tag, "x").unwrap());
        let longest = "k".repeat(MAX_KEY_LENGTH);
        assert!(invalidation_keys("n", "h", Kind::Tag, &longest).is_ok());
        assert!(invalidation_keys("n", "h", Kind::Tag, &format!("{longest}k")).is_err());
    }

    #[test]
    fn deep_paths_index_sixteen_directories_and_deeper_prefixes_are_refused() {
        let deep = format!("{}x", "/d".repeat(20));
        assert_eq!(keys(&object_keys("n", "h", &deep)).len(), 2 + MAX_PREFIX_DEPTH);
        let deepest = format!("{}/", "/d".repeat(MAX_PREFIX_DEPTH - 1));
        assert!(invalidation_keys("n", "h", Kind::Prefix, &deepest).is_ok());
        let too_deep = format!("{}/", "/d".repeat(MAX_PREFIX_DEPTH));
        assert!(invalidation_keys("n", "h", Kind::Prefix, &too_deep).is_err());
    }

    #[test]
    fn malformed_requests_are_refused() {
        let cases = [
            ("Shop", "h", Kind::All, ""),
            ("", "h", Kind::All, ""),
            ("a/b", "h", Kind::All, ""),
            ("n", "H.example", Kind::All, ""),
            ("n", "h example", Kind::All, ""),
            ("n", "h", Kind::All, "/a"),
            ("n", "h", Kind::Url, ""),
            ("n", "h", Kind::Url, "a"),
            ("n", "h", Kind::Url, "/a?b"),
            ("n", "h", Kind::Prefix, "/a#b"),
            ("n", "h", Kind::Tag, "a,b"),
            ("n", "h", Kind::Tag, "caf\u{e9}"),
            ("n", "h", Kind::Tag, "a\u{7f}"),
            ("n", "h", Kind::Tag, "a\u{0}b"),
        ];
        for (ns, host, kind, entries) in cases {
            assert!(invalidation_keys(ns, host, kind, entries).is_err(), "{ns} {host} {kind:?} {entries}");
        }
        let many = vec!["t"; MAX_ENTRIES + 1].join(" ");
        assert!(invalidation_keys("n", "h", Kind::Tag, &many).is_err());
    }

    #[test]
    fn the_hash_is_stable() {
        // Objects stored by one build must be found by the next: pin the function.
        assert_eq!(fnv1a(&[b"a"]), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(object_keys("n", "h", "/"), "n/#h08ba9807b55f24b5 n/#u3434ef1930ab31ae n/#d3434ef1930ab31ae");
    }
}

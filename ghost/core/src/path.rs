//! Request path normalisation before matching, so that the gateway and the backend read the same path.
//!
//! RFC 3986 section 6.2.2: percent-encoded unreserved characters are decoded and the other escapes are written in
//! upper case, dot segments are removed (section 5.2.4), and empty segments are merged (`//admin` is `/admin`). A
//! segment's path parameters (`;x`, which servlet containers and others drop) do not count for matching and a
//! `..;x` segment is a dot segment, so `/admin;x` matches like `/admin` and `/public/..;/admin` is `/admin`.
//! Encoded `/` and `\` (`%2F`, `%5C`) and a raw `\` follow the Gateway's [`EscapedSlashes`] policy: many frameworks
//! decode them into path separators after routing, so by default they are refused.

use std::borrow::Cow;

use crate::contract::EscapedSlashes;

/// What to do with a request path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PathCheck<'a> {
    /// Route and forward it.
    Use(NormalPath<'a>),
    /// Answer 400 with this reason.
    Reject(&'static str),
    /// Answer a redirect to this path (escaped slashes unescaped).
    Redirect(String),
}

/// A normalised request path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NormalPath<'a> {
    /// The path to forward: normalised, with the segments' path parameters.
    pub target: Cow<'a, str>,
    /// The path to match: `target` without path parameters.
    pub matching: Cow<'a, str>,
}

impl NormalPath<'_> {
    /// Whether normalisation changed the path the client sent.
    #[must_use]
    pub fn changed(&self, raw: &str) -> bool {
        matches!(self.target, Cow::Owned(_)) && self.target != raw
    }
}

/// Normalises `path` (the request target without its query) under the `escaped` policy.
///
/// A path that does not start with `/` (`*`, an absolute-form target) is used as it is.
#[must_use]
pub fn normalize_path(path: &str, escaped: EscapedSlashes) -> PathCheck<'_> {
    if !path.starts_with('/') || is_normal(path) {
        return PathCheck::Use(NormalPath { target: Cow::Borrowed(path), matching: Cow::Borrowed(path) });
    }
    let (decoded, unescaped) = match decode(path, escaped) {
        Ok(d) => d,
        Err(reason) => return PathCheck::Reject(reason),
    };
    let target = remove_dot_segments(&decoded);
    if unescaped && escaped == EscapedSlashes::UnescapeAndRedirect {
        return PathCheck::Redirect(target);
    }
    let matching = if target.contains(';') { without_parameters(&target) } else { target.clone() };
    let matching = Cow::Owned(matching);
    PathCheck::Use(NormalPath { target: Cow::Owned(target), matching })
}

/// The fast path, in one pass: nothing to decode, no `\`, no parameters, no empty (but a last) or dot segment.
fn is_normal(path: &str) -> bool {
    let bytes = path.as_bytes();
    let ends_segment = |i: usize| matches!(bytes.get(i), None | Some(b'/'));
    for (i, &b) in bytes.iter().enumerate() {
        match b {
            b'%' | b'\\' | b';' => return false,
            b'/' if bytes.get(i + 1) == Some(&b'/') => return false,
            b'/' if bytes.get(i + 1) == Some(&b'.')
                && (ends_segment(i + 2) || (bytes.get(i + 2) == Some(&b'.') && ends_segment(i + 3))) =>
            {
                return false;
            }
            _ => {}
        }
    }
    true
}

/// Decodes unreserved escapes, upper-cases the others and applies the escaped-slash policy; also says whether a
/// slash was unescaped.
fn decode(path: &str, escaped: EscapedSlashes) -> Result<(String, bool), &'static str> {
    let bytes = path.as_bytes();
    let mut out = String::with_capacity(path.len());
    let mut unescaped = false;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        let (value, escape) = if b == b'%' {
            let (Some(h), Some(l)) = (bytes.get(i + 1).and_then(|&c| hex(c)), bytes.get(i + 2).and_then(|&c| hex(c)))
            else {
                return Err("malformed percent-encoding in the request path");
            };
            i += 3;
            (h << 4 | l, true)
        } else {
            i += 1;
            (b, false)
        };
        match value {
            b'/' if !escape => out.push('/'),
            b'/' | b'\\' => match escaped {
                EscapedSlashes::Reject => return Err("encoded or backslash path separators are not allowed"),
                EscapedSlashes::KeepUnchanged if escape => push_escape(&mut out, value),
                EscapedSlashes::KeepUnchanged => out.push('\\'),
                EscapedSlashes::UnescapeAndRedirect | EscapedSlashes::UnescapeAndForward => {
                    unescaped = true;
                    out.push('/');
                }
            },
            v if escape && is_unreserved(v) => out.push(char::from(v)),
            v if escape => push_escape(&mut out, v),
            // Non-ASCII bytes only come from a valid &str, so copying the whole character keeps it valid.
            _ if b >= 0x80 => {
                let start = i - 1;
                let end = (start + 1..=bytes.len()).find(|&e| path.is_char_boundary(e)).unwrap_or(bytes.len());
                out.push_str(&path[start..end]);
                i = end;
            }
            v => out.push(char::from(v)),
        }
    }
    Ok((out, unescaped))
}

fn push_escape(out: &mut String, value: u8) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    out.push('%');
    out.push(char::from(HEX[usize::from(value >> 4)]));
    out.push(char::from(HEX[usize::from(value & 15)]));
}

fn hex(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')
}

/// Removes `.` and `..` segments (a segment whose name before `;` is a dot counts) and merges empty segments; a
/// path that ended in a dot segment or a slash keeps its trailing slash.
fn remove_dot_segments(path: &str) -> String {
    let mut kept: Vec<&str> = Vec::new();
    let mut trailing_slash = false;
    for segment in path.split('/').skip(1) {
        let name = segment.split(';').next().unwrap_or(segment);
        trailing_slash = true;
        match name {
            "." => {}
            ".." => {
                kept.pop();
            }
            _ if segment.is_empty() => {}
            _ => {
                kept.push(segment);
                trailing_slash = false;
            }
        }
    }
    let mut out = String::with_capacity(path.len());
    for segment in &kept {
        out.push('/');
        out.push_str(segment);
    }
    if trailing_slash || kept.is_empty() {
        out.push('/');
    }
    out
}

/// `path` without each segment's `;` parameters.
fn without_parameters(path: &str) -> String {
    path.split('/').map(|segment| segment.split(';').next().unwrap_or(segment)).collect::<Vec<_>>().join("/")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn normal(path: &str, escaped: EscapedSlashes) -> (String, String) {
        match normalize_path(path, escaped) {
            PathCheck::Use(n) => (n.target.into_owned(), n.matching.into_owned()),
            other => panic!("{path}: {other:?}"),
        }
    }

    fn target(path: &str) -> String {
        normal(path, EscapedSlashes::Reject).0
    }

    #[test]
    fn normal_paths_are_borrowed() {
        for path in ["/", "/admin", "/a/b/", "/a.b/c..d/.e", "*", "http://x/a//b"] {
            let PathCheck::Use(n) = normalize_path(path, EscapedSlashes::Reject) else { panic!("{path}") };
            assert!(matches!(n.target, Cow::Borrowed(_)), "{path}");
            assert!(!n.changed(path));
        }
    }

    #[test]
    fn the_fast_path_takes_only_paths_the_slow_path_leaves_alone() {
        let paths = [
            "/",
            "/a",
            "/a/",
            "//",
            "/a//b",
            "/.",
            "/..",
            "/a/.",
            "/a/..",
            "/a/./b",
            "/a/../b",
            "/.a",
            "/..a",
            "/a.",
            "/a/.../b",
            "/a/.b/..c/",
            "/a/b.",
            "/a/./",
            "/.well-known/x",
        ];
        for path in paths {
            let (decoded, _) = decode(path, EscapedSlashes::Reject).unwrap();
            assert_eq!(is_normal(path), remove_dot_segments(&decoded) == path, "{path}");
        }
    }

    #[test]
    fn unreserved_escapes_are_decoded_and_others_upper_cased() {
        assert_eq!(target("/%61dmin"), "/admin");
        assert_eq!(target("/%41%7a%30-%2E_%7E"), "/Az0-._~");
        assert_eq!(target("/caf%c3%a9%20x"), "/caf%C3%A9%20x");
        assert_eq!(target("/caf\u{e9}/%3f"), "/caf\u{e9}/%3F");
    }

    #[test]
    fn dot_segments_are_removed_and_slashes_merged() {
        assert_eq!(target("//admin"), "/admin");
        assert_eq!(target("/./admin"), "/admin");
        assert_eq!(target("/x/../admin"), "/admin");
        assert_eq!(target("/../../admin"), "/admin");
        assert_eq!(target("/%2e%2e/admin"), "/admin");
        assert_eq!(target("/a/b/.."), "/a/");
        assert_eq!(target("/a/."), "/a/");
        assert_eq!(target("/a//b///"), "/a/b/");
        assert_eq!(target("/.."), "/");
        assert_eq!(target("/public/..;/admin"), "/admin");
    }

    #[test]
    fn path_parameters_are_kept_for_the_backend_but_not_matched() {
        assert_eq!(normal("/admin;x", EscapedSlashes::Reject), ("/admin;x".into(), "/admin".into()));
        assert_eq!(normal("/a;v=1/b;c", EscapedSlashes::Reject), ("/a;v=1/b;c".into(), "/a/b".into()));
    }

    #[test]
    fn malformed_escapes_are_rejected() {
        for path in ["/a%", "/a%2", "/a%zz", "/%g0"] {
            assert!(matches!(normalize_path(path, EscapedSlashes::KeepUnchanged), PathCheck::Reject(_)), "{path}");
        }
    }

    #[test]
    fn escaped_slashes_follow_the_policy() {
        for path in ["/admin%2fx", "/admin%2Fx", "/admin%5cx", "/admin\\x"] {
            assert!(matches!(normalize_path(path, EscapedSlashes::Reject), PathCheck::Reject(_)), "{path}");
            assert_eq!(
                normalize_path(path, EscapedSlashes::UnescapeAndRedirect),
                PathCheck::Redirect("/admin/x".into()),
                "{path}"
            );
            assert_eq!(normal(path, EscapedSlashes::UnescapeAndForward).0, "/admin/x", "{path}");
        }
        assert_eq!(normal("/admin%2fx", EscapedSlashes::KeepUnchanged).0, "/admin%2Fx");
        assert_eq!(normal("/a\\b", EscapedSlashes::KeepUnchanged).0, "/a\\b");
        assert_eq!(normal("/a/%2e%2e%2fb", EscapedSlashes::UnescapeAndForward).0, "/b");
    }
}

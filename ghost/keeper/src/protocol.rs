//! The keeper's requests and replies: one line each, on a connection of their own.
//!
//! - `get <addr>`: the reply `ok` carries the kept socket for `<addr>` (SCM_RIGHTS), `none` says none is kept.
//! - `put <addr>` carries a socket bound to `<addr>`: kept unless one is kept already (`ok`), or `error <why>`.
//! - `retain <port>,<port>...` (or `retain` alone: none): the kept sockets of every other port are closed (`ok`), so a
//!   listener the chaperone no longer has refuses connections instead of queueing them for nobody.
//!
//! `<addr>` is a socket address as Rust prints it (`0.0.0.0:80`, `[::]:80`).

use std::fmt;
use std::net::SocketAddr;

/// Longest request or reply line, newline included.
pub const MAX_LINE: usize = 256;

/// A request to the keeper.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    /// Asks for the socket kept for this address.
    Get(SocketAddr),
    /// Offers the attached socket, bound to this address.
    Put(SocketAddr),
    /// Keeps the sockets of these ports only, closing the others.
    Retain(Vec<u16>),
}

/// The keeper's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// Done; for a `get`, the socket is attached.
    Ok,
    /// No socket is kept for the address.
    None,
    /// The request was refused, and why.
    Error(String),
}

impl fmt::Display for Request {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Request::Get(addr) => writeln!(f, "get {addr}"),
            Request::Put(addr) => writeln!(f, "put {addr}"),
            Request::Retain(ports) if ports.is_empty() => writeln!(f, "retain"),
            Request::Retain(ports) => {
                let ports: Vec<String> = ports.iter().map(u16::to_string).collect();
                writeln!(f, "retain {}", ports.join(","))
            }
        }
    }
}

impl fmt::Display for Reply {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reply::Ok => writeln!(f, "ok"),
            Reply::None => writeln!(f, "none"),
            // One line: a reason never carries the framing.
            Reply::Error(why) => writeln!(f, "error {}", why.replace('\n', " ")),
        }
    }
}

impl Request {
    /// Parses one request line (with or without its newline).
    ///
    /// # Errors
    /// A line that is not `get <addr>`, `put <addr>` or `retain [<ports>]`, with why.
    pub fn parse(line: &str) -> Result<Request, String> {
        let line = line.strip_suffix('\n').unwrap_or(line);
        if line == "retain" {
            return Ok(Request::Retain(Vec::new()));
        }
        let (verb, addr) = line.split_once(' ').ok_or_else(|| format!("not a request: {line:?}"))?;
        if verb == "retain" {
            return addr
                .split(',')
                .map(|p| p.parse::<u16>().ok().filter(|&p| p != 0).ok_or(format!("not a port: {p:?}")))
                .collect::<Result<Vec<_>, _>>()
                .map(Request::Retain);
        }
        let addr: SocketAddr = addr.parse().map_err(|_| format!("not a socket address: {addr:?}"))?;
        match verb {
            "get" => Ok(Request::Get(addr)),
            "put" => Ok(Request::Put(addr)),
            _ => Err(format!("unknown request {verb:?}")),
        }
    }
}

impl Reply {
    /// Parses one reply line (with or without its newline).
    ///
    /// # Errors
    /// A line that is no reply, with why.
    pub fn parse(line: &str) -> Result<Reply, String> {
        let line = line.strip_suffix('\n').unwrap_or(line);
        match line {
            "ok" => Ok(Reply::Ok),
            "none" => Ok(Reply::None),
            _ => line
                .strip_prefix("error ")
                .map(|why| Reply::Error(why.to_string()))
                .ok_or_else(|| format!("not a reply: {line:?}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_round_trip() {
        for request in [
            Request::Get("0.0.0.0:80".parse().unwrap()),
            Request::Put("[::]:8443".parse().unwrap()),
            Request::Get("127.0.0.1:6086".parse().unwrap()),
            Request::Retain(vec![80, 443, 6100]),
            Request::Retain(vec![]),
        ] {
            assert_eq!(Request::parse(&request.to_string()), Ok(request));
        }
    }

    #[test]
    fn replies_round_trip() {
        for reply in [Reply::Ok, Reply::None, Reply::Error("not a socket".into())] {
            assert_eq!(Reply::parse(&reply.to_string()), Ok(reply));
        }
    }

    #[test]
    fn a_reason_stays_on_one_line() {
        assert_eq!(Reply::Error("a\nb".into()).to_string(), "error a b\n");
    }

    #[test]
    fn bad_requests_say_why() {
        assert_eq!(Request::parse("get"), Err("not a request: \"get\"".into()));
        assert_eq!(Request::parse("get :80"), Err("not a socket address: \":80\"".into()));
        assert_eq!(Request::parse("drop 0.0.0.0:80"), Err("unknown request \"drop\"".into()));
        assert_eq!(Request::parse("retain 80,x"), Err("not a port: \"x\"".into()));
        assert_eq!(Request::parse("retain 0"), Err("not a port: \"0\"".into()));
        assert!(Reply::parse("maybe").is_err());
    }
}

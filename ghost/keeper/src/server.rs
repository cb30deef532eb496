//! The keeper's side of a connection: the peer must be this user; one request, one reply.

use crate::fd_passing::{recv_line, send_line};
use crate::log::log;
use crate::protocol::{Reply, Request};
use crate::sockets::{own_uid, peer_uid};
use crate::store::{Outcome, Store};
use std::io;
use std::os::unix::net::{UnixListener, UnixStream};
use std::time::Duration;

/// How long a peer may take to send its request or read the reply: a stuck one must not stall the others.
const PEER_TIMEOUT: Duration = Duration::from_secs(1);

/// Serves one connection: refuses a peer of another user, reads one request (and its descriptor), replies.
///
/// # Errors
/// The peer's user could not be read or is another, or the exchange failed (timeouts included).
pub fn serve_connection(stream: &UnixStream, store: &mut Store) -> io::Result<Outcome> {
    let uid = peer_uid(stream)?;
    if uid != own_uid() {
        return Err(io::Error::new(io::ErrorKind::PermissionDenied, format!("peer of user {uid} refused")));
    }
    stream.set_read_timeout(Some(PEER_TIMEOUT))?;
    stream.set_write_timeout(Some(PEER_TIMEOUT))?;
    let (line, fd) = recv_line(stream)?;
    let request = match Request::parse(&line) {
        Ok(request) => request,
        Err(why) => {
            send_line(stream, &Reply::Error(why.clone()).to_string(), None)?;
            return Ok(Outcome::Refused(why));
        }
    };
    let (outcome, handed) = store.handle(request, fd);
    send_line(stream, &outcome.reply().to_string(), handed)?;
    Ok(outcome)
}

/// Serves connections one after the other, for ever, logging what changes and every failure.
pub fn run(listener: &UnixListener, store: &mut Store) {
    for stream in listener.incoming() {
        let stream = match stream {
            Ok(stream) => stream,
            Err(e) => {
                log("warn", "accept failed", &[("error", &e.to_string())]);
                continue;
            }
        };
        match serve_connection(&stream, store) {
            Ok(Outcome::Handed(addr)) => log("info", "handed out a kept socket", &[("address", &addr.to_string())]),
            Ok(Outcome::NotKept(_)) => {}
            Ok(Outcome::Kept { addr, replaced }) => log(
                "info",
                if replaced { "keeping a new socket instead of the old" } else { "keeping a socket" },
                &[("address", &addr.to_string())],
            ),
            Ok(Outcome::Refused(why)) => log("warn", "request refused", &[("error", &why)]),
            Ok(Outcome::Released(addrs)) => {
                for addr in addrs {
                    log("info", "closed a kept socket no listener uses", &[("address", &addr.to_string())]);
                }
            }
            Err(e) => log("warn", "connection failed", &[("error", &e.to_string())]),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fd_passing::send_line;
    use std::net::TcpListener;
    use std::os::fd::AsFd;

    #[test]
    fn a_connection_that_sends_nothing_times_out() {
        let (a, _b) = UnixStream::pair().unwrap();
        let started = std::time::Instant::now();
        let err = serve_connection(&a, &mut Store::default()).unwrap_err();
        assert!(matches!(err.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut), "{err}");
        assert!(started.elapsed() < Duration::from_secs(3));
    }

    #[test]
    fn a_bad_request_is_answered_with_an_error() {
        let (a, b) = UnixStream::pair().unwrap();
        send_line(&b, "drop 0.0.0.0:80\n", None).unwrap();
        let outcome = serve_connection(&a, &mut Store::default()).unwrap();
        assert_eq!(outcome, Outcome::Refused("unknown request \"drop\"".into()));
        assert_eq!(recv_line(&b).unwrap().0, "error unknown request \"drop\"\n");
    }

    #[test]
    fn a_put_then_a_get() {
        let mut store = Store::default();
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let (a, b) = UnixStream::pair().unwrap();
        send_line(&b, &Request::Put(addr).to_string(), Some(listener.as_fd())).unwrap();
        assert_eq!(serve_connection(&a, &mut store).unwrap(), Outcome::Kept { addr, replaced: false });
        let (a, b) = UnixStream::pair().unwrap();
        send_line(&b, &Request::Get(addr).to_string(), None).unwrap();
        assert_eq!(serve_connection(&a, &mut store).unwrap(), Outcome::Handed(addr));
        let (line, fd) = recv_line(&b).unwrap();
        assert_eq!((line.as_str(), fd.is_some()), ("ok\n", true));
    }
}

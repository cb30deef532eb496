//! The kept sockets, by address, and what each request does to them.

use crate::protocol::{Reply, Request};
use crate::sockets::{is_stream, local_addr};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

/// The sockets the keeper holds, one per address.
#[derive(Debug, Default)]
pub struct Store {
    sockets: HashMap<SocketAddr, OwnedFd>,
}

/// What a request did, for the reply and the log.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    /// A `get` of a kept address: reply `ok` with the socket.
    Handed(SocketAddr),
    /// A `get` of an address not kept: reply `none`.
    NotKept(SocketAddr),
    /// A `put` kept the socket (`replaced`: one kept for the address before was dropped).
    Kept { addr: SocketAddr, replaced: bool },
    /// A `put` refused, and why.
    Refused(String),
    /// A `retain` closed the sockets of these addresses (none, when every kept port was retained).
    Released(Vec<SocketAddr>),
}

impl Store {
    /// Carries out `request`; `fd` is the descriptor that came with it. Returns the outcome and, for
    /// [`Outcome::Handed`], the socket to send back.
    pub fn handle(&mut self, request: Request, fd: Option<OwnedFd>) -> (Outcome, Option<BorrowedFd<'_>>) {
        match request {
            Request::Get(addr) => match self.sockets.get(&addr) {
                Some(kept) => (Outcome::Handed(addr), Some(kept.as_fd())),
                None => (Outcome::NotKept(addr), None),
            },
            Request::Put(addr) => (self.put(addr, fd), None),
            Request::Retain(ports) => (Outcome::Released(self.retain(&ports)), None),
        }
    }

    /// Drops every kept socket whose port is not in `ports` and returns their addresses, sorted. Dropping the keeper's
    /// reference closes a socket no process holds any more: its queue is reset and new connections are refused.
    fn retain(&mut self, ports: &[u16]) -> Vec<SocketAddr> {
        let mut released: Vec<_> = self.sockets.keys().filter(|a| !ports.contains(&a.port())).copied().collect();
        released.sort();
        for addr in &released {
            self.sockets.remove(addr);
        }
        released
    }

    /// Keeps `fd` for `addr` after checking that it is a TCP socket bound to `addr`. The newest socket wins: the
    /// process that deposited it is the one serving now.
    fn put(&mut self, addr: SocketAddr, fd: Option<OwnedFd>) -> Outcome {
        let Some(fd) = fd else { return Outcome::Refused("no socket attached".into()) };
        match (is_stream(fd.as_fd()), local_addr(fd.as_fd())) {
            (Ok(true), Ok(bound)) if bound == addr => {
                let replaced = self.sockets.insert(addr, fd).is_some();
                Outcome::Kept { addr, replaced }
            }
            (Ok(true), Ok(bound)) => Outcome::Refused(format!("the socket is bound to {bound}, not {addr}")),
            (Ok(false), _) => Outcome::Refused("not a TCP socket".into()),
            (Err(e), _) | (_, Err(e)) => Outcome::Refused(format!("not a TCP socket: {e}")),
        }
    }

    /// The addresses kept, sorted.
    #[must_use]
    pub fn addresses(&self) -> Vec<SocketAddr> {
        let mut addrs: Vec<_> = self.sockets.keys().copied().collect();
        addrs.sort();
        addrs
    }
}

impl Outcome {
    /// The reply for this outcome.
    #[must_use]
    pub fn reply(&self) -> Reply {
        match self {
            Outcome::Handed(_) | Outcome::Kept { .. } | Outcome::Released(_) => Reply::Ok,
            Outcome::NotKept(_) => Reply::None,
            Outcome::Refused(why) => Reply::Error(why.clone()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sockets::local_addr;
    use std::net::{TcpListener, UdpSocket};

    fn owned(listener: TcpListener) -> OwnedFd {
        listener.into()
    }

    #[test]
    fn a_kept_socket_is_handed_out_again() {
        let mut store = Store::default();
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        assert_eq!(store.handle(Request::Get(addr), None).0, Outcome::NotKept(addr));
        assert_eq!(store.handle(Request::Put(addr), Some(owned(listener))).0, Outcome::Kept { addr, replaced: false });
        let (outcome, fd) = store.handle(Request::Get(addr), None);
        assert_eq!(outcome, Outcome::Handed(addr));
        assert_eq!(local_addr(fd.unwrap()).unwrap(), addr);
        assert_eq!(store.addresses(), vec![addr]);
    }

    #[test]
    fn retain_closes_the_sockets_of_other_ports_and_a_port_can_be_kept_again() {
        let mut store = Store::default();
        let kept = TcpListener::bind("127.0.0.1:0").unwrap();
        let kept_addr = kept.local_addr().unwrap();
        let dropped = TcpListener::bind("127.0.0.1:0").unwrap();
        let dropped_addr = dropped.local_addr().unwrap();
        store.handle(Request::Put(kept_addr), Some(owned(kept)));
        store.handle(Request::Put(dropped_addr), Some(owned(dropped)));
        let outcome = store.handle(Request::Retain(vec![kept_addr.port()]), None).0;
        assert_eq!(outcome, Outcome::Released(vec![dropped_addr]));
        assert_eq!(outcome.reply(), Reply::Ok);
        assert_eq!(store.addresses(), vec![kept_addr]);
        // The socket is closed: nothing listens on its port any more.
        assert!(std::net::TcpStream::connect(dropped_addr).is_err());
        let again = TcpListener::bind(dropped_addr).unwrap();
        assert_eq!(
            store.handle(Request::Put(dropped_addr), Some(owned(again))).0,
            Outcome::Kept { addr: dropped_addr, replaced: false }
        );
        let mut both = vec![kept_addr, dropped_addr];
        both.sort();
        assert_eq!(store.handle(Request::Retain(vec![]), None).0, Outcome::Released(both));
        assert!(store.addresses().is_empty());
    }

    #[test]
    fn the_newest_socket_for_an_address_wins() {
        let mut store = Store::default();
        let first = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = first.local_addr().unwrap();
        let second = owned(first.try_clone().unwrap());
        store.handle(Request::Put(addr), Some(owned(first)));
        assert_eq!(store.handle(Request::Put(addr), Some(second)).0, Outcome::Kept { addr, replaced: true });
    }

    #[test]
    fn puts_of_what_is_not_a_tcp_socket_of_that_address_are_refused() {
        let mut store = Store::default();
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let other: SocketAddr = "127.0.0.1:1".parse().unwrap();
        let refused = |o: Outcome| matches!(o, Outcome::Refused(_));
        assert!(refused(store.handle(Request::Put(other), Some(owned(listener))).0));
        let udp = UdpSocket::bind("127.0.0.1:0").unwrap();
        let udp_addr = udp.local_addr().unwrap();
        assert_eq!(
            store.handle(Request::Put(udp_addr), Some(udp.into())).0,
            Outcome::Refused("not a TCP socket".into())
        );
        assert_eq!(store.handle(Request::Put(other), None).0, Outcome::Refused("no socket attached".into()));
        let (file_end, _) = std::os::unix::net::UnixStream::pair().unwrap();
        assert!(refused(store.handle(Request::Put(other), Some(file_end.into())).0));
        assert!(store.addresses().is_empty());
    }
}

//! The shim's side: ask the keeper for a kept socket, or give it one.

use crate::fd_passing::{recv_line, send_line};
use crate::protocol::{Reply, Request};
use crate::sockets::{own_uid, peer_uid};
use std::io;
use std::net::SocketAddr;
use std::os::fd::{BorrowedFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::Duration;

/// How long the keeper may take to answer: varnishd's start waits for it.
const KEEPER_TIMEOUT: Duration = Duration::from_secs(2);

fn exchange(socket: &Path, request: &Request, fd: Option<BorrowedFd<'_>>) -> io::Result<(Reply, Option<OwnedFd>)> {
    let stream = UnixStream::connect(socket)?;
    let uid = peer_uid(&stream)?;
    if uid != own_uid() {
        return Err(io::Error::new(io::ErrorKind::PermissionDenied, format!("the keeper runs as user {uid}")));
    }
    stream.set_read_timeout(Some(KEEPER_TIMEOUT))?;
    stream.set_write_timeout(Some(KEEPER_TIMEOUT))?;
    send_line(&stream, &request.to_string(), fd)?;
    let (line, fd) = recv_line(&stream)?;
    let reply = Reply::parse(&line).map_err(|why| io::Error::new(io::ErrorKind::InvalidData, why))?;
    Ok((reply, fd))
}

fn refused(why: &str) -> io::Error {
    io::Error::other(format!("the keeper refused: {why}"))
}

/// The socket the keeper at `socket` keeps for `addr`, or `None` when it keeps none.
///
/// # Errors
/// The keeper could not be reached or answered something else.
pub fn fetch(socket: &Path, addr: SocketAddr) -> io::Result<Option<OwnedFd>> {
    match exchange(socket, &Request::Get(addr), None)? {
        (Reply::Ok, Some(fd)) => Ok(Some(fd)),
        (Reply::Ok, None) => Err(io::Error::new(io::ErrorKind::InvalidData, "ok without a socket")),
        (Reply::None, _) => Ok(None),
        (Reply::Error(why), _) => Err(refused(&why)),
    }
}

/// Gives the keeper at `socket` a reference to `fd`, bound to `addr`.
///
/// # Errors
/// The keeper could not be reached or refused the socket.
pub fn deposit(socket: &Path, addr: SocketAddr, fd: BorrowedFd<'_>) -> io::Result<()> {
    match exchange(socket, &Request::Put(addr), Some(fd))? {
        (Reply::Ok, _) => Ok(()),
        (Reply::None, _) => Err(io::Error::new(io::ErrorKind::InvalidData, "none to a put")),
        (Reply::Error(why), _) => Err(refused(&why)),
    }
}

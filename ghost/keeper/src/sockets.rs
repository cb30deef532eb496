//! What the keeper and the shim ask of a socket: its address, its type, its peer's user.

use std::io;
use std::mem;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};
use std::os::fd::{AsRawFd, BorrowedFd};
use std::os::unix::net::UnixStream;

/// The IPv4 or IPv6 address `addr` points at; `None` for other families or a length too short for the family.
///
/// # Safety
/// `addr` must be null or point at `len` readable bytes.
#[must_use]
pub unsafe fn socket_addr(addr: *const libc::sockaddr, len: libc::socklen_t) -> Option<SocketAddr> {
    let len = len as usize;
    if addr.is_null() || len < mem::size_of::<libc::sa_family_t>() {
        return None;
    }
    // SAFETY: the caller vouches for len bytes; each read is checked against the family's struct size and unaligned.
    unsafe {
        match i32::from((*addr).sa_family) {
            libc::AF_INET if len >= mem::size_of::<libc::sockaddr_in>() => {
                let v4 = std::ptr::read_unaligned(addr.cast::<libc::sockaddr_in>());
                let ip = Ipv4Addr::from(u32::from_be(v4.sin_addr.s_addr));
                Some(SocketAddr::V4(SocketAddrV4::new(ip, u16::from_be(v4.sin_port))))
            }
            libc::AF_INET6 if len >= mem::size_of::<libc::sockaddr_in6>() => {
                let v6 = std::ptr::read_unaligned(addr.cast::<libc::sockaddr_in6>());
                let ip = Ipv6Addr::from(v6.sin6_addr.s6_addr);
                let port = u16::from_be(v6.sin6_port);
                Some(SocketAddr::V6(SocketAddrV6::new(ip, port, v6.sin6_flowinfo, v6.sin6_scope_id)))
            }
            _ => None,
        }
    }
}

/// The address `fd` is bound to.
///
/// # Errors
/// `getsockname`'s error, or `InvalidData` for a socket that is neither IPv4 nor IPv6.
pub fn local_addr(fd: BorrowedFd<'_>) -> io::Result<SocketAddr> {
    // SAFETY: sockaddr_storage is plain data and large enough for any address; getsockname writes at most len bytes.
    unsafe {
        let mut storage: libc::sockaddr_storage = mem::zeroed();
        let mut len = mem::size_of::<libc::sockaddr_storage>() as libc::socklen_t;
        if libc::getsockname(fd.as_raw_fd(), (&raw mut storage).cast(), &raw mut len) != 0 {
            return Err(io::Error::last_os_error());
        }
        socket_addr((&raw const storage).cast(), len)
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "neither an IPv4 nor an IPv6 socket"))
    }
}

fn int_option(fd: BorrowedFd<'_>, level: libc::c_int, name: libc::c_int) -> io::Result<libc::c_int> {
    let mut value: libc::c_int = 0;
    let mut len = mem::size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: value is an int and len says so.
    if unsafe { libc::getsockopt(fd.as_raw_fd(), level, name, (&raw mut value).cast(), &raw mut len) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(value)
}

/// Whether `fd` is a stream (TCP) socket.
///
/// # Errors
/// `getsockopt`'s error (`ENOTSOCK` for a file that is no socket).
pub fn is_stream(fd: BorrowedFd<'_>) -> io::Result<bool> {
    Ok(int_option(fd, libc::SOL_SOCKET, libc::SO_TYPE)? == libc::SOCK_STREAM)
}

/// Whether `fd` listens (`listen()` was called on it).
///
/// # Errors
/// `getsockopt`'s error.
pub fn is_listening(fd: BorrowedFd<'_>) -> io::Result<bool> {
    Ok(int_option(fd, libc::SOL_SOCKET, libc::SO_ACCEPTCONN)? != 0)
}

/// The user id of the process at the other end of `stream` (as of its `connect` or `socketpair`).
///
/// # Errors
/// `getsockopt(SO_PEERCRED)`'s error.
pub fn peer_uid(stream: &UnixStream) -> io::Result<u32> {
    // SAFETY: ucred is plain data and len says its size.
    unsafe {
        let mut cred: libc::ucred = mem::zeroed();
        let mut len = mem::size_of::<libc::ucred>() as libc::socklen_t;
        let fd = stream.as_raw_fd();
        if libc::getsockopt(fd, libc::SOL_SOCKET, libc::SO_PEERCRED, (&raw mut cred).cast(), &raw mut len) != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(cred.uid)
    }
}

/// This process's effective user id.
#[must_use]
pub fn own_uid() -> u32 {
    // SAFETY: geteuid cannot fail.
    unsafe { libc::geteuid() }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{TcpListener, UdpSocket};
    use std::os::fd::AsFd;

    #[test]
    fn addresses_of_both_families() {
        let v4 = TcpListener::bind("127.0.0.1:0").unwrap();
        assert_eq!(local_addr(v4.as_fd()).unwrap(), v4.local_addr().unwrap());
        if let Ok(v6) = TcpListener::bind("[::1]:0") {
            assert_eq!(local_addr(v6.as_fd()).unwrap(), v6.local_addr().unwrap());
        }
    }

    #[test]
    fn raw_addresses_too_short_or_of_other_families_are_none() {
        // SAFETY: each pointer points at the given number of bytes.
        unsafe {
            let v4 = libc::sockaddr_in {
                sin_family: libc::AF_INET as libc::sa_family_t,
                sin_port: 80u16.to_be(),
                sin_addr: libc::in_addr { s_addr: 0 },
                sin_zero: [0; 8],
            };
            let ptr = (&raw const v4).cast::<libc::sockaddr>();
            let len = mem::size_of::<libc::sockaddr_in>() as libc::socklen_t;
            assert_eq!(socket_addr(ptr, len), Some("0.0.0.0:80".parse().unwrap()));
            assert_eq!(socket_addr(ptr, len - 1), None);
            assert_eq!(socket_addr(std::ptr::null(), len), None);
            let unix = libc::sockaddr_un { sun_family: libc::AF_UNIX as libc::sa_family_t, sun_path: [0; 108] };
            let size = mem::size_of::<libc::sockaddr_un>() as libc::socklen_t;
            assert_eq!(socket_addr((&raw const unix).cast(), size), None);
        }
    }

    #[test]
    fn kinds_of_sockets() {
        let tcp = TcpListener::bind("127.0.0.1:0").unwrap();
        let udp = UdpSocket::bind("127.0.0.1:0").unwrap();
        assert!(is_stream(tcp.as_fd()).unwrap());
        assert!(is_listening(tcp.as_fd()).unwrap());
        assert!(!is_stream(udp.as_fd()).unwrap());
        let (a, _b) = UnixStream::pair().unwrap();
        assert_eq!(peer_uid(&a).unwrap(), own_uid());
    }
}

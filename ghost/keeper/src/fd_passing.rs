//! One line, optionally with one file descriptor attached (SCM_RIGHTS), over a Unix stream socket.

use crate::protocol::MAX_LINE;
use std::io;
use std::mem;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::net::UnixStream;
use std::ptr;

/// Room for one descriptor's control message, aligned as the kernel wants it.
#[repr(C)]
union ControlBuffer {
    bytes: [u8; 64],
    _align: libc::cmsghdr,
}

/// Sends `line` (one message), with `fd` attached when given.
///
/// # Errors
/// The kernel's error from `sendmsg`, or a short write.
pub fn send_line(stream: &UnixStream, line: &str, fd: Option<BorrowedFd<'_>>) -> io::Result<()> {
    let mut iov = libc::iovec { iov_base: line.as_ptr() as *mut libc::c_void, iov_len: line.len() };
    let mut control = ControlBuffer { bytes: [0; 64] };
    // SAFETY: msghdr is plain data; every pointer set below outlives the sendmsg call.
    let mut msg: libc::msghdr = unsafe { mem::zeroed() };
    msg.msg_iov = &raw mut iov;
    msg.msg_iovlen = 1;
    if let Some(fd) = fd {
        let raw: RawFd = fd.as_raw_fd();
        // SAFETY: the buffer holds CMSG_SPACE(sizeof(int)) bytes (64 > 24), so CMSG_FIRSTHDR is non-null and its data
        // fits one int.
        unsafe {
            msg.msg_control = control.bytes.as_mut_ptr().cast();
            msg.msg_controllen = libc::CMSG_SPACE(mem::size_of::<RawFd>() as u32) as usize;
            let header = libc::CMSG_FIRSTHDR(&raw const msg);
            (*header).cmsg_level = libc::SOL_SOCKET;
            (*header).cmsg_type = libc::SCM_RIGHTS;
            (*header).cmsg_len = libc::CMSG_LEN(mem::size_of::<RawFd>() as u32) as usize;
            ptr::write_unaligned(libc::CMSG_DATA(header).cast::<RawFd>(), raw);
        }
    }
    // SAFETY: msg points at live buffers (see above).
    let sent = unsafe { libc::sendmsg(stream.as_raw_fd(), &raw const msg, libc::MSG_NOSIGNAL) };
    if sent < 0 {
        return Err(io::Error::last_os_error());
    }
    if sent.unsigned_abs() != line.len() {
        return Err(io::Error::new(io::ErrorKind::WriteZero, "short write"));
    }
    Ok(())
}

/// Receives one message of at most [`MAX_LINE`] bytes and the descriptor attached to it, if any (received
/// close-on-exec). Extra descriptors are closed.
///
/// # Errors
/// The kernel's error from `recvmsg` (a timeout among them), an empty message (the peer closed), or a message that
/// is not UTF-8 or was cut.
pub fn recv_line(stream: &UnixStream) -> io::Result<(String, Option<OwnedFd>)> {
    let mut buf = [0u8; MAX_LINE];
    let mut iov = libc::iovec { iov_base: buf.as_mut_ptr().cast(), iov_len: buf.len() };
    let mut control = ControlBuffer { bytes: [0; 64] };
    // SAFETY: plain data; the pointers set below outlive the recvmsg call.
    let mut msg: libc::msghdr = unsafe { mem::zeroed() };
    msg.msg_iov = &raw mut iov;
    msg.msg_iovlen = 1;
    // SAFETY: writing the union's byte view.
    msg.msg_control = unsafe { control.bytes.as_mut_ptr() }.cast();
    msg.msg_controllen = mem::size_of::<ControlBuffer>();
    // SAFETY: msg points at live buffers.
    let received = unsafe { libc::recvmsg(stream.as_raw_fd(), &raw mut msg, libc::MSG_CMSG_CLOEXEC) };
    if received < 0 {
        return Err(io::Error::last_os_error());
    }
    let fds = received_fds(&msg);
    let mut fds = fds.into_iter();
    let fd = fds.next();
    drop(fds);
    if received == 0 {
        return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "the peer closed the connection"));
    }
    if msg.msg_flags & (libc::MSG_TRUNC | libc::MSG_CTRUNC) != 0 {
        return Err(io::Error::new(io::ErrorKind::InvalidData, "message cut"));
    }
    let line = std::str::from_utf8(&buf[..received.unsigned_abs()])
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "not UTF-8"))?;
    Ok((line.to_string(), fd))
}

/// Takes ownership of every descriptor in `msg`'s SCM_RIGHTS control messages.
fn received_fds(msg: &libc::msghdr) -> Vec<OwnedFd> {
    let mut fds = Vec::new();
    // SAFETY: msg was filled by recvmsg; the CMSG_* macros walk within msg_controllen.
    unsafe {
        let mut header = libc::CMSG_FIRSTHDR(msg);
        while !header.is_null() {
            if (*header).cmsg_level == libc::SOL_SOCKET && (*header).cmsg_type == libc::SCM_RIGHTS {
                let data = libc::CMSG_DATA(header);
                let count = ((*header).cmsg_len - (data as usize - header as usize)) / mem::size_of::<RawFd>();
                for i in 0..count {
                    let raw = ptr::read_unaligned(data.cast::<RawFd>().add(i));
                    fds.push(OwnedFd::from_raw_fd(raw));
                }
            }
            header = libc::CMSG_NXTHDR(msg, header);
        }
    }
    fds
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs::File;
    use std::io::{Read, Seek, Write};
    use std::os::fd::AsFd;

    #[test]
    fn a_line_carries_a_descriptor_to_the_same_open_file() {
        let (a, b) = UnixStream::pair().unwrap();
        let path = std::env::temp_dir().join(format!("keeper-fd-passing-{}", std::process::id()));
        let mut file = File::options().read(true).write(true).create_new(true).open(&path).unwrap();
        std::fs::remove_file(&path).unwrap();
        send_line(&a, "ok\n", Some(file.as_fd())).unwrap();
        let (line, fd) = recv_line(&b).unwrap();
        assert_eq!(line, "ok\n");
        // The received descriptor shares the file (and its offset) with the sent one.
        let mut received = File::from(fd.unwrap());
        file.write_all(b"kept").unwrap();
        received.rewind().unwrap();
        let mut text = String::new();
        received.read_to_string(&mut text).unwrap();
        assert_eq!(text, "kept");
    }

    #[test]
    fn a_line_without_a_descriptor() {
        let (a, b) = UnixStream::pair().unwrap();
        send_line(&a, "none\n", None).unwrap();
        let (line, fd) = recv_line(&b).unwrap();
        assert_eq!((line.as_str(), fd.is_none()), ("none\n", true));
    }

    #[test]
    fn a_closed_peer_is_an_error() {
        let (a, b) = UnixStream::pair().unwrap();
        drop(a);
        assert_eq!(recv_line(&b).unwrap_err().kind(), io::ErrorKind::UnexpectedEof);
    }
}

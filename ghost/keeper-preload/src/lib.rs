//! `libkeeper_preload.so`: loaded into varnishd with `LD_PRELOAD`, it makes varnishd's listeners outlive varnishd.
//!
//! It replaces `bind()`. A bind of a TCP socket to a port of `LACQUER_KEEPER_PORTS` (comma-separated) asks the keeper
//! at `LACQUER_KEEPER_SOCKET` (see the `keeper` library) for the socket it keeps for that address: when it keeps one,
//! that socket takes the caller's descriptor number (`dup2`) and the bind succeeds without binding anything; when
//! not, the real bind runs and the keeper is given a reference to the bound socket. varnishd's later `listen()`,
//! `close()` and re-bind (its manager does both when the worker dies) then act on one kernel socket that the keeper
//! holds open: connections wait in its queue while no varnishd runs, instead of being refused.
//!
//! Every other bind, and any bind while the keeper cannot be reached, is the real one (logged): varnishd still starts.

// Socket option and address lengths are small constants (FFI wants socklen_t and u32), and control message data is
// read unaligned.
#![allow(clippy::cast_possible_truncation, clippy::cast_ptr_alignment)]

use keeper::client::{deposit, fetch};
use keeper::log::log;
use keeper::sockets::is_stream;
use std::ffi::OsString;
use std::io;
use std::net::SocketAddr;
use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd};
use std::path::PathBuf;

/// Where the keeper listens and which ports it keeps.
#[derive(Debug, PartialEq, Eq)]
pub struct Config {
    /// The keeper's Unix socket.
    pub socket: PathBuf,
    /// The ports whose binds go through the keeper.
    pub ports: Vec<u16>,
}

impl Config {
    /// The configuration from `LACQUER_KEEPER_SOCKET` and `LACQUER_KEEPER_PORTS`; `None` when either is unset or
    /// empty (then every bind is the real one).
    ///
    /// # Errors
    /// A port list that does not parse, with why.
    pub fn from_vars(socket: Option<OsString>, ports: Option<OsString>) -> Result<Option<Config>, String> {
        let (Some(socket), Some(ports)) = (socket.filter(|s| !s.is_empty()), ports.filter(|p| !p.is_empty())) else {
            return Ok(None);
        };
        let ports = ports.to_str().ok_or("LACQUER_KEEPER_PORTS is not UTF-8")?;
        let ports = ports
            .split(',')
            .map(|p| p.trim().parse::<u16>().ok().filter(|&p| p != 0).ok_or(format!("not a port: {p:?}")))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Some(Config { socket: PathBuf::from(socket), ports }))
    }
}

/// Makes descriptor `fd` refer to `kept`'s socket, keeping `fd`'s close-on-exec flag and blocking mode (the socket's
/// status flags are shared with every holder, so each varnishd sets the mode it asked for).
fn adopt(kept: &OwnedFd, fd: BorrowedFd<'_>) -> io::Result<()> {
    let fd = fd.as_raw_fd();
    // SAFETY: fcntl and dup2 on descriptors this process holds; dup2 closes the caller's unbound socket atomically.
    unsafe {
        let fd_flags = libc::fcntl(fd, libc::F_GETFD);
        let status = libc::fcntl(fd, libc::F_GETFL);
        if fd_flags < 0 || status < 0 || libc::dup2(kept.as_raw_fd(), fd) < 0 {
            return Err(io::Error::last_os_error());
        }
        let kept_status = libc::fcntl(fd, libc::F_GETFL);
        let wanted = (kept_status & !libc::O_NONBLOCK) | (status & libc::O_NONBLOCK);
        if kept_status < 0 || libc::fcntl(fd, libc::F_SETFL, wanted) < 0 || libc::fcntl(fd, libc::F_SETFD, fd_flags) < 0
        {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}

/// The shim's decision for a bind of `fd` to `addr`: `real_bind` performs the real one and returns its result.
/// Returns what `bind()` returns (with `errno` as the real bind left it).
pub fn intercept(
    config: &Config,
    fd: BorrowedFd<'_>,
    addr: SocketAddr,
    real_bind: impl FnOnce() -> libc::c_int,
) -> libc::c_int {
    if !config.ports.contains(&addr.port()) || !is_stream(fd).unwrap_or(false) {
        return real_bind();
    }
    let address = addr.to_string();
    match fetch(&config.socket, addr) {
        Ok(Some(kept)) => match adopt(&kept, fd) {
            Ok(()) => {
                log("info", "socket keeper shim: took the kept socket", &[("address", &address)]);
                return 0;
            }
            Err(e) => log(
                "warn",
                "socket keeper shim: cannot take the kept socket",
                &[("address", &address), ("error", &e.to_string())],
            ),
        },
        Ok(None) => {}
        Err(e) => {
            log(
                "warn",
                "socket keeper shim: keeper unreachable, binding normally",
                &[("address", &address), ("error", &e.to_string())],
            );
            return real_bind();
        }
    }
    let result = real_bind();
    if result == 0 {
        match deposit(&config.socket, addr, fd) {
            Ok(()) => log("info", "socket keeper shim: the keeper keeps the new socket", &[("address", &address)]),
            Err(e) => log(
                "warn",
                "socket keeper shim: the keeper did not take the socket",
                &[("address", &address), ("error", &e.to_string())],
            ),
        }
    }
    result
}

/// The exported `bind()` and what it needs; left out of unit tests, where it would replace the test binary's own bind.
#[cfg(not(test))]
mod preload {
    use super::{intercept, Config};
    use keeper::log::log;
    use keeper::sockets::socket_addr;
    use std::os::fd::BorrowedFd;
    use std::sync::OnceLock;

    fn config() -> Option<&'static Config> {
        static CONFIG: OnceLock<Option<Config>> = OnceLock::new();
        CONFIG
            .get_or_init(|| {
                let vars = (std::env::var_os("LACQUER_KEEPER_SOCKET"), std::env::var_os("LACQUER_KEEPER_PORTS"));
                Config::from_vars(vars.0, vars.1).unwrap_or_else(|why| {
                    log("error", "socket keeper shim: bad configuration, binding normally", &[("error", &why)]);
                    None
                })
            })
            .as_ref()
    }

    type BindFn = unsafe extern "C" fn(libc::c_int, *const libc::sockaddr, libc::socklen_t) -> libc::c_int;

    /// libc's `bind`, the next one after this library.
    fn real_bind() -> BindFn {
        static REAL: OnceLock<usize> = OnceLock::new();
        // SAFETY: dlsym with a NUL-terminated name; RTLD_NEXT finds libc's bind, which every process using sockets has.
        let address = *REAL.get_or_init(|| unsafe { libc::dlsym(libc::RTLD_NEXT, c"bind".as_ptr()) as usize });
        assert_ne!(address, 0, "socket keeper shim: no bind() after this library");
        // SAFETY: the symbol is libc's bind, of this very signature.
        unsafe { std::mem::transmute::<usize, BindFn>(address) }
    }

    /// `bind(2)`, through the keeper for the configured ports (see the crate documentation).
    ///
    /// # Safety
    /// As for `bind(2)`: `addr` points at `len` readable bytes.
    #[unsafe(no_mangle)]
    pub unsafe extern "C" fn bind(fd: libc::c_int, addr: *const libc::sockaddr, len: libc::socklen_t) -> libc::c_int {
        let real = real_bind();
        // SAFETY: forwarded as given.
        let call_real = || unsafe { real(fd, addr, len) };
        // SAFETY: the caller vouches for addr and len.
        let (Some(config), Some(target)) = (config(), unsafe { socket_addr(addr, len) }) else { return call_real() };
        if fd < 0 {
            return call_real();
        }
        // SAFETY: fd is the caller's open descriptor for the duration of this call.
        let borrowed = unsafe { BorrowedFd::borrow_raw(fd) };
        intercept(config, borrowed, target, call_real)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use keeper::server::serve_connection;
    use keeper::sockets::local_addr;
    use keeper::store::Store;
    use std::io::{Read, Write};
    use std::net::TcpStream;
    use std::os::fd::{AsFd, FromRawFd};
    use std::os::unix::net::UnixListener;
    use std::path::Path;

    /// A keeper serving `count` connections (a first bind takes two: `get`, `put`) on a socket in a fresh directory, in a thread; returns the socket path
    /// and the thread, which returns the store.
    fn keeper(count: usize) -> (PathBuf, std::thread::JoinHandle<Store>) {
        let dir =
            std::env::temp_dir().join(format!("keeper-shim-{}-{:?}", std::process::id(), std::thread::current().id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("keeper.sock");
        let listener = UnixListener::bind(&path).unwrap();
        let thread = std::thread::spawn(move || {
            let mut store = Store::default();
            for stream in listener.incoming().take(count) {
                serve_connection(&stream.unwrap(), &mut store).unwrap();
            }
            store
        });
        (path, thread)
    }

    fn tcp_socket() -> OwnedFd {
        // SAFETY: socket() returns a new descriptor this test owns.
        unsafe { OwnedFd::from_raw_fd(libc::socket(libc::AF_INET, libc::SOCK_STREAM, 0)) }
    }

    fn real_bind_to(fd: BorrowedFd<'_>, addr: SocketAddr) -> libc::c_int {
        let SocketAddr::V4(v4) = addr else { panic!("IPv4 only") };
        let raw = libc::sockaddr_in {
            sin_family: libc::AF_INET as libc::sa_family_t,
            sin_port: v4.port().to_be(),
            sin_addr: libc::in_addr { s_addr: u32::from(*v4.ip()).to_be() },
            sin_zero: [0; 8],
        };
        let len = std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t;
        // SAFETY: raw is a sockaddr_in of that length.
        unsafe { libc::bind(fd.as_raw_fd(), (&raw const raw).cast(), len) }
    }

    fn listen(fd: BorrowedFd<'_>) {
        // SAFETY: listen on a bound socket.
        assert_eq!(unsafe { libc::listen(fd.as_raw_fd(), 16) }, 0);
    }

    fn free_addr() -> SocketAddr {
        std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap()
    }

    fn config(socket: &Path, port: u16) -> Config {
        Config { socket: socket.to_path_buf(), ports: vec![port] }
    }

    #[test]
    fn a_connection_made_while_no_process_listens_waits_for_the_next_one() {
        let addr = free_addr();
        let (socket, keeper) = keeper(3);
        let config = config(&socket, addr.port());
        // The first varnishd: nothing kept yet, so the real bind runs and the keeper gets the socket.
        let first = tcp_socket();
        assert_eq!(intercept(&config, first.as_fd(), addr, || real_bind_to(first.as_fd(), addr)), 0);
        listen(first.as_fd());
        drop(first);
        // No process of ours holds the socket now, the keeper does: a client connects and waits.
        let mut client = TcpStream::connect(addr).expect("refused while the keeper holds the socket");
        client.write_all(b"queued").unwrap();
        // The next varnishd binds the same address: it gets the kept socket, without a real bind.
        let second = tcp_socket();
        assert_eq!(intercept(&config, second.as_fd(), addr, || panic!("bound for real")), 0);
        assert_eq!(local_addr(second.as_fd()).unwrap(), addr);
        listen(second.as_fd());
        // SAFETY: accept on a listening socket; the result is a new descriptor owned below.
        let accepted = unsafe { libc::accept(second.as_raw_fd(), std::ptr::null_mut(), std::ptr::null_mut()) };
        assert!(accepted >= 0);
        // SAFETY: accepted is a new descriptor.
        let mut accepted = unsafe { TcpStream::from_raw_fd(accepted) };
        let mut text = [0u8; 6];
        accepted.read_exact(&mut text).unwrap();
        assert_eq!(&text, b"queued");
        assert_eq!(keeper.join().unwrap().addresses(), vec![addr]);
    }

    #[test]
    fn the_callers_blocking_mode_and_close_on_exec_flag_are_kept() {
        let addr = free_addr();
        let (socket, keeper) = keeper(3);
        let config = config(&socket, addr.port());
        let first = tcp_socket();
        intercept(&config, first.as_fd(), addr, || real_bind_to(first.as_fd(), addr));
        // SAFETY: fcntl on owned descriptors.
        unsafe {
            libc::fcntl(first.as_raw_fd(), libc::F_SETFL, libc::O_NONBLOCK);
            let second = tcp_socket();
            libc::fcntl(second.as_raw_fd(), libc::F_SETFD, libc::FD_CLOEXEC);
            assert_eq!(intercept(&config, second.as_fd(), addr, || panic!("bound for real")), 0);
            assert_eq!(libc::fcntl(second.as_raw_fd(), libc::F_GETFL) & libc::O_NONBLOCK, 0);
            assert_eq!(libc::fcntl(second.as_raw_fd(), libc::F_GETFD), libc::FD_CLOEXEC);
        }
        keeper.join().unwrap();
    }

    #[test]
    fn other_ports_bind_for_real_without_asking_the_keeper() {
        let addr = free_addr();
        let config = config(Path::new("/nonexistent/keeper.sock"), addr.port().wrapping_add(1).max(1));
        let fd = tcp_socket();
        assert_eq!(intercept(&config, fd.as_fd(), addr, || real_bind_to(fd.as_fd(), addr)), 0);
    }

    #[test]
    fn without_a_keeper_the_real_bind_runs_and_its_error_stays() {
        let addr = free_addr();
        let config = config(Path::new("/nonexistent/keeper.sock"), addr.port());
        let fd = tcp_socket();
        assert_eq!(intercept(&config, fd.as_fd(), addr, || real_bind_to(fd.as_fd(), addr)), 0);
        let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let taken = taken.local_addr().unwrap();
        let other = tcp_socket();
        let config = Config { ports: vec![taken.port()], ..config };
        assert_eq!(intercept(&config, other.as_fd(), taken, || real_bind_to(other.as_fd(), taken)), -1);
        assert_eq!(io::Error::last_os_error().raw_os_error(), Some(libc::EADDRINUSE));
    }

    #[test]
    fn configuration_from_the_environment() {
        let vars = |s: &str, p: &str| Config::from_vars(Some(s.into()), Some(p.into()));
        assert_eq!(vars("/k.sock", "80, 443"), Ok(Some(Config { socket: "/k.sock".into(), ports: vec![80, 443] })));
        assert_eq!(vars("", "80"), Ok(None));
        assert_eq!(vars("/k.sock", ""), Ok(None));
        assert_eq!(Config::from_vars(None, Some("80".into())), Ok(None));
        assert_eq!(vars("/k.sock", "80,x"), Err("not a port: \"x\"".into()));
        assert_eq!(vars("/k.sock", "0"), Err("not a port: \"0\"".into()));
    }
}

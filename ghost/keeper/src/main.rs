//! `lacquer-keeper <socket>`: holds the gateway's listening sockets (see the `keeper` library) and serves them on the
//! Unix socket `<socket>`, which only this user may open.

use keeper::log::log;
use keeper::server::run;
use keeper::store::Store;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixListener;
use std::path::PathBuf;
use std::process::ExitCode;

extern "C" fn exit_now(_: libc::c_int) {
    // SAFETY: _exit is async-signal-safe.
    unsafe { libc::_exit(0) }
}

fn main() -> ExitCode {
    let mut args = std::env::args_os().skip(1);
    let (Some(socket), None) = (args.next().map(PathBuf::from), args.next()) else {
        eprintln!("usage: lacquer-keeper <unix socket path>");
        return ExitCode::from(2);
    };
    // As a container's PID 1 the kernel ignores SIGTERM and SIGINT unless handled. Exiting closes the kept sockets,
    // which refuses what waits in their queues: the pod is going away.
    // SAFETY: the handler only calls _exit; umask cannot fail. The socket file is created owner-only.
    unsafe {
        libc::signal(libc::SIGTERM, exit_now as *const () as libc::sighandler_t);
        libc::signal(libc::SIGINT, exit_now as *const () as libc::sighandler_t);
        libc::umask(0o077);
    }
    // A keeper restarted in the same pod finds its predecessor's socket file.
    let _ = std::fs::remove_file(&socket);
    let listener = match UnixListener::bind(&socket) {
        Ok(listener) => listener,
        Err(e) => {
            log("error", "cannot listen", &[("socket", &socket.to_string_lossy()), ("error", &e.to_string())]);
            return ExitCode::FAILURE;
        }
    };
    if let Err(e) = std::fs::set_permissions(&socket, std::fs::Permissions::from_mode(0o600)) {
        log("error", "cannot restrict the socket to this user", &[("error", &e.to_string())]);
        return ExitCode::FAILURE;
    }
    log("info", "keeping listening sockets", &[("socket", &socket.to_string_lossy())]);
    run(&listener, &mut Store::default());
    ExitCode::SUCCESS
}

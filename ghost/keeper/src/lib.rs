//! The socket keeper: one process per gateway pod that holds the gateway's listening sockets for the pod's lifetime.
//!
//! varnishd binds its listeners when it starts, and its manager closes and binds them again when its worker dies, so
//! while varnishd restarts nothing listens and new connections are refused. With the keeper, the first varnishd's
//! `bind()` of a listener address (through the `keeper-preload` shim) deposits a reference to that very socket here;
//! every later `bind()` of the same address takes the kept socket instead of a new one. The kernel socket and its
//! accept queue then outlive any varnishd: connections that arrive while none runs wait in the queue until the next
//! one accepts them. Nothing is proxied and the keeper binds nothing itself.
//!
//! The protocol is one request per connection on a Unix socket only the pod's own user can open (see [`protocol`]).

// Socket option and address lengths are small constants (FFI wants socklen_t and u32), and control message data is
// read unaligned.
#![allow(clippy::cast_possible_truncation, clippy::cast_ptr_alignment)]

pub mod client;
pub mod fd_passing;
pub mod log;
pub mod protocol;
pub mod server;
pub mod sockets;
pub mod store;

//! ghost-core: the pure routing engine of the ghost VMOD.
//!
//! It reads ghost.json ([`contract`], [`mod@load`]), compiles it into lookup tables ([`Router`]) and answers, for one
//! request view ([`Request`]), what to do with it ([`Decision`]): forward to an endpoint, redirect, or refuse with
//! 400/404/500. The request path is normalised first ([`path`]); forwarding headers are in [`forwarding`].
//! Filter semantics live in [`filters`], CORS in [`cors`]. Nothing here knows about Varnish; the VMOD converts types and
//! calls in.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod cache;
pub mod cluster;
pub mod contract;
pub mod cors;
mod error;
pub mod fetch;
pub mod filters;
pub mod forwarding;
mod hash;
pub mod invalidation;
pub mod load;
pub mod mirror;
pub mod path;
pub mod request;
mod router;
pub mod shards;
pub mod text;
mod token;

pub use error::{Error, ErrorKind};
pub use load::{load, load_delta, Delta, Loaded, Skipped};
pub use request::{is_websocket_upgrade, HeaderSource, Request};
pub use router::{Decision, Forward, Group, ListenerInfo, Lookup, Redirect, Refusal, Report, Router, Rule};
pub use token::HeaderToken;

//! The ghost VMOD: routes every request inside varnishd per ghost.json. See README.md for the VCL API.
//!
//! This crate only converts between Varnish and ghost-core types: matching and filters live in `ghost-core`,
//! native backends (all of the `unsafe` code) in `backend.rs`, the swappable state and reloads in `state.rs`.

// The `ghost` module's functions are exported to VCL, not called from Rust: `#[must_use]` and `# Errors` sections
// would only repeat the generated README.
#![allow(clippy::must_use_candidate, clippy::missing_errors_doc)]

mod backend;
mod headers;
mod state;
mod task;

use state::Shared;

/// A router serving the routes of one ghost.json file (VCL: `new router = ghost.router(path)`).
#[allow(non_camel_case_types)]
pub struct router {
    shared: Shared,
}

/// Routes requests per ghost.json (Gateway API semantics) and swaps its routing state atomically on reload.
#[varnish::vmod(docs = "README.md")]
mod ghost {
    use std::net::SocketAddr;
    use std::time::Duration;

    use varnish::ffi::VCL_BACKEND;
    use varnish::vcl::{Ctx, VclError};

    use super::router;
    use crate::task::{self, Task};
    use crate::Shared;

    impl router {
        /// Creates the router and loads `path`. A missing or unusable file does not fail the VCL load: the
        /// router starts empty (every request answers 404) and `last_error()` says why. A backend whose endpoint
        /// left ghost.json is deleted at the first reload at least `retire_after` (default 10s) later.
        pub fn new(ctx: &mut Ctx, path: &str, retire_after: Option<Duration>) -> Self {
            let shared = Shared::new(path, retire_after.unwrap_or(Duration::from_secs(10)));
            let _ = shared.reload(ctx);
            Self { shared }
        }

        /// Call in `vcl_recv`. Strips client-sent `X-Ghost-*`/`X-Gateway-*` headers, routes the request on
        /// `socket` (pass `local.socket`), applies request filters and sets `X-Gateway-Listener` and
        /// `X-Gateway-Route`. Returns true when the request goes to a backend (then use `backend()` and
        /// `url()`), false when ghost answers itself (then `return (synth(router.status()))`).
        pub fn recv(
            &self,
            ctx: &mut Ctx,
            #[shared_per_task] task: &mut Option<Box<Task>>,
            socket: &str,
        ) -> Result<bool, VclError> {
            let outcome = task::route(ctx, &self.shared.current(), socket)?;
            let forwarded = outcome.is_forward();
            *task = Some(Box::new(outcome));
            Ok(forwarded)
        }

        /// The backend `recv()` chose, for `set req.backend_hint = router.backend();`.
        // SAFETY: the macro requires `unsafe` on every method returning a raw VCL type; this one performs no unsafe
        // operation and returns a director owned by this router's backend pool, so callers have nothing to uphold.
        #[allow(clippy::missing_safety_doc)]
        pub unsafe fn backend(&self, #[shared_per_task] task: &mut Option<Box<Task>>) -> VCL_BACKEND {
            task::backend_of(task.as_deref())
        }

        /// The request target to send: rewritten by a URLRewrite filter, else the current `req.url`.
        pub fn url(&self, ctx: &mut Ctx, #[shared_per_task] task: &mut Option<Box<Task>>) -> String {
            task::url_of(ctx, task.as_deref())
        }

        /// The status of ghost's own answer for this request (404, 500, a redirect, a control answer), or 0.
        pub fn status(&self, #[shared_per_task] task: &mut Option<Box<Task>>) -> i64 {
            task.as_deref().map_or(0, |t| i64::from(t.status()))
        }

        /// Call in `vcl_recv` for requests on the control socket (`local.socket == "ghost"`); returns the
        /// status to `synth()`. `/.varnish-ghost/reload` reloads ghost.json (200 or 500 with a JSON report);
        /// clients that are not on a loopback address get 403, other paths 404.
        pub fn control(
            &self,
            ctx: &mut Ctx,
            #[shared_per_task] task: &mut Option<Box<Task>>,
            url: &str,
            client: Option<SocketAddr>,
        ) -> i64 {
            let answer = task::control(ctx, &self.shared, url, client);
            let status = answer.status();
            *task = Some(Box::new(answer));
            i64::from(status)
        }

        /// Call first in `vcl_synth`. When the synthetic response is ghost's own answer it sets status,
        /// `Content-Type`, `Cache-Control: no-store` and `Location`, and returns true: then
        /// `synthetic(router.body()); return (deliver);`.
        pub fn synth(&self, ctx: &mut Ctx, #[shared_per_task] task: &mut Option<Box<Task>>) -> bool {
            task::synth(ctx, task.as_deref())
        }

        /// The body of ghost's synthetic answer.
        pub fn body(&self, #[shared_per_task] task: &mut Option<Box<Task>>) -> String {
            task.as_deref().map(Task::body).unwrap_or_default()
        }

        /// Call in `vcl_deliver`: applies the ResponseHeaderModifier filters of the chosen rule and backend.
        pub fn deliver(&self, ctx: &mut Ctx, #[shared_per_task] task: &mut Option<Box<Task>>) {
            task::deliver(ctx, task.as_deref());
        }

        /// Reloads ghost.json now; returns false (and keeps the old state) when it cannot be used.
        pub fn reload(&self, ctx: &mut Ctx) -> bool {
            self.shared.reload(ctx).status() == 200
        }

        /// What went wrong in the last load: the error, or the routes skipped; empty when all is well.
        pub fn last_error(&self) -> String {
            self.shared.last_error()
        }
    }
}

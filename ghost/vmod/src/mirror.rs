//! Copies of forwarded requests for their rule's mirrors (ghost-core's `mirror`): one bounded queue and sender pool
//! for the whole varnishd process, whichever VCL and router submit, so that mirrored traffic has one bound.

use std::net::SocketAddr;
use std::sync::OnceLock;

use ghost_core::mirror::{copy_head, Body, Dropped, Head, Http, Limits, MirrorCopy, MirrorQueue, MirrorStats, Pick};
use ghost_core::Rule;
use varnish::vcl::{Ctx, HttpHeaders};

use crate::headers::{lines, text};

static QUEUE: OnceLock<MirrorQueue> = OnceLock::new();

fn queue() -> &'static MirrorQueue {
    QUEUE.get_or_init(|| MirrorQueue::start(Limits::default(), Http))
}

/// The copies one request drew, before its body is read.
#[derive(Debug)]
pub struct Drawn {
    to: Vec<SocketAddr>,
    head: Option<Head>,
}

/// Draws, with `random`, which mirrors of `rule` get a copy of `req` (as it will be forwarded: filters applied) and
/// writes the head of that copy. Mirrors drawn without a usable endpoint are counted.
pub fn draw(rule: &Rule, req: &HttpHeaders<'_>, mut random: impl FnMut() -> u64) -> Drawn {
    let mut to = Vec::new();
    for target in &rule.mirrors {
        match target.pick(random()) {
            Pick::Skip => {}
            Pick::Unavailable => queue().count(Dropped::Unavailable),
            Pick::To(addr) => to.push(addr),
        }
    }
    let head = if to.is_empty() { None } else { copy_head(text(req.method()), text(req.url()), lines(req)) };
    Drawn { to, head }
}

/// Queues the copies `drawn` for one request, with its body: a body of known length within the limit is read into
/// memory first (`vcl_recv` only, like `std.cache_req_body()`; the request is then forwarded from there, unchanged);
/// a longer body or one of unknown length is not read, and its copies are counted as dropped. Returns how many were
/// queued; never waits for a mirror: a full queue drops the copy and counts it.
pub fn submit(ctx: &mut Ctx, drawn: Drawn) -> usize {
    let Drawn { to, head: Some(head) } = drawn else { return 0 };
    let body = match head.body() {
        Body::None if !crate::body::announced(ctx) => Some(Vec::new()),
        Body::Buffer(length) => crate::body::cache(ctx, length),
        Body::None | Body::Streamed => None,
    };
    let copy = body.ok_or(Dropped::Body).and_then(|body| head.finish(&body));
    let mut queued = 0;
    for to in to {
        match &copy {
            Ok(bytes) => queued += usize::from(queue().submit(MirrorCopy { to, bytes: bytes.clone() }).is_ok()),
            Err(reason) => queue().count(*reason),
        }
    }
    queued
}

/// The process's mirror counters (all 0 before the first copy).
pub fn stats() -> MirrorStats {
    QUEUE.get().map(MirrorQueue::stats).unwrap_or_default()
}

//! Copies of forwarded requests for their rule's mirrors (ghost-core's `mirror`): one bounded queue and sender pool
//! for the whole varnishd process, whichever VCL and router submit, so that mirrored traffic has one bound.

use std::sync::OnceLock;

use ghost_core::mirror::{copy_request, Dropped, Http, Limits, MirrorCopy, MirrorQueue, MirrorStats, Pick};
use ghost_core::Rule;
use varnish::vcl::HttpHeaders;

use crate::headers::{lines, text};

static QUEUE: OnceLock<MirrorQueue> = OnceLock::new();

fn queue() -> &'static MirrorQueue {
    QUEUE.get_or_init(|| MirrorQueue::start(Limits::default(), Http))
}

/// Queues a copy of `req` (as it will be forwarded: filters applied) for each mirror of `rule` the request draws
/// with `random`; returns how many were queued. Never waits: a full queue drops the copy and counts it.
pub fn submit(rule: &Rule, req: &HttpHeaders<'_>, mut random: impl FnMut() -> u64) -> usize {
    let mut copy = None;
    let mut queued = 0;
    for target in &rule.mirrors {
        let to = match target.pick(random()) {
            Pick::Skip => continue,
            Pick::Unavailable => {
                queue().count(Dropped::Unavailable);
                continue;
            }
            Pick::To(to) => to,
        };
        let bytes = copy.get_or_insert_with(|| copy_request(text(req.method()), text(req.url()), lines(req)));
        match bytes {
            Some(Ok(bytes)) => queued += usize::from(queue().submit(MirrorCopy { to, bytes: bytes.clone() }).is_ok()),
            Some(Err(reason)) => queue().count(*reason),
            None => {}
        }
    }
    queued
}

/// The process's mirror counters (all 0 before the first copy).
pub fn stats() -> MirrorStats {
    QUEUE.get().map(MirrorQueue::stats).unwrap_or_default()
}

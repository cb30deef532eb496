//! Invalidations from the chaperone on the control socket: `POST /.varnish-ghost/invalidate` with the
//! invalidation in request headers, turned into `xkey` keys by ghost-core, purged by varnish-modules' `xkey` in VCL.

use std::net::SocketAddr;

use ghost_core::invalidation::{invalidation_keys, Kind};
use varnish::vcl::{Ctx, LogTag};

use crate::headers::text;

/// The control path of invalidations.
pub const CONTROL_INVALIDATE: &str = "/.varnish-ghost/invalidate";

/// Request header with the namespace whose objects are invalidated.
const NAMESPACE: &str = "X-Ghost-Invalidate-Namespace";
/// Request header with the normalised hostname.
const HOST: &str = "X-Ghost-Invalidate-Host";
/// Request header with the kind: `url`, `prefix`, `tag` or `all`.
const KIND: &str = "X-Ghost-Invalidate-Kind";
/// Request header: `true` marks objects stale (soft), `false` removes them.
const SOFT: &str = "X-Ghost-Invalidate-Soft";
/// Request header with the entries, space-separated.
const ENTRIES: &str = "X-Ghost-Invalidate-Entries";

/// A well-formed invalidation: the keys to purge and how.
#[derive(Debug)]
pub struct Invalidation {
    /// Space-separated `xkey` keys.
    pub keys: String,
    /// Soft purge (mark stale) rather than removal.
    pub soft: bool,
}

/// Reads the invalidation of the request in `ctx` (a `POST` to [`CONTROL_INVALIDATE`] from a loopback client).
/// `Ok(None)` when the request is not one; `Err` says what is wrong with one.
pub fn parse(ctx: &Ctx, url: &str, client: Option<SocketAddr>) -> Result<Option<Invalidation>, String> {
    if url.split('?').next() != Some(CONTROL_INVALIDATE) || !client.is_some_and(|c| c.ip().is_loopback()) {
        return Ok(None);
    }
    let req = ctx.http_req.as_ref().ok_or("not in vcl_recv")?;
    if text(req.method()) != "POST" {
        return Err("invalidations are POST requests".to_owned());
    }
    let header = |name: &str| text(req.header(name));
    let kind = Kind::parse(header(KIND)).ok_or_else(|| format!("{KIND} must be url, prefix, tag or all"))?;
    let soft = match header(SOFT) {
        "true" => true,
        "false" => false,
        _ => return Err(format!("{SOFT} must be true or false")),
    };
    let keys = invalidation_keys(header(NAMESPACE), header(HOST), kind, header(ENTRIES)).map_err(|e| e.to_string())?;
    Ok(Some(Invalidation { keys, soft }))
}

/// The JSON body answering an applied invalidation, and its log line.
pub fn applied(ctx: &mut Ctx, invalidation: &Invalidation, affected: i64) -> String {
    let keys = invalidation.keys.split(' ').count();
    let mode = if invalidation.soft { "soft" } else { "hard" };
    ctx.log(LogTag::VclLog, format!("ghost: invalidated {mode} keys={keys} affected={affected}"));
    format!("{{\"affected\":{affected}}}\n")
}

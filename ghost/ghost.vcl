# The canonical wiring of the ghost VMOD, shared by ghost/README.md, the varnishtest suite (which includes this
# file) and the operator's generated VCL. It expects `import ghost;` and a router object named `router`, created
# in vcl_init: `new router = ghost.router("/var/run/lacquer/ghost.json");`.

# varnish-modules' xkey indexes stored objects by their xkey header (surrogate keys and ghost's keys for host, URL
# and path prefixes) and purges them for invalidations.
import xkey;
# std caches the body of a POST that a policy looks up, and varnish-modules' bodyaccess hashes it into the key.
import std;
import bodyaccess;
# proxy reads hitch's PROXY header: the client's TLS server name, for ghost's misdirected-request check (421).
import proxy;

sub vcl_recv {
    # The loopback control socket (varnishd -a ghost=127.0.0.1:6091) serves /.varnish-ghost/reload,
    # /.varnish-ghost/stats and /.varnish-ghost/invalidate and nothing else; ghost refuses clients that are not on
    # a loopback address.
    if (local.socket == "ghost") {
        # An invalidation from the chaperone: ghost turns it into xkey keys scoped to its namespace, xkey marks the
        # objects stale (soft) or removes them, ghost answers how many.
        if (router.invalidation(req.url, client.ip)) {
            if (router.invalidation_soft()) {
                return (synth(router.invalidated(xkey.softpurge(router.invalidation_keys()))));
            }
            return (synth(router.invalidated(xkey.purge(router.invalidation_keys()))));
        }
        return (synth(router.control(req.url, client.ip)));
    }
    # The peer listener (varnishd -a peer=:6092, clustered cache only, never behind the Gateway's Service):
    # another gateway pod sends the requests whose key this pod owns. ghost checks their signature and restores that
    # pod's routing and cache decision (routing and filters ran there once); a miss is fetched from the origin
    # endpoint it chose. A refusal (bad signature, unknown endpoint) makes that pod fetch from the origin itself.
    if (local.socket == "peer") {
        if (!router.peer_recv()) {
            return (synth(router.status()));
        }
        set req.backend_hint = router.backend();
        # A cached POST: the first pod sends its body along; the body joins the key here too, and a miss is fetched
        # with the request's method and body.
        if (router.cache_body()) {
            std.cache_req_body(1MB);
            set req.http.X-Ghost-Method = req.method;
        }
        return (hash);
    }
    # Route: strips X-Ghost-*/X-Gateway-*, normalises the path (or answers 400), isolates listeners by socket, sets
    # X-Forwarded-* and X-Real-IP for the client (client.ip: the real client behind hitch's PROXY header), applies
    # request filters (a URLRewrite sets req.url). A rule with cache settings whose backend has no ready endpoint
    # still goes on to the lookup: grace covers the outage. In the same call, a rule with cache settings decides
    # lookup or pass: GET/HEAD requests (and POSTs its policy allows) are looked up unless a bypass condition,
    # Authorization or a cookie outside the key says otherwise; ghost sets req.url to the one the key is computed
    # from (query normalised) and removes cookies the key does not name.
    if (!router.recv_grace(local.socket, client.ip, proxy.authority())) {
        # 400 unusable path, 404 no route, 421 misdirected (the TLS server name selects another listener than the Host),
        # 500 no usable backend, or a redirect; answered in vcl_synth, never cached.
        return (synth(router.status()));
    }
    set req.backend_hint = router.backend();
    # A WebSocket upgrade routed like any request: the connection is piped to the chosen endpoint, never cached.
    if (router.upgrade()) {
        return (pipe);
    }
    # A rule with retries buffers a request body of known length (up to 1 MB) so that a retry can send it again; a
    # request whose body is streamed to the backend is never retried.
    if (router.retry_body()) {
        router.retry_body_cached(std.cache_req_body(1MB));
    }
    # A looked-up POST its policy allows, its Content-Length within the policy's limit (ghost checked): the body is
    # read into memory (ghost's limit is at most 1 MB) for the key, and a miss is fetched with the client's method
    # and body (Varnish would send a GET).
    if (router.cache_body()) {
        std.cache_req_body(1MB);
        set req.http.X-Ghost-Method = req.method;
    }
    # Clustered cache: another ready gateway pod owns the key. The request passes, signed, to that pod's peer
    # listener, which looks it up (and fetches from the origin on a miss); this pod stores nothing, so an
    # invalidation on every pod still removes every copy.
    if (router.peer()) {
        set req.backend_hint = router.backend();
        return (pass);
    }
    if (router.cacheable()) {
        return (hash);
    }
    # Every other request passes.
    return (pass);
}

sub vcl_hash {
    # Host, rule, path, normalised query, named headers and cookies: nothing else, so no request URL or host
    # variant is hashed twice.
    hash_data(router.cache_key());
    if (router.cache_body()) {
        bodyaccess.hash_req_body();
    }
    return (lookup);
}

sub vcl_hit {
    router.cache_hit(obj.ttl <= 0s);
}

sub vcl_miss {
    # No object for a rule whose backend has no ready endpoint: ghost's 500, never stored.
    if (router.status() > 0) {
        return (synth(router.status()));
    }
    router.cache_miss();
}

sub vcl_pass {
    if (router.status() > 0) {
        return (synth(router.status()));
    }
    router.cache_pass();
}

sub vcl_deliver {
    # ResponseHeaderModifier filters of the chosen rule and backend, on every delivery (never stored); then Via and
    # X-Varnish (the logs keep the Varnish version and the transaction ids) and internal object headers off;
    # X-Cache and X-Cache-Hits when the rule asks for debug headers.
    router.deliver(obj.hits);
}

sub vcl_synth {
    # ghost's own answers: status, Content-Type, Cache-Control: no-store, Location for redirects.
    if (router.synth()) {
        synthetic(router.body());
        return (deliver);
    }
}

sub vcl_pipe {
    # Varnish sends hop-by-hop headers on no backend request; the upgrade handshake needs them.
    if (req.http.Upgrade) {
        set bereq.http.Upgrade = req.http.Upgrade;
        set bereq.http.Connection = req.http.Connection;
    }
}

sub vcl_backend_fetch {
    # A looked-up POST: the origin gets the client's method (and its cached body), not Varnish's GET.
    if (bereq.http.X-Ghost-Method) {
        set bereq.method = bereq.http.X-Ghost-Method;
    }
    # ghost's internal request headers never reach the origin; the rule's cache settings, timeouts and retries are
    # kept for every attempt of the fetch.
    router.cache_fetch();
    # After a failed hop to a peer (unreachable, or it refused): this attempt goes to the origin endpoint, and the
    # peer is skipped for a few seconds.
    if (router.peer_fallback()) {
        set bereq.backend = router.fetch_backend();
    }
    # Timeouts and retries of the rule: a retry waits the rule's back-off and goes to the next endpoint of its
    # backend group; each attempt gets the backend timeout, cut to what is left of the request timeout.
    if (router.fetch(bereq.retries)) {
        if (router.fetch_expired()) {
            return (error(504));
        }
        if (router.fetch_moves()) {
            set bereq.backend = router.fetch_backend();
        }
        set bereq.connect_timeout = router.fetch_connect_timeout(bereq.connect_timeout);
        set bereq.first_byte_timeout = router.fetch_timeout(bereq.first_byte_timeout);
        set bereq.between_bytes_timeout = router.fetch_timeout(bereq.between_bytes_timeout);
    }
}

sub vcl_backend_response {
    # A status the rule retries, while retries and its request timeout allow: nothing of this answer is kept.
    if (router.fetch_retry(beresp.status)) {
        return (retry);
    }
    # A server error from a background refresh never replaces the stale object: grace keeps serving it.
    if (bereq.is_bgfetch && beresp.status >= 500) {
        return (abandon);
    }
    if (!bereq.uncacheable && router.cache_response()) {
        set beresp.ttl = router.cache_ttl();
        set beresp.grace = router.cache_grace();
        set beresp.keep = router.cache_keep();
        if (router.cache_hit_for_miss()) {
            # Uncacheable: remembered briefly as hit-for-miss, so that later requests do not wait for each other.
            set beresp.uncacheable = true;
        }
        return (deliver);
    }
}

sub vcl_backend_error {
    # A connection error or a timeout of a rule with retries, while retries and its request timeout allow.
    if (router.fetch_failed()) {
        return (retry);
    }
    # The rule's backend or request timeout expired: 504, not Varnish's 503.
    if (router.fetch_timed_out()) {
        set beresp.status = 504;
        set beresp.reason = "Gateway Timeout";
    }
    # A failed background refresh keeps the stale object.
    if (bereq.is_bgfetch) {
        return (abandon);
    }
}

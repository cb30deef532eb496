# ---- end of user VCL ----

sub vcl_recv {
    # Rules with cache settings look their GET/HEAD requests up; everything else passes (unless user VCL
    # returned first).
    if (router.cacheable()) {
        return (hash);
    }
    return (pass);
}

sub vcl_hash {
    # Only ghost's key (and what user VCL added): not the built-in host and URL.
    return (lookup);
}

sub vcl_backend_response {
    # ghost decided for rules with cache settings: the built-in rules must not undo an allowed private or no-store.
    if (router.cache_decided()) {
        return (deliver);
    }
}

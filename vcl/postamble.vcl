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

sub vcl_synth {
    # Other synthetic answers (user VCL's) get a plain status line, not the built-in Guru Meditation page.
    set resp.http.Content-Type = "text/plain; charset=utf-8";
    synthetic(resp.status + " " + resp.reason + {"
"});
    return (deliver);
}

sub vcl_backend_error {
    # A failed fetch answers a plain status line, not the built-in Guru Meditation page with its transaction id.
    unset beresp.http.Server;
    set beresp.http.Content-Type = "text/plain; charset=utf-8";
    synthetic(beresp.status + " " + beresp.reason + {"
"});
    return (deliver);
}

sub vcl_backend_response {
    # ghost decided for rules with cache settings: the built-in rules must not undo an allowed private or no-store.
    if (router.cache_decided()) {
        return (deliver);
    }
}

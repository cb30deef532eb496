# The canonical wiring of the ghost VMOD, shared by ghost/README.md, the varnishtest suite (which includes this
# file) and the operator's generated VCL. It expects `import ghost;` and a router object named `router`, created
# in vcl_init: `new router = ghost.router("/var/run/lacquer/ghost.json");`.

sub vcl_recv {
    # The loopback control socket (varnishd -a ghost=127.0.0.1:6091) serves /.varnish-ghost/reload and
    # nothing else; ghost refuses clients that are not on a loopback address.
    if (local.socket == "ghost") {
        return (synth(router.control(req.url, client.ip)));
    }
    # Route: strips X-Ghost-*/X-Gateway-*, isolates listeners by socket, applies request filters.
    if (!router.recv(local.socket)) {
        # 404 no route, 500 no usable backend, or a RequestRedirect; answered in vcl_synth.
        return (synth(router.status()));
    }
    set req.backend_hint = router.backend();
    set req.url = router.url();
    # Gateway API routing has no caching semantics: pass by default. User VCL that wants caching returns
    # (hash) itself and should add req.http.X-Gateway-Route to the hash.
    return (pass);
}

sub vcl_deliver {
    # ResponseHeaderModifier filters of the chosen rule and backend.
    router.deliver();
}

sub vcl_synth {
    # ghost's own answers: status, Content-Type, Cache-Control: no-store, Location for redirects.
    if (router.synth()) {
        synthetic(router.body());
        return (deliver);
    }
}

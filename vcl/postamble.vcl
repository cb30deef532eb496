# ---- end of user VCL ----

sub vcl_recv {
    # Gateway API routing has no caching semantics: pass unless user VCL returned first.
    return (pass);
}

# ---- end of user VCL ----

sub vcl_deliver {
    unset resp.http.X-Ghost-Route;
    unset resp.http.X-Ghost-Backend;
}

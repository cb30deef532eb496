# hitch with Lacquer's patch (images/hitch/README.md: `client-verify = optional-no-ca`, for AllowInsecureFallback),
# built from Debian's hitch 1.7.2 source into $LACQUER_CACHE/hitch/ and installed as /usr/local/sbin/hitch, which
# comes before Debian's /usr/sbin/hitch on PATH, so the tests and the chaperone run what the gateway image ships.
hitch_built=$(bash "$LACQUER_ROOT/images/hitch/build.sh") || die "building hitch failed"
if ! cmp -s "$hitch_built" /usr/local/sbin/hitch; then
  # Install then rename, so that a hitch starting meanwhile never sees a half-written file.
  as_root install -D -m 0755 "$hitch_built" /usr/local/sbin/.hitch.tmp
  as_root mv -f /usr/local/sbin/.hitch.tmp /usr/local/sbin/hitch
  step "hitch: installed /usr/local/sbin/hitch"
else
  step "hitch: /usr/local/sbin/hitch is up to date"
fi
unset hitch_built

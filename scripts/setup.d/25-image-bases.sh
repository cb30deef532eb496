# The Debian base layers of the gateway and operator images (mmdebstrap and apt-get download: mostly network and disk),
# started in the background so that they download and unpack while the next steps compile; step images waits for them
# (and fails when they failed). Cached like every layer, so a warm run finds them in a second.
image_bases_log="$LACQUER_CACHE/images/bases.log"
mkdir -p "$LACQUER_CACHE/images"
step "image-bases: building the images' Debian base layers in the background (log: $image_bases_log)"
# A session of its own: a failing later step or Ctrl-C ends it (and its mmdebstrap) as a group, in finish_image_bases.
setsid "$LACQUER_DENO" run --allow-all "$LACQUER_ROOT/images/main.ts" --bases >"$image_bases_log" 2>&1 &
image_bases_pid=$!

# Waits for the base layers (status 0) or stops their build (any other status, i.e. set-up is failing).
finish_image_bases() {
  local status=$1
  [ -n "${image_bases_pid:-}" ] || return 0
  if [ "$status" != 0 ]; then kill -- "-$image_bases_pid" 2>/dev/null || true; image_bases_pid=; return 0; fi
  step "image-bases: waiting for the Debian base layers"
  if ! wait "$image_bases_pid"; then
    image_bases_pid=
    tail -n 20 "$image_bases_log" >&2
    die "building the images' Debian base layers failed (log: $image_bases_log)"
  fi
  image_bases_pid=
  step "$(tail -n 1 "$image_bases_log")"
}
trap 'finish_image_bases $?' EXIT

# The Debian base layers of the gateway and operator images (mmdebstrap and apt-get download: mostly network and disk),
# built in the background while the next steps compile; step images waits for them (and fails when they failed).
# Cached like every layer, so a warm run finds them in a second.
start_job image-bases "$LACQUER_CACHE/images/bases.log" \
  "$LACQUER_DENO" run --allow-all "$LACQUER_ROOT/images/main.ts" --bases

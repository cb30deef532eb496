# Builds the socket keeper (ghost/keeper: the program a gateway pod's sidecar runs, and the shim varnishd preloads) in
# release mode and installs both in $LACQUER_CACHE/keeper, where the varnishd tests find them; the gateway image
# builds its own copy the same way. cargo rebuilds only what changed.
command -v cargo >/dev/null || die "cargo is required to build the socket keeper"
keeper_dir="$LACQUER_CACHE/keeper"
keeper_target="${CARGO_TARGET_DIR:-$LACQUER_CACHE/ghost-target}/release"
mkdir -p "$keeper_dir"
step "keeper: cargo build --release -p lacquer-keeper -p keeper-preload"
"$LACQUER_ROOT/ghost/scripts/cargo.sh" build --release -p lacquer-keeper -p keeper-preload || die "socket keeper build failed"
for keeper_file in lacquer-keeper libkeeper_preload.so; do
  [ -f "$keeper_target/$keeper_file" ] || die "the socket keeper build produced no $keeper_target/$keeper_file"
  if ! cmp -s "$keeper_target/$keeper_file" "$keeper_dir/$keeper_file"; then
    # Copy then rename: a test starting varnishd never preloads a half-written file.
    cp "$keeper_target/$keeper_file" "$keeper_dir/.$keeper_file.tmp"
    chmod 0755 "$keeper_dir/.$keeper_file.tmp"
    mv -f "$keeper_dir/.$keeper_file.tmp" "$keeper_dir/$keeper_file"
    step "keeper: installed $keeper_dir/$keeper_file"
  fi
done
unset keeper_dir keeper_target keeper_file

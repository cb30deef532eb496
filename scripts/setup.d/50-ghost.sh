# Builds the ghost VMOD (Rust, ghost/) in release mode and installs it as $LACQUER_CACHE/vmods/libvmod_ghost.so and,
# like the gateway image does, into Debian's VMOD directory, so that `import ghost;` works without a vmod_path (and
# for varnishd's unprivileged compiler user, which cannot read below /root).
# Build outputs stay below $LACQUER_CACHE (CARGO_TARGET_DIR); cargo rebuilds only what changed.
command -v cargo >/dev/null || die "cargo is required to build the ghost VMOD"
pkg-config --exists varnishapi || die "libvarnishapi-dev is required to build the ghost VMOD"
ghost_vmods="$LACQUER_CACHE/vmods"
mkdir -p "$ghost_vmods"
ghost_so="$LACQUER_CACHE/ghost-target/release/libvmod_ghost.so"
ghost_sources=$(cd "$LACQUER_ROOT/ghost" && find Cargo.toml Cargo.lock core/Cargo.toml core/src transport/Cargo.toml transport/src vmod/Cargo.toml vmod/src \
  -type f | LC_ALL=C sort | xargs sha256sum | sha256sum | cut -c1-64)
if [ -f "$ghost_so" ] && [ "$(cat "$ghost_so.sources" 2>/dev/null)" != "$ghost_sources" ]; then
  # Cargo names the workspace's own crates relative to the workspace root, so another checkout sharing this target
  # dir builds into the same artifacts, and cargo may call this checkout's build fresh (mtimes only). Touching every
  # workspace crate's root makes cargo build them, and link the VMOD, from these sources.
  touch "$LACQUER_ROOT/ghost/core/src/lib.rs" "$LACQUER_ROOT/ghost/transport/src/lib.rs" "$LACQUER_ROOT/ghost/vmod/src/lib.rs"
fi
step "ghost: cargo build --release (Varnish $(pkg-config --modversion varnishapi); target $LACQUER_CACHE/ghost-target)"
"$LACQUER_ROOT/ghost/scripts/cargo.sh" build --release -p vmod_ghost || die "ghost VMOD build failed"
[ -f "$ghost_so" ] || die "ghost build produced no $ghost_so"
echo "$ghost_sources" >"$ghost_so.sources"
if ! cmp -s "$ghost_so" "$ghost_vmods/libvmod_ghost.so"; then
  # Copy then rename, so that a varnishd loading VCL never sees a half-written file.
  cp "$ghost_so" "$ghost_vmods/.libvmod_ghost.so.tmp"
  chmod 0755 "$ghost_vmods/.libvmod_ghost.so.tmp"
  mv -f "$ghost_vmods/.libvmod_ghost.so.tmp" "$ghost_vmods/libvmod_ghost.so"
  step "ghost: installed $ghost_vmods/libvmod_ghost.so"
else
  step "ghost: $ghost_vmods/libvmod_ghost.so is up to date"
fi
debian_vmods=$(pkg-config --variable=vmoddir varnishapi)
if ! cmp -s "$ghost_so" "$debian_vmods/libvmod_ghost.so"; then
  as_root install -m 0755 "$ghost_so" "$debian_vmods/.libvmod_ghost.so.tmp"
  as_root mv -f "$debian_vmods/.libvmod_ghost.so.tmp" "$debian_vmods/libvmod_ghost.so"
  step "ghost: installed $debian_vmods/libvmod_ghost.so"
fi
unset ghost_vmods ghost_so ghost_sources debian_vmods

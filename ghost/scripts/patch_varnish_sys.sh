#!/usr/bin/env bash
# The varnish crates 0.5.5 assume Varnish 6.0 or 7.3+; Debian bookworm ships 7.1, where
# - varnish-sys does not compile: three struct fields and one function signature differ;
# - varnish-macros emits VMOD metadata that 7.1's VCC rejects ("Mangled VMOD ... Inconsistent metadata"): 7.1
#   reads the C prototypes from `vmod_data.proto` and does not know the `$CPROTO` JSON entry of later versions.
# This script makes patched copies below $LACQUER_CACHE (once) and prints one `--config` argument per line for
# cargo's [patch.crates-io]; it prints nothing when the installed Varnish needs no patch. The edits only remove
# or swap what 7.1 lacks, and each one is checked.
set -euo pipefail
: "${LACQUER_CACHE:=$HOME/.cache/lacquer}"
version=$(pkg-config --modversion varnishapi 2>/dev/null || true)
case "$version" in
  7.0.*|7.1.*|7.2.*) ;;
  *) exit 0 ;;
esac
ghost_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
base="$LACQUER_CACHE/crates/varnish$version-patch4"

# Copies crate $1 to $dest.tmp; returns 1 when the patched copy already exists.
start() {
  crate=$1
  dest="$base/$crate"
  [ -f "$dest/.ghost-patched" ] && return 1
  [ -n "${fetched:-}" ] || { (cd "$ghost_dir" && cargo fetch --quiet >&2); fetched=1; }
  src=$(ls -d "${CARGO_HOME:-$HOME/.cargo}"/registry/src/*/"$crate" 2>/dev/null | head -n 1)
  [ -n "$src" ] || { echo "patch_varnish_sys: $crate not found in the cargo registry" >&2; exit 1; }
  rm -rf "$dest.tmp"
  mkdir -p "$base"
  cp -r "$src" "$dest.tmp"
}
finish() {
  touch "$dest.tmp/.ghost-patched"
  rm -rf "$dest"
  mv "$dest.tmp" "$dest"
}
edit() { # file, sed expression, text that must be gone afterwards
  sed -i "$2" "$dest.tmp/$1"
  if grep -qF "$3" "$dest.tmp/$1"; then echo "patch_varnish_sys: edit of $1 did not apply" >&2; exit 1; fi
}
if start varnish-sys-0.5.5; then
# VSL() takes a plain uint32_t vxid before 7.3 (struct vxids came later).
edit src/vcl/ctx.rs 's/let vxids = ffi::vxids::default();/let vxids = 0;/' 'ffi::vxids::default()'
# struct vdi_methods has no release callback before 7.3.
edit src/vcl/backend.rs '/^ *release: None,$/d' 'release: None,'
# struct vdp has no priv1 before 7.3 (struct vfp keeps its own).
sed -i '/pub fn new_vdp/,/^}/{/^ *priv1: ptr::null(),$/d}' "$dest.tmp/src/vcl/processor.rs"
if sed -n '/pub fn new_vdp/,/^}/p' "$dest.tmp/src/vcl/processor.rs" | grep -q priv1; then
  echo "patch_varnish_sys: edit of src/vcl/processor.rs did not apply" >&2; exit 1
fi
finish
fi

if start varnish-macros-0.5.5; then
  # Plain JSON: 7.1 parses vmod_data.json as is, without the VMOD_JSON_SPEC envelope of later versions ...
  sed -i 's/let mut json = serde_json::to_string_pretty/let json = serde_json::to_string_pretty/' "$dest.tmp/src/generator.rs"
  edit src/generator.rs 's/json = format!("VMOD_JSON_SPEC\\u{2}\\n{json}\\n\\u{3}");/let _ = 0;/' 'VMOD_JSON_SPEC'
  # ... no `$CPROTO` JSON entry (7.1 would reject it) ...
  edit src/generator.rs 's/json.push(json! {\[ "\$CPROTO", self.generate_proto() \]});/let _ = 0;/' '"$CPROTO"'
  # ... and the prototypes go into vmod_data.proto instead.
  edit src/generator.rs 's/cproto_ptr = quote! { null() };/cproto_ptr = quote! { cproto.as_ptr() };/' 'quote! { null() }'
  edit src/generator.rs 's/cproto_def = quote! {};/cproto_def = quote! { const cproto: \&CStr = #cproto; };/' 'cproto_def = quote! {};'
  finish
fi

echo "patch.crates-io.varnish-sys.path=\"$base/varnish-sys-0.5.5\""
echo "patch.crates-io.varnish-macros.path=\"$base/varnish-macros-0.5.5\""

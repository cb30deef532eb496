# Deno, pinned, from the npm package `deno` (JSR and deno.land are unreachable here). Linked as $LACQUER_DENO.
deno_dir="$LACQUER_CACHE/deno-$LACQUER_DENO_VERSION"
deno_real="$deno_dir/node_modules/@deno/linux-x64-glibc/deno"
if [ ! -x "$deno_real" ]; then
  command -v npm >/dev/null || die "npm is required to install Deno"
  step "installing Deno $LACQUER_DENO_VERSION from npm"
  mkdir -p "$deno_dir"
  (cd "$deno_dir" && npm install --no-save --no-audit --no-fund --loglevel=error "deno@$LACQUER_DENO_VERSION" >/dev/null)
  [ -x "$deno_real" ] || die "the npm package deno@$LACQUER_DENO_VERSION did not provide $deno_real"
fi
mkdir -p "$LACQUER_CACHE/bin"
ln -sfn "$deno_real" "$LACQUER_DENO"
step "deno: $("$LACQUER_DENO" --version | head -n 1)"
step "caching npm dependencies from deno.lock"
(cd "$LACQUER_ROOT" && "$LACQUER_DENO" install --frozen --quiet)

# Helm, built from the Go module proxy (helm.sh/helm/v3) and cached by version below $LACQUER_CACHE/helm; linked as
# $LACQUER_CACHE/bin/helm. The chart's tests (deploy/helm_test.ts) and `deno task deploy:render` use it.
helm_version=v3.22.0
helm_bin="$LACQUER_CACHE/helm/$helm_version/bin/helm"
if [ ! -x "$helm_bin" ]; then
  command -v go >/dev/null || die "go is required to build helm"
  step "building helm $helm_version from the Go module proxy (cold: about 2 minutes on 2 cores)"
  mkdir -p "$(dirname "$helm_bin")"
  (cd "$LACQUER_CACHE/helm/$helm_version" && GOBIN="$(dirname "$helm_bin")" GOMAXPROCS=2 GOTOOLCHAIN=local \
    GOFLAGS=-buildvcs=false go install -p 2 -trimpath \
    -ldflags "-s -w -X helm.sh/helm/v3/internal/version.version=$helm_version" \
    "helm.sh/helm/v3/cmd/helm@$helm_version") || die "building helm $helm_version failed"
fi
mkdir -p "$LACQUER_CACHE/bin"
ln -sfn "$helm_bin" "$LACQUER_CACHE/bin/helm"
step "helm: $("$helm_bin" version --short)"
unset helm_version helm_bin

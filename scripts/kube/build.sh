#!/usr/bin/env bash
# Builds the local cluster's binaries from the Go module proxy and caches them below $LACQUER_CACHE, keyed by version:
#   kube/<k8s>/bin/{kube-apiserver,kube-controller-manager,kubectl,kubelet,kube-proxy,kube-scheduler}
#                                                                    (wrapper module, generated replace lines)
#   etcd/<etcd>/bin/etcd                                             (wrapper main around etcdmain)
#   gateway-api/<gw>/bin/echo-basic, gateway-api/<gw>/crds/{standard,experimental}.yaml
#   containerd/<v>/bin/{containerd,containerd-shim-runc-v2,ctr}      (the real node's runtime; static, no cgo)
#   coredns/<v>-<key>/bin/coredns                                    (cluster DNS, the plugins we use; static, no cgo)
# and links the current ones as $LACQUER_CACHE/bin/<name> and $LACQUER_CACHE/gateway-api-crds/<channel>.yaml.
# A warm run only checks that the files exist. Run directly or through scripts/setup.sh (step "kubernetes").
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../lib.sh
. "$here/../lib.sh"
LACQUER_STEP_PREFIX=${LACQUER_STEP_PREFIX:-kube-build}

KUBE_VERSION=${KUBE_VERSION:-v1.36.3}
GATEWAY_API_VERSION=${GATEWAY_API_VERSION:-v1.6.1}
# containerd 2: kubelet 1.37 drops containerd 1.x (Debian bookworm ships 1.6). CoreDNS: the version the Gateway API
# conformance manifests deploy, so one image serves both the cluster DNS and the conformance run.
CONTAINERD_VERSION=${CONTAINERD_VERSION:-v2.2.9}
COREDNS_VERSION=${COREDNS_VERSION:-v1.12.2}
KUBE_COMMANDS=(kube-apiserver kube-controller-manager kubectl kubelet kube-proxy kube-scheduler)
# Two cores and no swap: keep the Go build to two parallel jobs.
export GOMAXPROCS=${GOMAXPROCS:-2} GOFLAGS="${GOFLAGS:-} -buildvcs=false" GOTOOLCHAIN=local
build_flags=(-p 2 -trimpath)

command -v go >/dev/null || die "go is required to build the local cluster"

# Runs a long command, printing a progress line every 30 s so a cold build never looks stuck.
with_progress() {
  local what=$1 started=$SECONDS pid; shift
  "$@" & pid=$!
  while kill -0 "$pid" 2>/dev/null; do
    sleep 2
    if (( (SECONDS - started) % 30 < 2 && SECONDS - started >= 30 )); then
      step "still $what ($((SECONDS - started)) s)"; sleep 1
    fi
  done
  wait "$pid"
}

# Prints the go.mod of a module version from the proxy (through the module cache).
mod_file() { go mod download -json "$1@$2" | sed -n 's/^\t"GoMod": "\(.*\)",$/\1/p'; }
mod_dir() { go mod download -json "$1@$2" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p'; }

# Kubernetes: a wrapper module requiring k8s.io/kubernetes, with one replace line per staging module generated from
# the release's own go.mod (its "k8s.io/X => ./staging/src/k8s.io/X" lines become "k8s.io/X => k8s.io/X v0.N.M").
build_kubernetes() {
  local out="$LACQUER_CACHE/kube/$KUBE_VERSION" staging="v0.${KUBE_VERSION#v1.}" cmd missing=()
  for cmd in "${KUBE_COMMANDS[@]}"; do [ -x "$out/bin/$cmd" ] || missing+=("$cmd"); done
  if [ ${#missing[@]} -eq 0 ]; then step "kubernetes $KUBE_VERSION cached"; return; fi
  step "building kubernetes $KUBE_VERSION: ${missing[*]} (cold: about 25 minutes on 2 cores)"
  local src="$LACQUER_CACHE/kube/$KUBE_VERSION/src" gomod
  mkdir -p "$src"
  gomod=$(mod_file k8s.io/kubernetes "$KUBE_VERSION")
  [ -s "$gomod" ] || die "cannot download the go.mod of k8s.io/kubernetes $KUBE_VERSION"
  {
    echo "module lacquer.dev/kubebuild"
    echo
    sed -n 's/^go \(.*\)$/go \1/p' "$gomod" | head -n 1
    echo
    echo "require k8s.io/kubernetes $KUBE_VERSION"
    echo
    echo "replace ("
    sed -n 's#^[[:space:]]*\(k8s\.io/[a-z0-9-]*\) => \./staging/src/k8s\.io/[a-z0-9-]*$#\t\1 => \1 '"$staging"'#p' "$gomod"
    echo ")"
  } >"$src/go.mod"
  [ "$(grep -c ' => ' "$src/go.mod")" -gt 10 ] || die "found no staging replace lines in $gomod"
  cat >"$src/tools.go" <<'GO'
//go:build tools

// Package tools pins the Kubernetes commands this module builds.
package tools
GO
  local pkgs=("${missing[@]/#/k8s.io/kubernetes/cmd/}")
  step "resolving kubernetes dependencies"
  (cd "$src" && go get "${pkgs[@]/%/@$KUBE_VERSION}" >/dev/null 2>&1 || (cd "$src" && go get "${pkgs[@]}"))
  local minor=${KUBE_VERSION#v1.}; minor=${minor%%.*}
  local ldflags="-s -w -X k8s.io/component-base/version.gitVersion=$KUBE_VERSION"
  ldflags+=" -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=$minor"
  ldflags+=" -X k8s.io/component-base/version.gitTreeState=clean"
  ldflags+=" -X k8s.io/client-go/pkg/version.gitVersion=$KUBE_VERSION"
  ldflags+=" -X k8s.io/client-go/pkg/version.gitMajor=1 -X k8s.io/client-go/pkg/version.gitMinor=$minor"
  mkdir -p "$out/bin.tmp" "$out/bin"
  for p in "${pkgs[@]}"; do
    step "compiling $(basename "$p") ($(date +%T))"
    with_progress "compiling $(basename "$p")" \
      bash -c 'cd "$1" && shift && exec go "$@"' _ "$src" build "${build_flags[@]}" -ldflags "$ldflags" -o "$out/bin.tmp/" "$p"
    # Moved one by one, so that an interrupted build keeps what it finished and a binary is never half written.
    mv -f "$out/bin.tmp/$(basename "$p")" "$out/bin/"
  done
  rmdir "$out/bin.tmp"
}

# etcd: the version k8s.io/kubernetes itself requires, as a tiny main around go.etcd.io/etcd/server/v3/etcdmain.
build_etcd() {
  local gomod etcd_version
  gomod=$(mod_file k8s.io/kubernetes "$KUBE_VERSION")
  etcd_version=$(sed -n 's#^[[:space:]]*go\.etcd\.io/etcd/server/v3 \(v[0-9.]*\).*#\1#p' "$gomod" | head -n 1)
  [ -n "$etcd_version" ] || die "cannot find the etcd version in $gomod"
  local out="$LACQUER_CACHE/etcd/$etcd_version"
  if [ -x "$out/bin/etcd" ]; then step "etcd $etcd_version cached"; ETCD_VERSION=$etcd_version; return; fi
  step "building etcd $etcd_version"
  local src="$out/src"
  mkdir -p "$src"
  cat >"$src/go.mod" <<GOMOD
module lacquer.dev/etcdbuild

go 1.25

require go.etcd.io/etcd/server/v3 $etcd_version
GOMOD
  cat >"$src/main.go" <<'GO'
// Command etcd runs the etcd server of the pinned go.etcd.io/etcd/server/v3 module.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
GO
  (cd "$src" && go mod tidy >/dev/null 2>&1 || (cd "$src" && go mod tidy))
  with_progress "compiling etcd" bash -c 'cd "$1" && shift && exec go "$@"' _ "$src" build "${build_flags[@]}" \
    -ldflags "-s -w" -o "$out/bin/etcd" .
  ETCD_VERSION=$etcd_version
}

# Gateway API: echo-basic from the conformance module and the CRDs of both channels from the API module.
build_gateway_api() {
  local out="$LACQUER_CACHE/gateway-api/$GATEWAY_API_VERSION"
  if [ -x "$out/bin/echo-basic" ] && [ -s "$out/crds/standard.yaml" ] && [ -s "$out/crds/experimental.yaml" ]; then
    step "gateway-api $GATEWAY_API_VERSION cached"; return
  fi
  step "building echo-basic and collecting CRDs of gateway-api $GATEWAY_API_VERSION"
  local src="$out/src" dir
  mkdir -p "$src" "$out/crds"
  cat >"$src/go.mod" <<GOMOD
module lacquer.dev/gatewayapibuild

go 1.26

require (
	sigs.k8s.io/gateway-api $GATEWAY_API_VERSION
	sigs.k8s.io/gateway-api/conformance $GATEWAY_API_VERSION
)
GOMOD
  cat >"$src/tools.go" <<'GO'
//go:build tools

// Package tools pins the Gateway API modules this module builds from.
package tools
GO
  (cd "$src" && go get sigs.k8s.io/gateway-api/conformance/echo-basic@"$GATEWAY_API_VERSION" \
    sigs.k8s.io/gateway-api@"$GATEWAY_API_VERSION" >/dev/null)
  (cd "$src" && go build "${build_flags[@]}" -ldflags "-s -w" -o "$out/bin/echo-basic" \
    sigs.k8s.io/gateway-api/conformance/echo-basic)
  dir=$(mod_dir sigs.k8s.io/gateway-api "$GATEWAY_API_VERSION")
  for channel in standard experimental; do
    [ -d "$dir/config/crd/$channel" ] || die "no CRDs in $dir/config/crd/$channel"
    : >"$out/crds/$channel.yaml.tmp"
    for f in "$dir/config/crd/$channel"/*.yaml; do
      case $(basename "$f") in kustomization.yaml) continue ;; esac
      { echo "---"; cat "$f"; } >>"$out/crds/$channel.yaml.tmp"
    done
    mv "$out/crds/$channel.yaml.tmp" "$out/crds/$channel.yaml"
  done
}

# A static Go program from a wrapper module: <cache dir> <module@version> <go.mod go line> <ldflags> <package...>.
# The binaries land in <cache dir>/bin, each moved there only once it is complete.
build_go_tool() {
  local out=$1 module=$2 go_line=$3 ldflags=$4 p; shift 4
  local src="$out/src"
  mkdir -p "$src" "$out/bin.tmp" "$out/bin"
  [ -f "$src/go.mod" ] || printf 'module lacquer.dev/%sbuild\n\ngo %s\n' "$(basename "$(dirname "$out")")" "$go_line" >"$src/go.mod"
  {
    printf '//go:build tools\n\n// Package tools pins the commands this module builds.\npackage tools\n\nimport (\n'
    printf '\t_ "%s"\n' "$@"
    printf ')\n'
  } >"$src/tools.go"
  step "resolving ${module%@*} dependencies"
  (cd "$src" && go get "$module" >/dev/null && go mod tidy >/dev/null)
  for p in "$@"; do
    step "compiling $(basename "$p") ($(date +%T))"
    with_progress "compiling $(basename "$p")" bash -c 'cd "$1" && shift && exec go "$@"' _ "$src" build \
      "${build_flags[@]}" -tags "no_btrfs no_devmapper no_zfs no_aufs" -ldflags "$ldflags" -o "$out/bin.tmp/" "$p"
    mv -f "$out/bin.tmp/$(basename "$p")" "$out/bin/"
  done
  rmdir "$out/bin.tmp"
}

# containerd with its runc shim and ctr (image import), without the snapshotters that need cgo or kernel modules.
build_containerd() {
  local out="$LACQUER_CACHE/containerd/$CONTAINERD_VERSION" c
  if [ -x "$out/bin/containerd" ] && [ -x "$out/bin/containerd-shim-runc-v2" ] && [ -x "$out/bin/ctr" ]; then
    step "containerd $CONTAINERD_VERSION cached"; return
  fi
  step "building containerd $CONTAINERD_VERSION (cold: about 3 minutes on 2 cores)"
  local pkgs=()
  for c in containerd containerd-shim-runc-v2 ctr; do pkgs+=("github.com/containerd/containerd/v2/cmd/$c"); done
  CGO_ENABLED=0 build_go_tool "$out" "github.com/containerd/containerd/v2@$CONTAINERD_VERSION" 1.24 \
    "-s -w -X github.com/containerd/containerd/v2/version.Version=$CONTAINERD_VERSION" "${pkgs[@]}"
}

# CoreDNS with only the plugins the clusters' Corefiles use: the local cluster's (tests/cluster/node/cluster_dns.ts)
# and the Gateway API conformance manifests' (forward, log, whoami). Upstream's main imports every plugin (about 1,300
# packages to compile, cloud SDKs included); this generated main compiles about 770. Listed in upstream's directive
# order (core/dnsserver/zdirectives.go), which is the order a query passes through them. The cache directory is keyed
# by the generated main, so changing the list builds a new binary.
COREDNS_PLUGINS=(ready health errors log cache kubernetes forward whoami)
build_coredns() {
  local imports directives main key
  imports=$(printf '\t_ "github.com/coredns/coredns/plugin/%s"\n' "${COREDNS_PLUGINS[@]}" | LC_ALL=C sort)
  directives=$(printf '"%s", ' "${COREDNS_PLUGINS[@]}")
  main=$(cat <<GO
// Command coredns is CoreDNS $COREDNS_VERSION with only the plugins Lacquer's clusters configure.
package main

import (
	"github.com/coredns/coredns/core/dnsserver"
	"github.com/coredns/coredns/coremain"

$imports
)

// The plugins a Corefile may use, in the order a query passes through them.
func init() { dnsserver.Directives = []string{${directives%, }} }

func main() { coremain.Run() }
GO
)
  key=$(printf '%s' "$main" | sha256sum | cut -c1-12)
  COREDNS_DIR="$LACQUER_CACHE/coredns/$COREDNS_VERSION-$key"
  if [ -x "$COREDNS_DIR/bin/coredns" ]; then step "coredns $COREDNS_VERSION ($key) cached"; return; fi
  step "building coredns $COREDNS_VERSION with ${COREDNS_PLUGINS[*]}"
  local src="$COREDNS_DIR/src"
  mkdir -p "$src" "$COREDNS_DIR/bin"
  printf 'module lacquer.dev/corednsbuild\n\ngo 1.24\n' >"$src/go.mod"
  printf '%s\n' "$main" >"$src/main.go"
  (cd "$src" && go get "github.com/coredns/coredns@$COREDNS_VERSION" >/dev/null 2>&1 && go mod tidy >/dev/null 2>&1) ||
    (cd "$src" && go get "github.com/coredns/coredns@$COREDNS_VERSION" && go mod tidy)
  CGO_ENABLED=0 with_progress "compiling coredns" bash -c 'cd "$1" && shift && exec go "$@"' _ "$src" build "${build_flags[@]}" \
    -ldflags "-s -w" -o "$COREDNS_DIR/bin/coredns.tmp" .
  mv -f "$COREDNS_DIR/bin/coredns.tmp" "$COREDNS_DIR/bin/coredns"
}

build_etcd
build_gateway_api
build_kubernetes
build_containerd
build_coredns

mkdir -p "$LACQUER_CACHE/bin" "$LACQUER_CACHE/gateway-api-crds"
for b in "${KUBE_COMMANDS[@]}"; do
  ln -sfn "$LACQUER_CACHE/kube/$KUBE_VERSION/bin/$b" "$LACQUER_CACHE/bin/$b"
done
ln -sfn "$LACQUER_CACHE/etcd/$ETCD_VERSION/bin/etcd" "$LACQUER_CACHE/bin/etcd"
for b in containerd containerd-shim-runc-v2 ctr; do
  ln -sfn "$LACQUER_CACHE/containerd/$CONTAINERD_VERSION/bin/$b" "$LACQUER_CACHE/bin/$b"
done
ln -sfn "$COREDNS_DIR/bin/coredns" "$LACQUER_CACHE/bin/coredns"
ln -sfn "$LACQUER_CACHE/gateway-api/$GATEWAY_API_VERSION/bin/echo-basic" "$LACQUER_CACHE/bin/echo-basic"
for channel in standard experimental; do
  ln -sfn "$LACQUER_CACHE/gateway-api/$GATEWAY_API_VERSION/crds/$channel.yaml" \
    "$LACQUER_CACHE/gateway-api-crds/$channel.yaml"
done
step "cluster binaries: kubernetes $KUBE_VERSION, etcd $ETCD_VERSION, gateway-api $GATEWAY_API_VERSION," \
  "containerd $CONTAINERD_VERSION, coredns $COREDNS_VERSION"

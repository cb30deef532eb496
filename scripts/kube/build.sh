#!/usr/bin/env bash
# Builds the local cluster's binaries and Helm from the Go module proxy and caches them below $LACQUER_CACHE, keyed by
# version:
#   kube/<k8s>/bin/{kube-apiserver,kube-controller-manager,kubectl,kubelet,kube-proxy,kube-scheduler}
#                                                                    (wrapper module, generated replace lines)
#   etcd/<etcd>/bin/etcd                                             (wrapper main around etcdmain)
#   gateway-api/<gw>/bin/echo-basic, gateway-api/<gw>/crds/{standard,experimental}.yaml
#   containerd/<v>/bin/{containerd,containerd-shim-runc-v2,ctr}      (the real node's runtime; static, no cgo)
#   coredns/<v>-<key>/bin/coredns                                    (cluster DNS, the plugins we use; static, no cgo)
#   helm/<v>/bin/helm                                                (go install helm.sh/helm/v3/cmd/helm@<v>)
# and links the current ones as $LACQUER_CACHE/bin/<name> and $LACQUER_CACHE/gateway-api-crds/<channel>.yaml.
# Usage: scripts/kube/build.sh [part...], parts: kubernetes etcd gateway-api containerd coredns helm (none: all of them,
# one after the other). Set-up runs three such builds at once, as background jobs beside its Rust builds: kubernetes
# (step kubernetes), the other cluster parts (same step) and helm (step helm). Each part says how long it took, in wall
# and CPU time; cold, in set-up's jobs (2 cores shared with other test runs, load average about 20), CPU: kubernetes
# 691 s (2280 s wall), helm 165 s, containerd 153 s, coredns 149 s, etcd 58 s, gateway-api 46 s. Built one after the
# other on a lightly loaded machine (load average about 4), wall: kubernetes 8 min, coredns 110 s, containerd 95 s,
# helm 83 s, etcd 60 s, gateway-api 11 s. A warm run only checks that the files exist (well under a second a part).
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
HELM_VERSION=${HELM_VERSION:-v3.22.0}
KUBE_COMMANDS=(kube-apiserver kube-controller-manager kubectl kubelet kube-proxy kube-scheduler)
# Two cores and no swap: keep each Go build to two parallel compile or link actions, of two threads each. Set-up runs
# three builds and cargo at once: the cores stay busy while one of them links or downloads, and memory is no limit
# (the largest compile takes about 1 GiB).
export GOMAXPROCS=${GOMAXPROCS:-2} GOFLAGS="${GOFLAGS:-} -buildvcs=false" GOTOOLCHAIN=local
build_flags=(-p 2 -trimpath)

command -v go >/dev/null || die "go is required to build the local cluster"

# Runs a long command, printing a progress line every minute so a cold build never looks stuck.
with_progress() {
  local what=$1 since=$SECONDS next=60 pid; shift
  "$@" & pid=$!
  while kill -0 "$pid" 2>/dev/null; do
    sleep 1
    if ((SECONDS - since >= next)); then step "still $what ($((SECONDS - since)) s)"; next=$((next + 60)); fi
  done
  wait "$pid"
}

# Sets cpu_ms to the CPU time (user + system, in milliseconds) of every process this script has waited for so far:
# bash's `times`, which must run in this shell (a command substitution would measure its own subshell).
cpu_file=$(mktemp)
trap 'rm -f "$cpu_file"' EXIT
cpu_now() {
  times >"$cpu_file"
  cpu_ms=$(awk 'NR == 2 {
    for (i = 1; i <= 2; i++) { split($i, t, "m"); sub("s", "", t[2]); ms += (t[1] * 60 + t[2]) * 1000 }
    printf "%d", ms }' "$cpu_file")
}

# Prints the go.mod of a module version from the proxy (through the module cache).
mod_file() { go mod download -json "$1@$2" | sed -n 's/^\t"GoMod": "\(.*\)",$/\1/p'; }
mod_dir() { go mod download -json "$1@$2" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p'; }

# Kubernetes: a wrapper module requiring k8s.io/kubernetes, with one replace line per staging module generated from
# the release's own go.mod (its "k8s.io/X => ./staging/src/k8s.io/X" lines become "k8s.io/X => k8s.io/X v0.N.M").
build_kubernetes() {
  local out="$LACQUER_CACHE/kube/$KUBE_VERSION" staging="v0.${KUBE_VERSION#v1.}" cmd missing=()
  for cmd in "${KUBE_COMMANDS[@]}"; do
    links+=("$out/bin/$cmd" "$LACQUER_CACHE/bin/$cmd")
    [ -x "$out/bin/$cmd" ] || missing+=("$cmd")
  done
  if [ ${#missing[@]} -eq 0 ]; then step "kubernetes $KUBE_VERSION cached"; return; fi
  built=1
  step "building kubernetes $KUBE_VERSION: ${missing[*]}"
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
  # One go build for all of them: it loads the packages once and links one command while it compiles for the next.
  rm -rf "$out/bin.tmp"
  mkdir -p "$out/bin.tmp" "$out/bin"
  step "compiling ${missing[*]}"
  with_progress "compiling kubernetes" bash -c 'cd "$1" && shift && exec go "$@"' _ "$src" build "${build_flags[@]}" \
    -ldflags "$ldflags" -o "$out/bin.tmp/" "${pkgs[@]}"
  # Moved only once all are linked, so that a binary is never half written.
  for cmd in "${missing[@]}"; do mv -f "$out/bin.tmp/$cmd" "$out/bin/"; done
  rmdir "$out/bin.tmp"
}

# etcd: the version k8s.io/kubernetes itself requires, as a tiny main around go.etcd.io/etcd/server/v3/etcdmain.
build_etcd() {
  local gomod etcd_version
  gomod=$(mod_file k8s.io/kubernetes "$KUBE_VERSION")
  etcd_version=$(sed -n 's#^[[:space:]]*go\.etcd\.io/etcd/server/v3 \(v[0-9.]*\).*#\1#p' "$gomod" | head -n 1)
  [ -n "$etcd_version" ] || die "cannot find the etcd version in $gomod"
  local out="$LACQUER_CACHE/etcd/$etcd_version"
  links+=("$out/bin/etcd" "$LACQUER_CACHE/bin/etcd")
  if [ -x "$out/bin/etcd" ]; then step "etcd $etcd_version cached"; return; fi
  built=1
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
    -ldflags "-s -w" -o "$out/bin/etcd.tmp" .
  mv -f "$out/bin/etcd.tmp" "$out/bin/etcd"
}

# Gateway API: echo-basic from the conformance module and the CRDs of both channels from the API module.
build_gateway_api() {
  local out="$LACQUER_CACHE/gateway-api/$GATEWAY_API_VERSION" channel
  links+=("$out/bin/echo-basic" "$LACQUER_CACHE/bin/echo-basic")
  for channel in standard experimental; do
    links+=("$out/crds/$channel.yaml" "$LACQUER_CACHE/gateway-api-crds/$channel.yaml")
  done
  if [ -x "$out/bin/echo-basic" ] && [ -s "$out/crds/standard.yaml" ] && [ -s "$out/crds/experimental.yaml" ]; then
    step "gateway-api $GATEWAY_API_VERSION cached"; return
  fi
  built=1
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
  (cd "$src" && go build "${build_flags[@]}" -ldflags "-s -w" -o "$out/bin/echo-basic.tmp" \
    sigs.k8s.io/gateway-api/conformance/echo-basic)
  mv -f "$out/bin/echo-basic.tmp" "$out/bin/echo-basic"
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
# The binaries land in <cache dir>/bin, moved there only once all are linked (one go build for all of them).
build_go_tool() {
  local out=$1 module=$2 go_line=$3 ldflags=$4 p; shift 4
  local src="$out/src"
  rm -rf "$out/bin.tmp"
  mkdir -p "$src" "$out/bin.tmp" "$out/bin"
  [ -f "$src/go.mod" ] || printf 'module lacquer.dev/%sbuild\n\ngo %s\n' "$(basename "$(dirname "$out")")" "$go_line" >"$src/go.mod"
  {
    printf '//go:build tools\n\n// Package tools pins the commands this module builds.\npackage tools\n\nimport (\n'
    printf '\t_ "%s"\n' "$@"
    printf ')\n'
  } >"$src/tools.go"
  step "resolving ${module%@*} dependencies"
  (cd "$src" && go get "$module" >/dev/null && go mod tidy >/dev/null)
  step "compiling ${*##*/}"
  with_progress "compiling ${module%@*}" bash -c 'cd "$1" && shift && exec go "$@"' _ "$src" build \
    "${build_flags[@]}" -tags "no_btrfs no_devmapper no_zfs no_aufs" -ldflags "$ldflags" -o "$out/bin.tmp/" "$@"
  for p in "$@"; do mv -f "$out/bin.tmp/${p##*/}" "$out/bin/"; done
  rmdir "$out/bin.tmp"
}

# containerd with its runc shim and ctr (image import), without the snapshotters that need cgo or kernel modules.
build_containerd() {
  local out="$LACQUER_CACHE/containerd/$CONTAINERD_VERSION" c
  for c in containerd containerd-shim-runc-v2 ctr; do links+=("$out/bin/$c" "$LACQUER_CACHE/bin/$c"); done
  if [ -x "$out/bin/containerd" ] && [ -x "$out/bin/containerd-shim-runc-v2" ] && [ -x "$out/bin/ctr" ]; then
    step "containerd $CONTAINERD_VERSION cached"; return
  fi
  built=1
  step "building containerd $CONTAINERD_VERSION"
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
  local imports directives main key dir
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
  dir="$LACQUER_CACHE/coredns/$COREDNS_VERSION-$key"
  links+=("$dir/bin/coredns" "$LACQUER_CACHE/bin/coredns")
  if [ -x "$dir/bin/coredns" ]; then step "coredns $COREDNS_VERSION ($key) cached"; return; fi
  built=1
  step "building coredns $COREDNS_VERSION with ${COREDNS_PLUGINS[*]}"
  local src="$dir/src"
  mkdir -p "$src" "$dir/bin"
  printf 'module lacquer.dev/corednsbuild\n\ngo 1.24\n' >"$src/go.mod"
  printf '%s\n' "$main" >"$src/main.go"
  (cd "$src" && go get "github.com/coredns/coredns@$COREDNS_VERSION" >/dev/null 2>&1 && go mod tidy >/dev/null 2>&1) ||
    (cd "$src" && go get "github.com/coredns/coredns@$COREDNS_VERSION" && go mod tidy)
  CGO_ENABLED=0 with_progress "compiling coredns" bash -c 'cd "$1" && shift && exec go "$@"' _ "$src" build "${build_flags[@]}" \
    -ldflags "-s -w" -o "$dir/bin/coredns.tmp" .
  mv -f "$dir/bin/coredns.tmp" "$dir/bin/coredns"
}

# Helm, which installs the chart in the local cluster and whose tests use it (deploy/helm_test.ts).
build_helm() {
  local out="$LACQUER_CACHE/helm/$HELM_VERSION"
  links+=("$out/bin/helm" "$LACQUER_CACHE/bin/helm")
  if [ -x "$out/bin/helm" ]; then step "helm $HELM_VERSION cached"; return; fi
  built=1
  step "building helm $HELM_VERSION"
  rm -rf "$out/bin.tmp"
  mkdir -p "$out/bin.tmp" "$out/bin"
  # go install of a version builds outside any module (helm's own go.mod decides the versions), from this empty dir.
  GOBIN="$out/bin.tmp" with_progress "compiling helm" bash -c 'cd "$1" && shift && exec go "$@"' _ "$out" install \
    "${build_flags[@]}" -ldflags "-s -w -X helm.sh/helm/v3/internal/version.version=$HELM_VERSION" \
    "helm.sh/helm/v3/cmd/helm@$HELM_VERSION"
  "$out/bin.tmp/helm" version --short >/dev/null || die "the helm built does not run"
  mv -f "$out/bin.tmp/helm" "$out/bin/helm"
  rmdir "$out/bin.tmp"
}

parts=("$@")
[ ${#parts[@]} -gt 0 ] || parts=(kubernetes etcd gateway-api containerd coredns helm)
for part in "${parts[@]}"; do
  case $part in
    kubernetes | etcd | gateway-api | containerd | coredns | helm) ;;
    *) die "unknown part $part (kubernetes, etcd, gateway-api, containerd, coredns, helm)" ;;
  esac
  # Each build_<part> lists in links the files it provides (target, link), linked once it succeeded, and sets built
  # when it had to build.
  links=() built='' started=$SECONDS
  cpu_now; cpu_started=$cpu_ms
  "build_${part//-/_}"
  if [ -n "$built" ]; then
    cpu_now
    step "$part built in $((SECONDS - started)) s, CPU $(((cpu_ms - cpu_started) / 1000)) s"
  fi
  for ((i = 0; i < ${#links[@]}; i += 2)); do
    mkdir -p "$(dirname "${links[i + 1]}")"
    # A new link renamed over the old one: a program starting meanwhile never finds the name missing.
    ln -sfn "${links[i]}" "${links[i + 1]}.tmp"
    mv -Tf "${links[i + 1]}.tmp" "${links[i + 1]}"
  done
done

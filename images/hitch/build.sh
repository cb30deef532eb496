#!/usr/bin/env bash
# Builds hitch 1.7.2 (Debian bookworm's version, from Debian's own source tarball) with Lacquer's patch
# (optional-no-ca.patch) and prints the path of the binary on stdout; progress goes to stderr. The build is cached
# below $LACQUER_CACHE/hitch/<hash of the tarball, the patch, this script and the compiler>/, so a second run only
# hashes. Used by set-up (step hitch, for the tests) and by the gateway image. Needs the build dependencies of
# Debian's package (scripts/setup.d/10-debian.sh installs them).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../../scripts/lib.sh
. "$here/../../scripts/lib.sh"
LACQUER_STEP_PREFIX=${LACQUER_STEP_PREFIX:-hitch}

tarball="$here/hitch_1.7.2.orig.tar.xz"
# The SHA-256 that Debian's hitch_1.7.2-1.dsc (bookworm) gives for hitch_1.7.2.orig.tar.xz.
tarball_sha256=4ef379f9f8c9b08bc952b63775cea64c2e4ff3c37c49d106bc14fab47cb2aa22
patch_file="$here/optional-no-ca.patch"

for tool in gcc make autoreconf flex bison pkg-config patch dpkg-buildflags; do
  command -v "$tool" >/dev/null || die "$tool is required to build hitch (bash scripts/setup.sh debian installs it)"
done
{ [ -f /usr/include/ev.h ] && pkg-config --exists openssl; } ||
  die "libev-dev and libssl-dev are required to build hitch (bash scripts/setup.sh debian installs them)"
echo "$tarball_sha256  $tarball" | sha256sum --check --status || die "$tarball is not Debian's hitch 1.7.2 source"

key=$( {
  cat "$tarball" "$patch_file" "${BASH_SOURCE[0]}"
  gcc -dumpfullversion
  dpkg-query -W -f='${Version}' libssl-dev libev-dev 2>/dev/null || true
} | sha256sum | cut -c1-16)
out="$LACQUER_CACHE/hitch/$key"
if [ ! -f "$out/done" ]; then
  step "building hitch 1.7.2 with optional-no-ca.patch into $out"
  rm -rf "$out"
  mkdir -p "$out/src"
  tar -xJf "$tarball" -C "$out/src" --strip-components=1
  (
    cd "$out/src"
    patch -p1 --quiet <"$patch_file"
    mkdir -p build-aux
    step "hitch: autoreconf"
    autoreconf -i >/dev/null 2>&1 || die "hitch: autoreconf failed"
    # The flags of Debian's package (debian/rules: hardening=+all), so the binary matches the one it replaces.
    export DEB_BUILD_MAINT_OPTIONS=hardening=+all
    step "hitch: configure"
    ./configure --quiet --prefix=/usr --sbindir=/usr/sbin --with-lex --with-yacc \
      CFLAGS="$(dpkg-buildflags --get CFLAGS)" CPPFLAGS="$(dpkg-buildflags --get CPPFLAGS)" \
      LDFLAGS="$(dpkg-buildflags --get LDFLAGS)" >"$out/configure.log" 2>&1 ||
      die "hitch: configure failed, see $out/configure.log"
    step "hitch: make"
    make -j2 -C src >"$out/make.log" 2>&1 || die "hitch: make failed, see $out/make.log"
  )
  install -m 0755 -s "$out/src/src/hitch" "$out/hitch"
  "$out/hitch" --version >/dev/null 2>&1 || die "hitch: the built binary does not run"
  touch "$out/done"
  step "hitch: built $out/hitch"
fi
echo "$out/hitch"

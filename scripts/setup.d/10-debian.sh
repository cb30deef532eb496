# Debian packages: Varnish and its development headers (ghost), hitch (TLS) and what its source package builds with
# (libev-dev, libssl-dev, autoconf, automake, flex, bison: step hitch patches it), clang (bindgen), network and namespace
# tools (iproute2, util-linux: nsenter, unshare, setsid; mount), openssl (the local cluster's certificates), wrk and
# nginx (the cache benchmark's load generator and reference proxy), for the local cluster's real node: runc, the
# CNI plugins (bridge, host-local) and nftables (kube-proxy's nftables mode runs `nft`), and the image tools
# (mmdebstrap builds Debian root filesystems, skopeo converts and pushes OCI images; images/README.md).
packages=(varnish libvarnishapi-dev varnish-modules hitch libev-dev libssl-dev autoconf automake flex bison clang
  libclang-dev pkg-config iproute2 curl wrk nginx
  build-essential git ca-certificates openssl util-linux mount runc containernetworking-plugins nftables mmdebstrap
  skopeo)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  step "installing Debian packages: ${missing[*]}"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  step "Debian packages present"
fi

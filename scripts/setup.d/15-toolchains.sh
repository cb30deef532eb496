# Rust (ghost) and Go (the local Kubernetes) are expected on the machine; say clearly when they are not.
command -v cargo >/dev/null || die "cargo is required (install Rust with rustup)"
command -v go >/dev/null || die "go is required (install Go 1.25 or newer)"
step "cargo: $(cargo --version); go: $(go version | cut -d' ' -f3)"

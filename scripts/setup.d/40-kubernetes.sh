# The local cluster's binaries (etcd, kube-apiserver, kube-controller-manager, kubectl, echo-basic) and the Gateway
# API CRDs, built from the Go module proxy and cached by version below $LACQUER_CACHE (scripts/kube/build.sh).
LACQUER_STEP_PREFIX=setup bash "$LACQUER_ROOT/scripts/kube/build.sh" || die "building the local cluster failed"

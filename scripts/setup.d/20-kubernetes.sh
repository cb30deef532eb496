# The local cluster's binaries (etcd, Kubernetes' commands, containerd, CoreDNS, echo-basic) and the Gateway API CRDs,
# built from the Go module proxy and cached by version below $LACQUER_CACHE (scripts/kube/build.sh). Two background
# jobs beside the steps after this one, so that these builds, step helm's and the Rust builds share the cores:
# Kubernetes (set-up's longest build) and the other parts. Step images waits for the other parts (echo-basic and
# CoreDNS go into images); the end of set-up for both.
start_job kubernetes "$LACQUER_CACHE/logs/kubernetes.log" bash "$LACQUER_ROOT/scripts/kube/build.sh" kubernetes
start_job cluster-tools "$LACQUER_CACHE/logs/cluster-tools.log" \
  bash "$LACQUER_ROOT/scripts/kube/build.sh" gateway-api coredns etcd containerd

// Package conformance runs the upstream Gateway API conformance suite (sigs.k8s.io/gateway-api/conformance)
// against the local Lacquer cluster. Build it with `go test -c`; `deno task conformance` passes the flags
// (gateway class, supported features, report path, and -run for a single test).
package conformance

import (
	"testing"

	"sigs.k8s.io/gateway-api/conformance"
)

// TestConformance runs the suite with options taken from the command-line flags.
func TestConformance(t *testing.T) {
	conformance.RunConformance(t)
}

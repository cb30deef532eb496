/**
 * Test fixtures: a Service and its EndpointSlice as the chaperone's views hold them, in namespace `ns` (one port 80 →
 * 8080, one ready endpoint).
 *
 * @module
 */
import type { EndpointSliceView, ServiceView } from "./kube_views.ts";

/** A ClusterIP Service `ns/<name>` with port 80 to target port 8080 (and `appProtocol` when given). */
export function serviceView(name: string, appProtocol?: string): ServiceView {
  const port = { name: "", port: 80, protocol: "TCP", targetPort: 8080, appProtocol };
  return { metadata: { name, namespace: "ns", labels: {} }, spec: { type: "ClusterIP", selector: {}, ports: [port] } };
}

/** The EndpointSlice `ns/<name>-1` of Service `name`: one ready endpoint at `address`, port 8080. */
export function sliceView(name: string, address: string): EndpointSliceView {
  return {
    metadata: { name: `${name}-1`, namespace: "ns", labels: { "kubernetes.io/service-name": name } },
    addressType: "IPv4",
    ports: [{ name: "", port: 8080, protocol: "TCP" }],
    endpoints: [{ addresses: [address], conditions: { ready: true, serving: undefined, terminating: undefined } }],
  };
}

/**
 * Test fixtures: a Service and its EndpointSlice as the chaperone's views hold them, in namespace `ns` (one port 80 →
 * 8080 or another target port, one ready endpoint).
 *
 * @module
 */
import type { EndpointSliceView, ServiceView } from "./kube_views.ts";

/** A ClusterIP Service `ns/<name>` with port 80 to target port `targetPort` (and `appProtocol` when given). */
export function serviceView(name: string, appProtocol?: string, targetPort = 8080): ServiceView {
  const port = { name: "", port: 80, protocol: "TCP", targetPort, appProtocol };
  return { metadata: { name, namespace: "ns", labels: {} }, spec: { type: "ClusterIP", selector: {}, ports: [port] } };
}

/** The EndpointSlice `ns/<name>-1` of Service `name`: one ready endpoint at `address`, port `port`. */
export function sliceView(name: string, address: string, port = 8080): EndpointSliceView {
  return {
    metadata: { name: `${name}-1`, namespace: "ns", labels: { "kubernetes.io/service-name": name } },
    addressType: "IPv4",
    ports: [{ name: "", port, protocol: "TCP" }],
    endpoints: [{ addresses: [address], conditions: { ready: true, serving: undefined, terminating: undefined } }],
  };
}

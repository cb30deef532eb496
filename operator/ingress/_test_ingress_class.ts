import { INGRESS_CONTROLLER_NAME } from "./ingress_schema.ts";

/** What a test IngressClass may add: metadata annotations, and spec fields that replace or join the defaults. */
export interface TestIngressClassOptions {
  /** `metadata.annotations`, when given. */
  annotations?: Record<string, string>;
  /** Spread over the spec (for example another `parameters`). */
  spec?: Record<string, unknown>;
}

/**
 * An IngressClass of Lacquer's controller whose parameters name the Gateway `gateway` (a test fixture).
 *
 * @param name The IngressClass's name.
 * @param gateway The Gateway its parameters name.
 * @param options Annotations and spec fields to add.
 * @returns The IngressClass object.
 */
export function lacquerIngressClass(
  name: string,
  gateway: { namespace: string; name: string },
  options: TestIngressClassOptions = {},
): Record<string, unknown> {
  return {
    apiVersion: "networking.k8s.io/v1",
    kind: "IngressClass",
    metadata: options.annotations ? { name, annotations: options.annotations } : { name },
    spec: {
      controller: INGRESS_CONTROLLER_NAME,
      parameters: { apiGroup: "gateway.networking.k8s.io", kind: "Gateway", scope: "Namespace", ...gateway },
      ...options.spec,
    },
  };
}

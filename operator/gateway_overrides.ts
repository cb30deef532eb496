/**
 * Which GatewayParameters fields a Gateway's own object (`spec.infrastructure.parametersRef`) may set. The fields
 * that decide what runs in the gateway pods or how much of the node they take are the class's: only the
 * GatewayParameters of the GatewayClass sets them, unless that object lists them in `allowedGatewayOverrides`. A
 * field a Gateway may not set is left out (the class's value applies) and named with why, so the Gateway can tell
 * its owner; its other fields apply. Pure.
 *
 * @module
 */
import type { GatewayParameters } from "./gateway_parameters.ts";

/** The names `allowedGatewayOverrides` may list, each a group of GatewayParameters fields. */
export const GATEWAY_OVERRIDES = ["image", "env", "storage", "varnishdArgs", "vcl"] as const;

/** A name `allowedGatewayOverrides` may list. */
export type GatewayOverride = (typeof GATEWAY_OVERRIDES)[number];

/** The fields of each name of {@linkcode GATEWAY_OVERRIDES}, and why they are the class's. */
export const OVERRIDE_FIELDS: Readonly<Record<GatewayOverride, { fields: readonly string[]; why: string }>> = {
  image: { fields: ["image", "imagePullPolicy"], why: "it chooses the program the gateway pods run" },
  env: { fields: ["env"], why: "the environment configures the gateway's processes" },
  storage: { fields: ["storage"], why: "the cache size is node memory" },
  varnishdArgs: { fields: ["varnishdArgs"], why: "varnishd's threads and workspaces are node memory" },
  vcl: {
    fields: ["vcl"],
    why: "VCL is code inside varnishd: it reads the pod's files and reaches any address from the pod",
  },
};

/** A field a Gateway's own GatewayParameters set but may not. */
export interface RefusedField {
  /** The field, as in the spec. */
  field: string;
  /** Why it is refused, in words. */
  why: string;
}

/** The Gateway's own GatewayParameters as they apply, and what was left out of them. */
export interface GatewayOverrides {
  /** The object without the fields it may not set. */
  parameters: GatewayParameters;
  /** The fields left out, in the order of {@linkcode GATEWAY_OVERRIDES} (`allowedGatewayOverrides` last). */
  refused: RefusedField[];
}

/**
 * Leaves out of a Gateway's own GatewayParameters the fields its class does not let Gateways set.
 *
 * @example Usage
 * ```ts
 * import { gatewayOverrides } from "./gateway_overrides.ts";
 * const own = { metadata: { name: "own", namespace: "web" }, spec: { image: "x", replicas: 3 } };
 * const { parameters, refused } = gatewayOverrides(own, []);
 * // parameters.spec is { replicas: 3 }; refused[0].field is "image"
 * ```
 *
 * @param own The Gateway's own GatewayParameters.
 * @param allowed What the class's GatewayParameters list in `allowedGatewayOverrides` (empty without one).
 * @returns The object as it applies, and the refused fields.
 */
export function gatewayOverrides(own: GatewayParameters, allowed: readonly GatewayOverride[]): GatewayOverrides {
  const spec: Record<string, unknown> = { ...own.spec };
  const refused: RefusedField[] = [];
  for (const name of GATEWAY_OVERRIDES) {
    if (allowed.includes(name)) continue;
    for (const field of OVERRIDE_FIELDS[name].fields) {
      if (spec[field] === undefined) continue;
      delete spec[field];
      refused.push({ field, why: OVERRIDE_FIELDS[name].why });
    }
  }
  // A Gateway cannot grant itself what its class withholds.
  if (spec.allowedGatewayOverrides !== undefined) {
    delete spec.allowedGatewayOverrides;
    refused.push({ field: "allowedGatewayOverrides", why: "only the class's GatewayParameters grant overrides" });
  }
  return { parameters: { ...own, spec: spec as GatewayParameters["spec"] }, refused };
}

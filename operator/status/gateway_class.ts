/**
 * GatewayClass status: `Accepted` (or `InvalidParameters`), `SupportedVersion` and `supportedFeatures`
 * (Gateway API `GatewayClassStatus`, `apis/v1/gatewayclass_types.go`).
 *
 * @module
 */
import type { Condition, GatewayClass } from "../api_types.ts";
import { GATEWAY_API_VERSION, SUPPORTED_FEATURES } from "../features.ts";
import {
  classAccepted,
  classInvalidParameters,
  classSupportedVersion,
  classUnsupportedVersion,
  mergeConditions,
  type NewCondition,
} from "./conditions.ts";

/** What a GatewayClass's status is computed from. */
export interface GatewayClassFacts {
  /** The class's `metadata.generation`. */
  generation?: number;
  /** What is wrong with its `parametersRef`, if anything (`GatewayClass <problem>` becomes the message). */
  parametersProblem?: string;
  /** The Gateway API bundle version of the installed CRDs, when known. */
  crdBundleVersion?: string;
}

/** The status of a GatewayClass. */
export interface GatewayClassStatus {
  /** Conditions. */
  conditions: Condition[];
  /** The features Lacquer supports. */
  supportedFeatures: { name: string }[];
}

/** The computed status of one GatewayClass. */
export interface GatewayClassResult {
  /** Its name. */
  name: string;
  /** Its status. */
  status: GatewayClassStatus;
}

function minorVersion(version: string): string | undefined {
  return /^v?(\d+)\.(\d+)/.exec(version)?.slice(1, 3).join(".");
}

/**
 * Computes a GatewayClass's conditions: `Accepted` and `SupportedVersion` (the CRDs' minor version must be ours).
 *
 * @example Usage
 * ```ts
 * import { gatewayClassConditions } from "./gateway_class.ts";
 * gatewayClassConditions({ generation: 1 }).map((c) => c.reason); // ["Accepted", "SupportedVersion"]
 * ```
 *
 * @param facts The class's generation, its parameters problem and the installed CRD version.
 * @returns The conditions.
 */
export function gatewayClassConditions(facts: GatewayClassFacts): NewCondition[] {
  const { generation: gen, parametersProblem, crdBundleVersion: version } = facts;
  const versionOk = version === undefined || minorVersion(version) === minorVersion(GATEWAY_API_VERSION);
  return [
    parametersProblem ? classInvalidParameters(`GatewayClass ${parametersProblem}`, gen) : classAccepted(gen),
    versionOk
      ? classSupportedVersion(`Gateway API ${version ?? GATEWAY_API_VERSION} is supported`, gen)
      : classUnsupportedVersion(
        `Installed Gateway API CRDs are ${version}; Lacquer supports ${GATEWAY_API_VERSION}`,
        gen,
      ),
  ];
}

/**
 * Computes a GatewayClass's whole status, keeping `lastTransitionTime` of conditions that did not flip.
 *
 * @param cls The class (its generation and current status).
 * @param facts What is wrong with its parameters and the installed CRD version.
 * @param now The time for conditions that flip (RFC 3339).
 * @returns Its name and status.
 */
export function gatewayClassStatus(
  cls: GatewayClass,
  facts: Omit<GatewayClassFacts, "generation">,
  now: string,
): GatewayClassResult {
  const conditions = gatewayClassConditions({ ...facts, generation: cls.metadata.generation });
  return {
    name: cls.metadata.name,
    status: {
      conditions: mergeConditions(cls.status?.conditions, conditions, now),
      supportedFeatures: SUPPORTED_FEATURES.map((name) => ({ name })),
    },
  };
}

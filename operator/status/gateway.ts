/**
 * Gateway status: `Accepted` (with `ListenersNotValid`, `InvalidParameters`, `UnsupportedAddress`),
 * `Programmed` and `addresses` (`programmed.ts`), `ResolvedRefs` of its backend client certificate
 * (`InvalidClientCertificateRef`, `RefNotPermitted`), Lacquer's `lacquer.dev/ParametersAllowed` about the fields of
 * its own GatewayParameters its class does not let it set, and the listener entries (`listener.ts`); Gateway API
 * `GatewayStatus`, `apis/v1/gateway_types.go`.
 *
 * @module
 */
import type { Condition, Gateway, Pod, Service } from "../api_types.ts";
import type { BackendClientCertificate, BackendClientCertificateProblem } from "../backend_client_certificate.ts";
import { insecureFallbackPorts } from "../frontend_validation.ts";
import type { GatewayProblem, OwnParameters } from "../gateway_config.ts";
import type { ListenerResult } from "../listeners.ts";
import {
  gatewayAccepted,
  gatewayInsecureFrontendValidation,
  gatewayInvalidParameters,
  gatewayListenersNotValid,
  gatewayParametersAllowed,
  gatewayProgrammedInvalid,
  gatewayResolvedRefs,
  gatewayUnsupportedAddress,
  mergeConditions,
  type NewCondition,
} from "./conditions.ts";
import { type ListenerStatus, listenerStatuses } from "./listener.ts";
import { gatewayProgrammedStatus, type GatewayRejections } from "./programmed.ts";

/** The computed status of a Gateway. */
export interface GatewayStatus {
  /** Addresses of the gateway Service. */
  addresses: { type: string; value: string }[];
  /** Conditions. */
  conditions: Condition[];
  /** Per-listener status, in spec order. */
  listeners: ListenerStatus[];
  /** How many ListenerSets are attached; set when the Gateway allows ListenerSets or one names it. */
  attachedListenerSets?: number;
}

/** What a Gateway's `Accepted` condition is computed from. */
export interface GatewayAcceptanceFacts {
  /** The Gateway's generation. */
  generation?: number;
  /** What is wrong with its parameters or addresses, if anything. */
  problem?: GatewayProblem;
  /** Its validated listeners. */
  listeners: readonly ListenerResult[];
}

/** What a Gateway's whole status is computed from. */
export interface GatewayFacts {
  /** The Gateway (its generation and current status). */
  gateway: Gateway;
  /** What is wrong with its parameters or addresses, if anything. */
  problem?: GatewayProblem;
  /** Its validated listeners. */
  listeners: readonly ListenerResult[];
  /** Routes attached per listener name. */
  attachedRoutes: ReadonlyMap<string, number>;
  /** Its gateway Service, if it exists. */
  service?: Service;
  /** Its gateway pods. */
  pods: readonly Pod[];
  /** Hashes of the current routing.json and main.vcl. */
  hashes: { routing: string; vcl: string };
  /** What the pods rejected of the current configuration. */
  rejections?: GatewayRejections;
  /** Its backend client certificate (`spec.tls.backend.clientCertificateRef`), resolved or why not. */
  clientCertificate?: BackendClientCertificate | BackendClientCertificateProblem;
  /** Its own GatewayParameters, when it names some that exist, with the fields its class refused. */
  ownParameters?: OwnParameters;
}

/**
 * Computes a Gateway's `Accepted` condition. Some invalid listeners leave it accepted (reason
 * `ListenersNotValid`, status True, as the spec allows); no valid listener at all does not.
 *
 * @example Usage
 * ```ts
 * import { gatewayAcceptedCondition } from "./gateway.ts";
 * gatewayAcceptedCondition({ listeners: [] }).reason; // "ListenersNotValid"
 * ```
 *
 * @param facts The generation, the parameters problem and the listeners.
 * @returns The condition.
 */
export function gatewayAcceptedCondition(facts: GatewayAcceptanceFacts): NewCondition {
  const { generation: gen, problem } = facts;
  if (problem?.reason === "UnsupportedAddress") return gatewayUnsupportedAddress(problem.message, gen);
  if (problem) return gatewayInvalidParameters(problem.message, gen);
  const invalid = facts.listeners.filter((l) => !l.usable);
  if (invalid.length === facts.listeners.length) {
    return gatewayListenersNotValid("No listener of the Gateway is valid", gen);
  }
  if (invalid.length === 0) return gatewayAccepted(gen);
  const names = invalid.map((l) => `"${l.listener.name}"`).join(", ");
  return { ...gatewayListenersNotValid(`Listeners ${names} are not valid`, gen), status: "True" };
}

/**
 * Computes a Gateway's `lacquer.dev/ParametersAllowed` condition: whether its class lets its own GatewayParameters
 * set every field they set, and if not, which fields were left out and why.
 *
 * @example Usage
 * ```ts
 * import { ownParametersCondition } from "./gateway.ts";
 * const own = { name: "web/own", className: "c", allowed: [], refused: [{ field: "image", why: "it is code" }] };
 * ownParametersCondition(own).reason; // "NotAllowedByClass"
 * ```
 *
 * @param own The Gateway's own GatewayParameters and what of them its class refused.
 * @param generation The Gateway's generation.
 * @returns The condition.
 */
export function ownParametersCondition(own: OwnParameters, generation?: number): NewCondition {
  if (own.refused.length === 0) {
    return gatewayParametersAllowed(
      true,
      `GatewayClass "${own.className}" lets GatewayParameters "${own.name}" set every field they set`,
      generation,
    );
  }
  const fields = own.refused.map((r) => `${r.field} (${r.why})`).join(", ");
  const grant = own.classParameters
    ? `Its Gateways may set only what its GatewayParameters "${own.classParameters}" list in ` +
      `allowedGatewayOverrides (now: ${own.allowed.length > 0 ? own.allowed.join(", ") : "none"})`
    : "The class names no GatewayParameters, whose allowedGatewayOverrides would list what its Gateways may set";
  return gatewayParametersAllowed(
    false,
    `GatewayClass "${own.className}" does not let its Gateways set ${fields}: GatewayParameters "${own.name}" set ` +
      `them, so the class's values apply (their other fields apply). ${grant}`,
    generation,
  );
}

/**
 * Computes a Gateway's whole status, keeping `lastTransitionTime` of conditions that did not flip.
 *
 * @param facts The Gateway, its listeners, Service, pods and the current configuration hashes.
 * @param now The time for conditions that flip (RFC 3339).
 * @returns The status.
 */
export function gatewayStatus(facts: GatewayFacts, now: string): GatewayStatus {
  const { gateway } = facts;
  const accepted = gatewayAcceptedCondition({ ...facts, generation: gateway.metadata.generation });
  const programmed = gatewayProgrammedStatus({
    gateway,
    accepted: accepted.status === "True",
    service: facts.service,
    pods: facts.pods,
    hashes: facts.hashes,
    rejections: facts.rejections,
  });
  // Present only while some port allows clients without a valid certificate (the spec removes it afterwards).
  const insecure = insecureFallbackPorts(gateway);
  const insecureCondition = insecure.length === 0 ? [] : [
    gatewayInsecureFrontendValidation(
      `Client certificate validation allows clients without a certificate (AllowInsecureFallback): ${
        insecure.map((p) => p === "default" ? "default" : `port ${p}`).join(", ")
      }; a certificate that fails verification is still refused`,
      gateway.metadata.generation,
    ),
  ];
  // Present only while the Gateway names a backend client certificate (the only reference it reports on).
  const client = facts.clientCertificate;
  const resolvedRefs = client === undefined ? [] : [
    "reason" in client
      ? gatewayResolvedRefs({ status: "False", reason: client.reason }, client.message, gateway.metadata.generation)
      : gatewayResolvedRefs(
        { status: "True", reason: "ResolvedRefs" },
        "The backend client certificate is resolved",
        gateway.metadata.generation,
      ),
  ];
  // Present only while the Gateway names GatewayParameters of its own.
  const own = facts.ownParameters;
  const ownCondition = own === undefined ? [] : [ownParametersCondition(own, gateway.metadata.generation)];
  return {
    addresses: programmed.addresses,
    conditions: mergeConditions(
      gateway.status?.conditions,
      [accepted, programmed.condition, ...insecureCondition, ...resolvedRefs, ...ownCondition],
      now,
    ),
    listeners: listenerStatuses({ ...facts, programmed: programmed.condition }, now),
  };
}

/**
 * Makes a Gateway's `Programmed` False with reason Invalid when some of its children could not be applied because
 * objects that are not its own hold their names (`ChildrenWriter.sync`): the gateway cannot serve as asked.
 *
 * @example Usage
 * ```ts ignore
 * import { withChildConflicts } from "./gateway.ts";
 * const status = withChildConflicts(computed, gateway, 'Service "ns/web" ...', now);
 * ```
 *
 * @param status The status computed from the cluster.
 * @param gateway The Gateway (its generation and current conditions).
 * @param message What conflicts, in words; empty when nothing does.
 * @param now The time for conditions that flip (RFC 3339).
 * @returns The status to write.
 */
export function withChildConflicts(
  status: GatewayStatus,
  gateway: Gateway,
  message: string,
  now: string,
): GatewayStatus {
  if (message === "") return status;
  const programmed = gatewayProgrammedInvalid(message, gateway.metadata.generation);
  const next = status.conditions.map((c) => c.type === programmed.type ? programmed : c);
  return { ...status, conditions: mergeConditions(gateway.status?.conditions, next, now) };
}

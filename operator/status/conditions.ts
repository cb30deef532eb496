/**
 * Every condition type and reason the operator writes, named as in the Gateway API spec
 * (sigs.k8s.io/gateway-api v1.6.1 `apis/v1/shared_types.go`, `gateway_types.go`, `gatewayclass_types.go`), plus one
 * constructor per condition outcome.
 *
 * Constructors take the message and the object's generation; `lastTransitionTime` is filled in by
 * {@linkcode mergeConditions}, which keeps the previous time unless the status flipped (apimachinery
 * `meta.SetStatusCondition`).
 *
 * @module
 */
import type { Condition } from "../api_types.ts";

/** Condition types of GatewayClass. */
export const GatewayClassConditionType = { Accepted: "Accepted", SupportedVersion: "SupportedVersion" } as const;

/** Reasons of GatewayClass conditions. */
export const GatewayClassReason = {
  Accepted: "Accepted",
  InvalidParameters: "InvalidParameters",
  Pending: "Pending",
  SupportedVersion: "SupportedVersion",
  UnsupportedVersion: "UnsupportedVersion",
} as const;

/** Condition types of Gateway. */
export const GatewayConditionType = {
  Accepted: "Accepted",
  Programmed: "Programmed",
  InsecureFrontendValidationMode: "InsecureFrontendValidationMode",
  /** Lacquer's own: whether the class lets the Gateway's own GatewayParameters set every field they set. */
  ParametersAllowed: "lacquer.dev/ParametersAllowed",
} as const;

/** Reasons of Gateway conditions. */
export const GatewayReason = {
  Accepted: "Accepted",
  ListenersNotValid: "ListenersNotValid",
  InvalidParameters: "InvalidParameters",
  UnsupportedAddress: "UnsupportedAddress",
  Programmed: "Programmed",
  Invalid: "Invalid",
  Pending: "Pending",
  AddressNotAssigned: "AddressNotAssigned",
  AddressNotUsable: "AddressNotUsable",
  ConfigurationChanged: "ConfigurationChanged",
  Allowed: "Allowed",
  NotAllowedByClass: "NotAllowedByClass",
} as const;

/** Condition types of a Gateway listener. */
export const ListenerConditionType = {
  Accepted: "Accepted",
  Conflicted: "Conflicted",
  ResolvedRefs: "ResolvedRefs",
  Programmed: "Programmed",
} as const;

/** Reasons of listener conditions. */
export const ListenerReason = {
  Accepted: "Accepted",
  PortUnavailable: "PortUnavailable",
  UnsupportedProtocol: "UnsupportedProtocol",
  UnsupportedValue: "UnsupportedValue",
  HostnameConflict: "HostnameConflict",
  ProtocolConflict: "ProtocolConflict",
  NoConflicts: "NoConflicts",
  ResolvedRefs: "ResolvedRefs",
  InvalidCertificateRef: "InvalidCertificateRef",
  InvalidRouteKinds: "InvalidRouteKinds",
  RefNotPermitted: "RefNotPermitted",
  InvalidCACertificateRef: "InvalidCACertificateRef",
  InvalidCACertificateKind: "InvalidCACertificateKind",
  NoValidCACertificate: "NoValidCACertificate",
  Programmed: "Programmed",
  Invalid: "Invalid",
  Pending: "Pending",
} as const;

/** Reasons of ListenerSet conditions (`ListenerSetConditionReason`; its types are those of a Gateway). */
export const ListenerSetReason = {
  Accepted: "Accepted",
  NotAllowed: "NotAllowed",
  ParentNotAccepted: "ParentNotAccepted",
  ListenersNotValid: "ListenersNotValid",
  Programmed: "Programmed",
  ParentNotProgrammed: "ParentNotProgrammed",
} as const;

/** Condition types of a route's parent status. */
export const RouteConditionType = {
  Accepted: "Accepted",
  ResolvedRefs: "ResolvedRefs",
  PartiallyInvalid: "PartiallyInvalid",
} as const;

/** Reasons of route conditions. */
export const RouteReason = {
  Accepted: "Accepted",
  NotAllowedByListeners: "NotAllowedByListeners",
  NoMatchingListenerHostname: "NoMatchingListenerHostname",
  NoMatchingParent: "NoMatchingParent",
  UnsupportedValue: "UnsupportedValue",
  Pending: "Pending",
  IncompatibleFilters: "IncompatibleFilters",
  ResolvedRefs: "ResolvedRefs",
  RefNotPermitted: "RefNotPermitted",
  InvalidKind: "InvalidKind",
  BackendNotFound: "BackendNotFound",
  UnsupportedProtocol: "UnsupportedProtocol",
} as const;

/** Condition types of a policy's ancestor status (Gateway API `PolicyConditionType`). */
export const PolicyConditionType = { Accepted: "Accepted" } as const;

/** Reasons of policy conditions (Gateway API `PolicyConditionReason`). */
export const PolicyReason = {
  Accepted: "Accepted",
  Conflicted: "Conflicted",
  Invalid: "Invalid",
  TargetNotFound: "TargetNotFound",
} as const;

/** Condition types of a BackendTLSPolicy's ancestor status. */
export const BackendTlsPolicyConditionType = { Accepted: "Accepted", ResolvedRefs: "ResolvedRefs" } as const;

/** Reasons of BackendTLSPolicy conditions (`apis/v1/backendtlspolicy_types.go`, besides {@linkcode PolicyReason}). */
export const BackendTlsPolicyReason = {
  NoValidCACertificate: "NoValidCACertificate",
  ResolvedRefs: "ResolvedRefs",
  InvalidCACertificateRef: "InvalidCACertificateRef",
  InvalidKind: "InvalidKind",
} as const;

/** Reasons of a Gateway's `ResolvedRefs` condition about its backend client certificate. */
export const GatewayResolvedRefsReason = {
  ResolvedRefs: "ResolvedRefs",
  InvalidClientCertificateRef: "InvalidClientCertificateRef",
  RefNotPermitted: "RefNotPermitted",
} as const;

/** The longest condition message the API accepts. */
export const MAX_MESSAGE_LENGTH = 32768;

/** A condition without its transition time; {@linkcode mergeConditions} adds it. */
export type NewCondition = Omit<Condition, "lastTransitionTime">;

function truncate(message: string): string {
  if (message.length <= MAX_MESSAGE_LENGTH) return message;
  const suffix = " (message truncated)";
  return message.slice(0, MAX_MESSAGE_LENGTH - suffix.length) + suffix;
}

/** Which condition, in which state, for what reason. */
interface Outcome {
  type: string;
  status: "True" | "False" | "Unknown";
  reason: string;
}

function condition(outcome: Outcome, message: string, generation: number | undefined): NewCondition {
  const { type, status, reason } = outcome;
  return {
    type,
    status,
    reason,
    message: truncate(message),
    ...(generation === undefined ? {} : { observedGeneration: generation }),
  };
}

/** Builds GatewayClass `Accepted=True`. */
export function classAccepted(generation?: number): NewCondition {
  return condition(
    { type: "Accepted", status: "True", reason: "Accepted" },
    "GatewayClass is accepted by Lacquer",
    generation,
  );
}

/** Builds GatewayClass `Accepted=False` with reason InvalidParameters. */
export function classInvalidParameters(message: string, generation?: number): NewCondition {
  return condition({ type: "Accepted", status: "False", reason: "InvalidParameters" }, message, generation);
}

/** Builds GatewayClass `SupportedVersion=True`. */
export function classSupportedVersion(message: string, generation?: number): NewCondition {
  return condition({ type: "SupportedVersion", status: "True", reason: "SupportedVersion" }, message, generation);
}

/** Builds GatewayClass `SupportedVersion=False` with reason UnsupportedVersion. */
export function classUnsupportedVersion(message: string, generation?: number): NewCondition {
  return condition({ type: "SupportedVersion", status: "False", reason: "UnsupportedVersion" }, message, generation);
}

/** Builds Gateway `Accepted=True`. */
export function gatewayAccepted(generation?: number): NewCondition {
  return condition({ type: "Accepted", status: "True", reason: "Accepted" }, "Gateway is accepted", generation);
}

/** Builds Gateway `Accepted=False` with reason ListenersNotValid. */
export function gatewayListenersNotValid(message: string, generation?: number): NewCondition {
  return condition({ type: "Accepted", status: "False", reason: "ListenersNotValid" }, message, generation);
}

/** Builds Gateway `Accepted=False` with reason InvalidParameters. */
export function gatewayInvalidParameters(message: string, generation?: number): NewCondition {
  return condition({ type: "Accepted", status: "False", reason: "InvalidParameters" }, message, generation);
}

/** Builds Gateway `Accepted=False` with reason UnsupportedAddress. */
export function gatewayUnsupportedAddress(message: string, generation?: number): NewCondition {
  return condition({ type: "Accepted", status: "False", reason: "UnsupportedAddress" }, message, generation);
}

/**
 * Builds Gateway `InsecureFrontendValidationMode=True` with reason ConfigurationChanged: some listener ports accept
 * clients without a valid certificate (`AllowInsecureFallback`).
 */
export function gatewayInsecureFrontendValidation(message: string, generation?: number): NewCondition {
  return condition(
    { type: "InsecureFrontendValidationMode", status: "True", reason: "ConfigurationChanged" },
    message,
    generation,
  );
}

/** Builds Gateway `Programmed=True`. */
export function gatewayProgrammed(message: string, generation?: number): NewCondition {
  return condition({ type: "Programmed", status: "True", reason: "Programmed" }, message, generation);
}

/** Builds Gateway `Programmed=False` with reason Invalid. */
export function gatewayProgrammedInvalid(message: string, generation?: number): NewCondition {
  return condition({ type: "Programmed", status: "False", reason: "Invalid" }, message, generation);
}

/** Builds Gateway `Programmed=False` with reason Pending (gateway pods have not applied the configuration yet). */
export function gatewayProgrammedPending(message: string, generation?: number): NewCondition {
  return condition({ type: "Programmed", status: "False", reason: "Pending" }, message, generation);
}

/** Builds Gateway `Programmed=False` with reason AddressNotAssigned. */
export function gatewayAddressNotAssigned(message: string, generation?: number): NewCondition {
  return condition({ type: "Programmed", status: "False", reason: "AddressNotAssigned" }, message, generation);
}

/** Builds Gateway `Programmed=False` with reason AddressNotUsable (a requested address cannot be assigned). */
export function gatewayAddressNotUsable(message: string, generation?: number): NewCondition {
  return condition({ type: "Programmed", status: "False", reason: "AddressNotUsable" }, message, generation);
}

/** Builds listener `Accepted=True`. */
export function listenerAccepted(generation?: number): NewCondition {
  return condition({ type: "Accepted", status: "True", reason: "Accepted" }, "Listener is accepted", generation);
}

/** Builds listener `Accepted=False` with the given reason (UnsupportedProtocol, PortUnavailable, ...). */
export function listenerNotAccepted(
  reason:
    | "UnsupportedProtocol"
    | "PortUnavailable"
    | "UnsupportedValue"
    | "NoValidCACertificate"
    | "ProtocolConflict"
    | "HostnameConflict",
  message: string,
  generation?: number,
): NewCondition {
  return condition({ type: "Accepted", status: "False", reason }, message, generation);
}

/** Builds listener `Conflicted=False` (NoConflicts). */
export function listenerNoConflicts(generation?: number): NewCondition {
  return condition({ type: "Conflicted", status: "False", reason: "NoConflicts" }, "No conflicts", generation);
}

/** Builds listener `Conflicted=True` with reason HostnameConflict or ProtocolConflict. */
export function listenerConflicted(
  reason: "HostnameConflict" | "ProtocolConflict",
  message: string,
  generation?: number,
): NewCondition {
  return condition({ type: "Conflicted", status: "True", reason }, message, generation);
}

/** Builds listener `ResolvedRefs=True`. */
export function listenerResolvedRefs(generation?: number): NewCondition {
  return condition(
    { type: "ResolvedRefs", status: "True", reason: "ResolvedRefs" },
    "All references are resolved",
    generation,
  );
}

/**
 * Builds listener `ResolvedRefs=False` (InvalidCertificateRef, InvalidRouteKinds, RefNotPermitted,
 * InvalidCACertificateRef or InvalidCACertificateKind).
 */
export function listenerRefsNotResolved(
  reason:
    | "InvalidCertificateRef"
    | "InvalidRouteKinds"
    | "RefNotPermitted"
    | "InvalidCACertificateRef"
    | "InvalidCACertificateKind",
  message: string,
  generation?: number,
): NewCondition {
  return condition({ type: "ResolvedRefs", status: "False", reason }, message, generation);
}

/** Builds listener `Programmed=True`. */
export function listenerProgrammed(generation?: number): NewCondition {
  return condition({ type: "Programmed", status: "True", reason: "Programmed" }, "Listener is programmed", generation);
}

/** Builds listener `Programmed=False` with reason Invalid or Pending. */
export function listenerNotProgrammed(
  reason: "Invalid" | "Pending" | "ProtocolConflict" | "HostnameConflict",
  message: string,
  generation?: number,
) {
  return condition({ type: "Programmed", status: "False", reason }, message, generation);
}

/** Builds a ListenerSet's `Accepted` (True with reason Accepted or ListenersNotValid, or False with any reason). */
export function listenerSetAccepted(
  status: "True" | "False",
  reason: keyof typeof ListenerSetReason,
  message: string,
  generation?: number,
): NewCondition {
  return condition({ type: "Accepted", status, reason }, message, generation);
}

/** Builds a ListenerSet's `Programmed` (True with reason Programmed, or False with any reason). */
export function listenerSetProgrammed(
  status: "True" | "False",
  reason: keyof typeof ListenerSetReason,
  message: string,
  generation?: number,
): NewCondition {
  return condition({ type: "Programmed", status, reason }, message, generation);
}

/** Builds route `Accepted=True`. */
export function routeAccepted(generation?: number): NewCondition {
  return condition({ type: "Accepted", status: "True", reason: "Accepted" }, "Route is accepted", generation);
}

/** Builds route `Accepted=False` with the given reason. */
export function routeNotAccepted(
  reason:
    | "NotAllowedByListeners"
    | "NoMatchingListenerHostname"
    | "NoMatchingParent"
    | "UnsupportedValue"
    | "IncompatibleFilters"
    | "RoutingBudgetExceeded",
  message: string,
  generation?: number,
): NewCondition {
  return condition({ type: "Accepted", status: "False", reason }, message, generation);
}

/** Builds route `ResolvedRefs=True`. */
export function routeResolvedRefs(generation?: number): NewCondition {
  return condition(
    { type: "ResolvedRefs", status: "True", reason: "ResolvedRefs" },
    "All references are resolved",
    generation,
  );
}

/** Builds route `ResolvedRefs=False` with the given reason. */
export function routeRefsNotResolved(
  reason: "RefNotPermitted" | "InvalidKind" | "BackendNotFound" | "UnsupportedProtocol",
  message: string,
  generation?: number,
): NewCondition {
  return condition({ type: "ResolvedRefs", status: "False", reason }, message, generation);
}

/**
 * Builds route `PartiallyInvalid=True` (reason UnsupportedValue). Its message starts with "Dropped Rule" as the
 * spec requires for implementations that drop invalid rules.
 */
export function routePartiallyInvalid(message: string, generation?: number): NewCondition {
  return condition(
    { type: "PartiallyInvalid", status: "True", reason: "UnsupportedValue" },
    `Dropped Rule(s): ${message}`,
    generation,
  );
}

/** Builds policy `Accepted=True`; the message may name targets where the policy does not apply. */
export function policyAccepted(message: string, generation?: number): NewCondition {
  return condition({ type: "Accepted", status: "True", reason: "Accepted" }, message, generation);
}

/** Builds policy `Accepted=False` (Conflicted, Invalid or TargetNotFound). */
export function policyNotAccepted(
  reason: "Conflicted" | "Invalid" | "TargetNotFound",
  message: string,
  generation?: number,
): NewCondition {
  return condition({ type: "Accepted", status: "False", reason }, message, generation);
}

/** Builds BackendTLSPolicy `Accepted` (Accepted; or False with Conflicted, Invalid or NoValidCACertificate). */
export function backendTlsPolicyAccepted(
  outcome: { status: "True"; reason: "Accepted" } | {
    status: "False";
    reason: "Conflicted" | "Invalid" | "NoValidCACertificate";
  },
  message: string,
  generation?: number,
): NewCondition {
  return condition({ type: "Accepted", ...outcome }, message, generation);
}

/** Builds BackendTLSPolicy `ResolvedRefs` (ResolvedRefs; or False with InvalidCACertificateRef or InvalidKind). */
export function backendTlsPolicyResolvedRefs(
  outcome: { status: "True"; reason: "ResolvedRefs" } | {
    status: "False";
    reason: "InvalidCACertificateRef" | "InvalidKind";
  },
  message: string,
  generation?: number,
): NewCondition {
  return condition({ type: "ResolvedRefs", ...outcome }, message, generation);
}

/** Builds Gateway `ResolvedRefs` about its backend client certificate (`spec.tls.backend.clientCertificateRef`). */
export function gatewayResolvedRefs(
  outcome: { status: "True"; reason: "ResolvedRefs" } | {
    status: "False";
    reason: "InvalidClientCertificateRef" | "RefNotPermitted";
  },
  message: string,
  generation?: number,
): NewCondition {
  return condition({ type: "ResolvedRefs", ...outcome }, message, generation);
}

/**
 * Builds Gateway `lacquer.dev/ParametersAllowed`: True (`Allowed`) when its class lets its own GatewayParameters set
 * every field they set, False (`NotAllowedByClass`) when some are left out.
 */
export function gatewayParametersAllowed(allowed: boolean, message: string, generation?: number): NewCondition {
  return condition(
    {
      type: GatewayConditionType.ParametersAllowed,
      status: allowed ? "True" : "False",
      reason: allowed ? GatewayReason.Allowed : GatewayReason.NotAllowedByClass,
    },
    message,
    generation,
  );
}

/**
 * Merges newly computed conditions with the current ones: `lastTransitionTime` is kept when the status did not
 * flip, and set to `now` otherwise. Conditions absent from `next` are dropped (status is computed whole).
 *
 * @example Usage
 * ```ts
 * import { mergeConditions, routeAccepted } from "./conditions.ts";
 * const merged = mergeConditions([], [routeAccepted(1)], "2026-01-01T00:00:00Z");
 * ```
 *
 * @param current The conditions currently in the object's status.
 * @param next The newly computed conditions.
 * @param now The time to record for conditions whose status changed, as an RFC 3339 string (whole seconds).
 * @returns The conditions to write, in the order of `next`.
 */
export function mergeConditions(
  current: readonly Condition[] | undefined,
  next: readonly NewCondition[],
  now: string,
): Condition[] {
  return next.map((c) => {
    const old = current?.find((o) => o.type === c.type);
    const lastTransitionTime = old && old.status === c.status && old.lastTransitionTime ? old.lastTransitionTime : now;
    return { ...c, lastTransitionTime };
  });
}

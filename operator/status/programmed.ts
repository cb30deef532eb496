/**
 * The truthful `Programmed` condition of a Gateway: True only when the gateway
 * Service has an address (each address the Gateway requests, when it requests some: `AddressNotUsable` when the
 * load balancer says it cannot assign one or assigned others, `AddressNotAssigned` while it has not) and every ready gateway pod reports, in its applied-config annotations, the hashes of
 * the current routing.json and main.vcl (there is at least one such pod). When pods reject the current
 * configuration (`data_plane.ts`), it is False with reason `Invalid` and says which pods, which configuration and
 * why; parts left out (skipped routes, unusable certificates) are told in the message whatever the status.
 *
 * @module
 */
import {
  APPLIED_ROUTING_ANNOTATION,
  APPLIED_VCL_ANNOTATION,
  LB_ADDRESSES_CONDITION,
  MANAGED_BY_LABEL,
  MANAGED_BY_VALUE,
} from "../../internal/names.ts";
import { requestedAddresses } from "../addresses.ts";
import type { Gateway, Pod, Service } from "../api_types.ts";
import { type DataPlaneProblem, describeProblem, rejectsWholeConfiguration } from "./data_plane.ts";
import {
  gatewayAddressNotAssigned,
  gatewayAddressNotUsable,
  gatewayProgrammed,
  gatewayProgrammedInvalid,
  gatewayProgrammedPending,
  type NewCondition,
} from "./conditions.ts";

/** What {@linkcode gatewayProgrammedStatus} looks at. */
export interface ProgrammedInput {
  /** The Gateway. */
  gateway: Gateway;
  /** Whether the Gateway is accepted. */
  accepted: boolean;
  /** The gateway's own Service, if it exists. */
  service?: Service;
  /** The gateway's pods. */
  pods: readonly Pod[];
  /** Hashes (`sha256:<hex>`) of the current routing.json and main.vcl. */
  hashes: { routing: string; vcl: string };
  /** What the pods rejected of the current configuration (`currentRejections`). */
  rejections?: GatewayRejections;
}

/** What the gateway pods rejected of the current configuration. */
export interface GatewayRejections {
  /** The rejections, grouped over pods. */
  problems: readonly DataPlaneProblem[];
  /** Where the user's VCL comes from (`ConfigMap "ns/name" key "k"`), named for VCL rejections. */
  vclSource?: string;
  /** How many gateway pods there are (not being deleted). */
  podCount: number;
}

/** The Programmed condition and the addresses to publish. */
export interface ProgrammedResult {
  /** The condition. */
  condition: NewCondition;
  /** `status.addresses`. */
  addresses: { type: string; value: string }[];
}

function isReady(pod: Pod): boolean {
  if (pod.metadata.deletionTimestamp) return false;
  return (pod.status?.conditions ?? []).some((c) => c.type === "Ready" && c.status === "True");
}

/**
 * Computes the Programmed condition and the addresses of a Gateway.
 *
 * @param input The Gateway, its Service and pods, and the current configuration texts.
 * @returns The condition and the addresses.
 */
export function gatewayProgrammedStatus(input: ProgrammedInput): ProgrammedResult {
  const gen = input.gateway.metadata.generation;
  if (!input.accepted) {
    return { condition: gatewayProgrammedInvalid("Gateway is not accepted", gen), addresses: [] };
  }
  const service = input.service?.metadata.labels?.[MANAGED_BY_LABEL] === MANAGED_BY_VALUE ? input.service : undefined;
  if (!service) return { condition: gatewayProgrammedPending("Waiting for the gateway Service", gen), addresses: [] };
  const addresses: { type: string; value: string }[] = [];
  for (const ingress of service.status?.loadBalancer?.ingress ?? []) {
    if (ingress.ip) addresses.push({ type: "IPAddress", value: ingress.ip });
    else if (ingress.hostname) addresses.push({ type: "Hostname", value: ingress.hostname });
  }
  if (addresses.length === 0 && service.spec.type !== "LoadBalancer") {
    const ips = service.spec.clusterIPs ?? (service.spec.clusterIP ? [service.spec.clusterIP] : []);
    for (const ip of ips) if (ip && ip !== "None") addresses.push({ type: "IPAddress", value: ip });
  }
  const unassigned = requestedAddressProblem(input.gateway, service, addresses);
  if (unassigned) return { condition: unassigned, addresses };
  if (addresses.length === 0) {
    return {
      condition: gatewayAddressNotAssigned("The gateway Service has no address yet", gen),
      addresses,
    };
  }
  const { routing: routingHash, vcl: vclHash } = input.hashes;
  const live = input.pods.filter((p) => !p.metadata.deletionTimestamp).length;
  const { problems = [], vclSource } = input.rejections ?? {};
  const describe = (whole: boolean) =>
    problems.filter((p) => rejectsWholeConfiguration(p.kind) === whole)
      .map((p) => "\n" + describeProblem(p, live, vclSource)).join("");
  const rejected = describe(true);
  const leftOut = describe(false);
  if (rejected) {
    return {
      condition: gatewayProgrammedInvalid(`Gateway pods rejected the current configuration:${rejected}${leftOut}`, gen),
      addresses,
    };
  }
  const ready = input.pods.filter(isReady);
  if (ready.length === 0) {
    return { condition: gatewayProgrammedPending(`No gateway pod is ready${leftOut}`, gen), addresses };
  }
  const current = ready.filter((p) =>
    p.metadata.annotations?.[APPLIED_ROUTING_ANNOTATION] === routingHash &&
    p.metadata.annotations?.[APPLIED_VCL_ANNOTATION] === vclHash
  );
  if (current.length < ready.length) {
    return {
      condition: gatewayProgrammedPending(
        `${current.length} of ${ready.length} ready gateway pods have applied the current configuration${leftOut}`,
        gen,
      ),
      addresses,
    };
  }
  return {
    condition: gatewayProgrammed(`${ready.length} ready gateway pods serve the current configuration${leftOut}`, gen),
    addresses,
  };
}

/** Why the Gateway does not have each address it requests, if it does not. */
function requestedAddressProblem(
  gateway: Gateway,
  service: Service,
  assigned: readonly { value: string }[],
): NewCondition | undefined {
  const gen = gateway.metadata.generation;
  const requested = requestedAddresses(gateway).ips ?? [];
  const missing = requested.filter((ip) => !assigned.some((a) => a.value === ip));
  if (missing.length === 0) return undefined;
  if (service.spec.type !== "LoadBalancer") {
    return gatewayAddressNotUsable(
      `spec.addresses needs a gateway Service of type LoadBalancer, not ${service.spec.type}`,
      gen,
    );
  }
  const failed = (service.status?.conditions ?? []).find((c) =>
    c.type === LB_ADDRESSES_CONDITION && c.status === "False"
  );
  const list = missing.join(", ");
  if (failed) return gatewayAddressNotUsable(`The load balancer cannot assign ${list}: ${failed.message ?? ""}`, gen);
  if (assigned.length > 0) {
    const got = assigned.map((a) => a.value).join(", ");
    return gatewayAddressNotUsable(`The load balancer assigned ${got}, not the requested ${list}`, gen);
  }
  return gatewayAddressNotAssigned(`Waiting for the load balancer to assign ${list}`, gen);
}

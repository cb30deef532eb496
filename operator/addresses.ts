/**
 * A Gateway's `spec.addresses`: which of them Lacquer can request from the gateway Service's load balancer. Only
 * `IPAddress` addresses are supported (a missing type means `IPAddress`); one without a value asks for any address,
 * which is what the Service gets anyway. Pure.
 *
 * @module
 */
import { z } from "zod";
import type { Gateway } from "./api_types.ts";

const ipSchema = z.union([z.ipv4(), z.ipv6()]);

/** The addresses a Gateway requests, or why it cannot be accepted (`UnsupportedAddress`). */
export type RequestedAddresses = { ips: string[]; problem?: undefined } | { ips?: undefined; problem: string };

/**
 * Reads the IP addresses a Gateway requests.
 *
 * @example Usage
 * ```ts
 * import { requestedAddresses } from "./addresses.ts";
 * const gw = { metadata: { name: "g", namespace: "n" }, spec: { gatewayClassName: "c", listeners: [] } };
 * requestedAddresses({ ...gw, spec: { ...gw.spec, addresses: [{ value: "10.0.0.1" }, { type: "IPAddress" }] } });
 * // { ips: ["10.0.0.1"] }
 * ```
 *
 * @param gateway The Gateway.
 * @returns The requested IPs, in spec order without repeats, or the problem with the first unsupported address.
 */
export function requestedAddresses(gateway: Gateway): RequestedAddresses {
  const ips: string[] = [];
  for (const [i, a] of (gateway.spec.addresses ?? []).entries()) {
    const type = a.type ?? "IPAddress";
    if (type !== "IPAddress") {
      return { problem: `spec.addresses[${i}]: type "${type}" is not supported, only IPAddress` };
    }
    if (!a.value) continue;
    if (!ipSchema.safeParse(a.value).success) {
      return { problem: `spec.addresses[${i}]: "${a.value}" is not an IP address` };
    }
    if (!ips.includes(a.value)) ips.push(a.value);
  }
  return { ips };
}

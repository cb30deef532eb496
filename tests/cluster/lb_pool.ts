/**
 * Chooses LoadBalancer addresses. Pure.
 *
 * @module
 */

/**
 * Picks an address for a Service: the one it already has when it is in the pool and free, else the lowest free one.
 *
 * @example Usage
 * ```ts
 * import { pickAddress } from "./lb_pool.ts";
 * pickAddress({ prefix: "10.250.0.", used: new Set(["10.250.0.1"]) }); // "10.250.0.2"
 * ```
 *
 * @param options Pool prefix (a /24 written as "a.b.c."), addresses in use, the Service's current address.
 * @returns The address, or undefined when the pool is exhausted.
 */
export function pickAddress(
  options: { prefix: string; used: ReadonlySet<string>; current?: string },
): string | undefined {
  const { prefix, used, current } = options;
  if (current && current.startsWith(prefix) && !used.has(current)) return current;
  for (let i = 1; i < 255; i++) {
    const ip = prefix + i;
    if (!used.has(ip)) return ip;
  }
  return undefined;
}

/** The addresses a Service gets, or why it gets none. */
export type Assignment = { addresses: string[]; problem?: undefined } | { addresses?: undefined; problem: string };

/**
 * Assigns a Service its LoadBalancer addresses: every address it requests when each is in the pool and not used by
 * another Service (all or none, as MetalLB does), else one address as {@linkcode pickAddress} chooses.
 *
 * @example Usage
 * ```ts
 * import { assignAddresses } from "./lb_pool.ts";
 * assignAddresses({ prefix: "10.250.0.", used: new Set(), requested: ["10.250.0.9"] }); // { addresses: ["10.250.0.9"] }
 * assignAddresses({ prefix: "10.250.0.", used: new Set(), requested: ["192.0.2.1"] });
 * // { problem: "192.0.2.1 is not in the pool 10.250.0.0/24" }
 * ```
 *
 * @param options Pool prefix, addresses other Services use, the addresses requested, the Service's current address.
 * @returns The addresses, or why the Service gets none.
 */
export function assignAddresses(
  options: { prefix: string; used: ReadonlySet<string>; requested: readonly string[]; current?: string },
): Assignment {
  const { prefix, used, requested } = options;
  for (const ip of requested) {
    const host = ip.startsWith(prefix) ? Number(ip.slice(prefix.length)) : NaN;
    if (!(Number.isInteger(host) && host >= 1 && host <= 254 && String(host) === ip.slice(prefix.length))) {
      return { problem: `${ip} is not in the pool ${prefix}0/24` };
    }
    if (used.has(ip)) return { problem: `${ip} is used by another Service` };
  }
  if (requested.length > 0) return { addresses: [...requested] };
  const picked = pickAddress(options);
  return picked ? { addresses: [picked] } : { problem: `the pool ${prefix}0/24 is exhausted` };
}

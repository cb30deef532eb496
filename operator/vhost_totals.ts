/**
 * What a Gateway's vhosts add up to, kept by its route table (`RouteTable.totals`) so that a change counts only the
 * hostnames it rebuilt: the CachePolicies and CA bundles they name (routing.json's `cachePolicies` and `caBundles`),
 * their backends' namespaces (the Gateway's RBAC children), routing.json's size and its regular expressions (the
 * routing budgets). Names are counted, so that one leaves with the last vhost naming it. Pure.
 *
 * @module
 */

/** What one vhost adds to the totals. */
export interface VhostContribution {
  /** The CachePolicies its entries name. */
  policies: readonly string[];
  /** The CA bundles its backend groups name. */
  caBundles: readonly string[];
  /** Its backends' namespaces. */
  namespaces: readonly string[];
  /** Its part of routing.json's text, in UTF-8 bytes (`vhostBytes`). */
  bytes: number;
  /** Its regular expressions. */
  patterns: number;
  /** Their characters. */
  characters: number;
}

function count(map: Map<string, number>, keys: readonly string[], sign: 1 | -1): void {
  for (const key of keys) {
    const n = (map.get(key) ?? 0) + sign;
    if (n === 0) map.delete(key);
    else map.set(key, n);
  }
}

/** The totals of a set of vhosts; see the module documentation. */
export class VhostTotals {
  /** The vhosts counted. */
  hosts = 0;
  /** The sum of their bytes. */
  bytes = 0;
  /** The sum of their patterns. */
  patterns = 0;
  /** The sum of their patterns' characters. */
  characters = 0;
  readonly #policies = new Map<string, number>();
  readonly #caBundles = new Map<string, number>();
  readonly #namespaces = new Map<string, number>();

  /**
   * Counts a vhost in, or out.
   *
   * @example Usage
   * ```ts
   * import { VhostTotals } from "./vhost_totals.ts";
   * const totals = new VhostTotals();
   * const vhost = { policies: ["ns/p"], caBundles: [], namespaces: ["ns"], bytes: 40, patterns: 1, characters: 5 };
   * totals.add(vhost, 1);
   * totals.add(vhost, -1);
   * totals.policies(); // []
   * ```
   *
   * @param vhost What it adds.
   * @param sign 1 to count it in, -1 to count it out.
   */
  add(vhost: VhostContribution, sign: 1 | -1): void {
    this.hosts += sign;
    this.bytes += sign * vhost.bytes;
    this.patterns += sign * vhost.patterns;
    this.characters += sign * vhost.characters;
    count(this.#policies, vhost.policies, sign);
    count(this.#caBundles, vhost.caBundles, sign);
    count(this.#namespaces, vhost.namespaces, sign);
  }

  /** @returns The CachePolicies some vhost names. */
  policies(): string[] {
    return [...this.#policies.keys()];
  }

  /** @returns The CA bundles some vhost names. */
  caBundles(): string[] {
    return [...this.#caBundles.keys()];
  }

  /** @returns The namespaces of some vhost's backends, sorted. */
  namespaces(): string[] {
    return [...this.#namespaces.keys()].sort();
  }
}

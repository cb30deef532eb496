/**
 * Hands out pod IPs from 10.244.0.2 upwards, never two at once, and reuses freed ones only after the range wrapped
 * (so a new pod does not inherit a dead pod's address at once). Pure.
 *
 * @module
 */

/** Allocates addresses of a /16 whose first address is the node. */
export class IpAllocator {
  #prefix: string;
  #next = 2;
  #used = new Map<string, number>();

  /**
   * Creates the allocator for `<prefix>.0.0/16`.
   *
   * @param prefix The first two octets, e.g. "10.244".
   */
  constructor(prefix: string) {
    this.#prefix = prefix;
  }

  /**
   * Returns the address of `owner`, allocating one if needed.
   *
   * @example Usage
   * ```ts
   * import { IpAllocator } from "./ip_allocator.ts";
   * new IpAllocator("10.244").allocate("pod-a"); // "10.244.0.2"
   * ```
   *
   * @param owner A pod uid.
   * @returns The address.
   * @throws {RangeError} When the range is exhausted.
   */
  allocate(owner: string): string {
    const have = this.#used.get(owner);
    if (have !== undefined) return this.#format(have);
    const taken = new Set(this.#used.values());
    for (let i = 0; i < 65_533; i++) {
      const n = this.#next;
      this.#next = this.#next >= 65_534 ? 2 : this.#next + 1;
      if (n % 256 === 0 || n % 256 === 255 || taken.has(n)) continue;
      this.#used.set(owner, n);
      return this.#format(n);
    }
    throw new RangeError(`Cannot allocate a pod IP: all addresses of ${this.#prefix}.0.0/16 are in use`);
  }

  /** Frees the address of `owner`. */
  release(owner: string): void {
    this.#used.delete(owner);
  }

  #format(n: number): string {
    return `${this.#prefix}.${n >> 8}.${n & 255}`;
  }
}

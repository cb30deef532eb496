/**
 * Free TCP ports for tests, below the kernel's ephemeral range.
 *
 * A port the kernel handed out for `listen(0)` comes from the ephemeral range, the same range it picks the local
 * ports of outgoing connections from: between the probe and the test's own listen, a connection to the API server or
 * a backend can take it. Ports below that range are only ever taken by a listen of our own.
 *
 * @module
 */

/** Below Linux's default ephemeral range (32768–60999). */
const FIRST = 20_000;
const LAST = 32_767;

// start at a place of this process's own, so concurrent test processes rarely probe the same ports
let next = FIRST + (Deno.pid * 97) % (LAST - FIRST + 1);

/**
 * Returns a TCP port below the ephemeral range that nothing listened on a moment ago (on any address), never the same
 * twice in a process until the range wraps; with `span`, the first of that many consecutive such ports (for a
 * program that listens on `port` and `port + 1`).
 *
 * @example Usage
 * ```ts
 * import { freePort } from "./free_port.ts";
 * const port = freePort();
 * using listener = Deno.listen({ hostname: "127.0.0.1", port });
 * ```
 *
 * @param span How many consecutive ports are needed.
 * @returns The (first) port.
 * @throws {Error} When the range has no such ports.
 */
export function freePort(span = 1): number {
  for (let tries = 0; tries <= LAST - FIRST; tries++) {
    const first = next + span - 1 > LAST ? FIRST : next;
    next = first + span > LAST ? FIRST : first + span;
    const ports = Array.from({ length: span }, (_, i) => first + i);
    if (ports.every(isFree)) return first;
  }
  throw new Error(`freePort: no ${span} consecutive free ports from ${FIRST} to ${LAST}`);
}

function isFree(port: number): boolean {
  try {
    Deno.listen({ hostname: "0.0.0.0", port }).close();
    return true;
  } catch (err) {
    if (err instanceof Deno.errors.AddrInUse) return false;
    throw err;
  }
}

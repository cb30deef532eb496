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
 * twice in a process until the range wraps.
 *
 * @example Usage
 * ```ts
 * import { freePort } from "./free_port.ts";
 * const port = freePort();
 * using listener = Deno.listen({ hostname: "127.0.0.1", port });
 * ```
 *
 * @returns The port.
 * @throws {Error} When every port of the range is taken.
 */
export function freePort(): number {
  for (let tries = 0; tries <= LAST - FIRST; tries++) {
    const port = next;
    next = next === LAST ? FIRST : next + 1;
    try {
      Deno.listen({ hostname: "0.0.0.0", port }).close();
      return port;
    } catch (err) {
      if (!(err instanceof Deno.errors.AddrInUse)) throw err;
    }
  }
  throw new Error(`freePort: every port from ${FIRST} to ${LAST} is taken`);
}

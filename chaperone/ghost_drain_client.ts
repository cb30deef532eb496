/**
 * Tells the ghost VMOD that the gateway drains: `GET /.varnish-ghost/drain` on the loopback control socket. From then
 * on every answer carries `Connection: close`, so clients stop reusing their connections to this pod.
 *
 * @module
 */
import { GHOST_DRAIN_PATH } from "../internal/names.ts";

/**
 * Switches ghost to draining.
 *
 * @example Usage
 * ```ts ignore
 * import { drainGhost } from "./ghost_drain_client.ts";
 * await drainGhost(6091);
 * ```
 *
 * @param port The ghost control socket port on 127.0.0.1.
 * @param timeoutMs Time allowed.
 * @throws {Error} When ghost did not answer 200 (varnishd down, or a VMOD without the endpoint).
 */
export async function drainGhost(port: number, timeoutMs = 2000): Promise<void> {
  const response = await fetch(`http://127.0.0.1:${port}${GHOST_DRAIN_PATH}`, {
    signal: AbortSignal.timeout(timeoutMs),
  });
  const body = await response.text();
  if (!response.ok) throw new Error(`ghost answered ${response.status}: ${body.trim().slice(0, 200)}`);
}

/**
 * The chaperone's side of the socket keeper's protocol (`ghost/keeper/src/protocol.rs`: one request line and one
 * reply line per connection on the keeper's Unix socket). The shim in varnishd and hitch asks for and deposits
 * sockets; the chaperone only says which ports it still listens on, so the keeper closes the others.
 *
 * @module
 */

/** Options of {@linkcode retainKeptPorts}. */
export interface RetainOptions {
  /** How long the keeper may take to answer. @default {2000} */
  timeoutMs?: number;
}

/**
 * Tells the keeper to keep the sockets of `ports` only: a listener the Gateway no longer has then refuses new
 * connections at once, instead of queueing them in a socket no process serves. A port named again later is bound anew
 * by the next process that binds it, and kept from then on.
 *
 * @example Usage
 * ```ts ignore
 * import { retainKeptPorts } from "./keeper_client.ts";
 * await retainKeptPorts("/var/run/lacquer-keeper/keeper.sock", [80, 443, 6100]);
 * ```
 *
 * @param socket The keeper's Unix socket.
 * @param ports Every port whose socket the keeper may hold: the listeners' and the loopback ones hitch forwards to.
 * @param options The deadline.
 * @returns Resolves once the keeper has closed the others.
 * @throws {Error} When the keeper cannot be reached, refuses the request (a keeper older than the request), or does
 * not answer in time.
 */
export async function retainKeptPorts(
  socket: string,
  ports: readonly number[],
  options: RetainOptions = {},
): Promise<void> {
  const sorted = [...new Set(ports)].sort((a, b) => a - b);
  const request = sorted.length === 0 ? "retain\n" : `retain ${sorted.join(",")}\n`;
  const conn = await Deno.connect({ transport: "unix", path: socket });
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    conn.close();
  }, options.timeoutMs ?? 2000);
  let reply = "";
  try {
    await conn.write(new TextEncoder().encode(request));
    const buf = new Uint8Array(256);
    const decoder = new TextDecoder();
    while (!reply.includes("\n")) {
      const n = await conn.read(buf);
      if (n === null) break;
      reply += decoder.decode(buf.subarray(0, n), { stream: true });
    }
  } catch (err) {
    if (!timedOut) throw err;
  } finally {
    clearTimeout(timer);
    if (!timedOut) conn.close();
  }
  if (timedOut) {
    throw new Error(`Cannot retain the kept ports: the keeper did not answer within ${options.timeoutMs ?? 2000} ms`);
  }
  const line = reply.split("\n")[0];
  if (line !== "ok") throw new Error(`Cannot retain the kept ports: the keeper answered "${line}"`);
}

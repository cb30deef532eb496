/**
 * Counts the client connections open to this pod's listeners, from the kernel's socket tables (`/proc/net/tcp` and
 * `/proc/net/tcp6` of the pod's network namespace): a drain waits until none remain. varnishd's own counters mix in
 * the loopback control and CLI sessions, and have no gauge of open sessions.
 *
 * @module
 */

const ESTABLISHED = "01";

/**
 * Counts the established connections of a socket table whose local port is one of `ports`.
 *
 * @example Usage
 * ```ts
 * import { countEstablished } from "./client_sessions.ts";
 * const table = "  sl  local_address rem_address   st\n" +
 *   "   0: 0100007F:0050 0100007F:D431 01 00000000:00000000 00:00000000 00000000     0        0 1\n";
 * countEstablished(table, new Set([80])); // 1
 * ```
 *
 * @param table The text of `/proc/net/tcp` or `/proc/net/tcp6`.
 * @param ports The local ports that count.
 * @returns The number of matching connections.
 */
export function countEstablished(table: string, ports: ReadonlySet<number>): number {
  let count = 0;
  for (const line of table.split("\n").slice(1)) {
    const [, local, , state] = line.trim().split(/\s+/);
    if (state !== ESTABLISHED || local === undefined) continue;
    if (ports.has(parseInt(local.slice(local.lastIndexOf(":") + 1), 16))) count++;
  }
  return count;
}

/**
 * Counts the client connections open to `ports` in this network namespace.
 *
 * @param ports The listener ports.
 * @param files The socket tables. @default {["/proc/net/tcp", "/proc/net/tcp6"]}
 * @returns The number of open connections; tables that cannot be read count none.
 */
export async function openClientSessions(
  ports: ReadonlySet<number>,
  files: readonly string[] = ["/proc/net/tcp", "/proc/net/tcp6"],
): Promise<number> {
  let count = 0;
  for (const file of files) {
    try {
      count += countEstablished(await Deno.readTextFile(file), ports);
    } catch (err) {
      if (!(err instanceof Deno.errors.NotFound)) throw err;
    }
  }
  return count;
}

/**
 * Test helpers for the socket keeper with real processes: the built keeper and shim, and a stream of new
 * connections whose outcomes are recorded.
 *
 * @module
 */
import { lacquerCacheDir } from "../tests/cluster/layout.ts";

/** The keeper program and the shim, as `scripts/setup.sh keeper` installs them (or `$LACQUER_KEEPER_DIR`). */
export function keeperBuild(): { keeper: string; preload: string } {
  const dir = Deno.env.get("LACQUER_KEEPER_DIR") ?? `${lacquerCacheDir(Deno.env)}/keeper`;
  const build = { keeper: `${dir}/lacquer-keeper`, preload: `${dir}/libkeeper_preload.so` };
  for (const file of Object.values(build)) {
    try {
      Deno.statSync(file);
    } catch {
      throw new Error(`${file} is not built (scripts/setup.sh keeper)`);
    }
  }
  return build;
}

/**
 * Whether process `pid` has exited (gone, or a zombie: either way its sockets are closed). A process killed with
 * SIGKILL dies on its own time, and until then still accepts connections.
 *
 * @param pid The process.
 */
export function exited(pid: number): boolean {
  try {
    return Deno.readTextFileSync(`/proc/${pid}/stat`).replace(/^.*\) /s, "").startsWith("Z");
  } catch {
    return true;
  }
}

/** What one new connection with one request saw. */
export type Outcome = "answered" | "refused" | "failed";

/**
 * One new connection to `port` on loopback with one request: "refused" when nothing accepts it, "answered" only for a
 * 200 within 5 s (the chaos load's limit), "failed" otherwise.
 *
 * @param port The port.
 * @param host The request's Host (and the TLS server name).
 * @param tls When given, the connection is wrapped in TLS verified by these CA certificates.
 * @returns What it saw.
 */
export async function requestOnce(port: number, host: string, tls?: { caCerts: string[] }): Promise<Outcome> {
  let tcp: Deno.TcpConn;
  try {
    tcp = await Deno.connect({ hostname: "127.0.0.1", port });
  } catch (err) {
    return err instanceof Deno.errors.ConnectionRefused ? "refused" : "failed";
  }
  let conn: Deno.Conn = tcp;
  const timer = setTimeout(() => conn.close(), 5000);
  try {
    if (tls) conn = await Deno.startTls(tcp, { hostname: host, caCerts: tls.caCerts });
    await conn.write(new TextEncoder().encode(`GET / HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`));
    const buf = new Uint8Array(64);
    const n = await conn.read(buf);
    return n !== null && new TextDecoder().decode(buf.subarray(0, n)).startsWith("HTTP/1.1 200")
      ? "answered"
      : "failed";
  } catch {
    return "failed";
  } finally {
    clearTimeout(timer);
    try {
      conn.close();
    } catch {
      // Closed by the timer.
    }
  }
}

/** One attempt of {@linkcode load}, with its start time (`performance.now()`). */
export interface Attempt {
  /** When it started. */
  at: number;
  /** What it saw. */
  outcome: Outcome;
}

/**
 * Workers running `attempt` one after the other until stopped.
 *
 * @param attempt One new connection with one request.
 * @param workers How many run at once.
 * @returns The attempts so far, and a way to stop.
 */
export function load(attempt: () => Promise<Outcome>, workers: number): { attempts: Attempt[]; stop(): Promise<void> } {
  const attempts: Attempt[] = [];
  let running = true;
  const loops = Array.from({ length: workers }, async () => {
    while (running) {
      const at = performance.now();
      attempts.push({ at, outcome: await attempt() });
      await new Promise((r) => setTimeout(r, 10));
    }
  });
  return {
    attempts,
    async stop() {
      running = false;
      await Promise.all(loops);
    },
  };
}

/**
 * How many of `outcomes` are `which`.
 *
 * @param outcomes Outcomes.
 * @param which The one to count.
 * @returns The count.
 */
export function count(outcomes: readonly Outcome[], which: Outcome): number {
  return outcomes.filter((o) => o === which).length;
}

/**
 * WebSocket through the chaperone's varnishd with the real ghost VMOD and the operator's generated VCL: the upgrade
 * is piped to the routed endpoint, frames flow both ways, varnishd counts the piped connection, and a drain keeps
 * varnishd running while the WebSocket is open (frames still flow) and ends once the client closes it. Needs
 * `deno task test` (local cluster) and the installed VMOD; skipped otherwise.
 *
 * @module
 */
import { equal } from "node:assert/strict";
import { eventually } from "../tests/cluster/eventually.ts";
import {
  applyGhostGateway,
  ghostClusterTest,
  startBackends,
  testRoutingJson,
  withTestChaperone,
} from "./_test_cluster_fixtures.ts";
import { getWithHost } from "./_test_varnish.ts";

const BACKEND = "10.245.3.2";

/** A backend that echoes WebSocket messages and answers plain requests with its address. */
function echo(request: Request): Response {
  if (request.headers.get("upgrade")?.toLowerCase() !== "websocket") return new Response(BACKEND);
  const { socket, response } = Deno.upgradeWebSocket(request);
  socket.onmessage = (event) => socket.send(event.data);
  return response;
}

/** Opens a WebSocket and returns it with a function that sends a message and waits for the next one. */
async function openWebSocket(url: string): Promise<{ ws: WebSocket; roundTrip: (text: string) => Promise<string> }> {
  const ws = new WebSocket(url);
  const queue: string[] = [];
  let waiting: ((text: string) => void) | undefined;
  ws.onmessage = (event) => {
    if (waiting) {
      waiting(String(event.data));
      waiting = undefined;
    } else queue.push(String(event.data));
  };
  await new Promise<void>((resolve, reject) => {
    ws.onopen = () => resolve();
    ws.onerror = (event) => reject(new Error(`cannot open a WebSocket to "${url}": ${(event as ErrorEvent).message}`));
  });
  const roundTrip = (text: string) => {
    const next = new Promise<string>((resolve) => {
      const queued = queue.shift();
      if (queued !== undefined) resolve(queued);
      else waiting = resolve;
    });
    ws.send(text);
    return next;
  };
  return { ws, roundTrip };
}

/** Closes `ws` and waits until it is closed. */
function close(ws: WebSocket): Promise<void> {
  const closed = new Promise<void>((resolve) => ws.onclose = () => resolve());
  ws.close();
  return closed;
}

/** Reads one varnishd counter (`MAIN.s_pipe`) from the chaperone's varnishd working directory. */
async function varnishCounter(workDir: string, name: string): Promise<number> {
  const out = await new Deno.Command("varnishstat", { args: ["-n", `${workDir}/varnishd`, "-1", "-f", name] }).output();
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  const value = Number(text.trim().split(/\s+/)[1]);
  if (Number.isNaN(value)) throw new Error(`Cannot read varnishd counter "${name}": ${text}`);
  return value;
}

ghostClusterTest(
  "chaperone with ghost: a WebSocket is piped to its endpoint, counted, and waited for by the drain",
  "lacquer-websocket-",
  async ({ ns, workDir }) => {
    const routingJson = testRoutingJson(ns.name, "app");
    const { httpPort, config } = await applyGhostGateway(ns, { workDir, backend: BACKEND, routingJson });
    const servers = await startBackends([BACKEND], echo);
    // A bound far above the 2 s quiet window: the drain must end because the WebSocket went away.
    const drainConfig = { ...config, drainSeconds: "30" };
    try {
      await withTestChaperone(ns, { workDir, config: drainConfig }, async (running) => {
        const { chaperone, stop, lines } = running;
        await eventually(async () => equal(await getWithHost(httpPort, "app.test", "/"), `200 ${BACKEND}`), {
          timeoutMs: 30_000,
        });
        const url = `ws://127.0.0.1:${httpPort}/chat`;
        const first = await openWebSocket(url);
        equal(await first.roundTrip("hello"), "hello");
        await close(first.ws);
        // A worker adds its pipe to the totals once the pipe ends; the gauge of open pipes moves at once.
        await eventually(async () => equal(await varnishCounter(workDir, "MAIN.s_pipe"), 1));
        const { ws, roundTrip } = await openWebSocket(url);
        equal(await roundTrip("again"), "again");
        await eventually(async () => equal(await varnishCounter(workDir, "MAIN.n_pipe"), 1));
        stop(); // SIGTERM's path: readiness 503, then the drain
        await eventually(() => equal(lines.some((l) => JSON.parse(l).msg === "Draining"), true));
        // Past the quiet window (no request for 2 s) the WebSocket is still open: varnishd must still carry it.
        const exitedEarly = await Promise.race([
          chaperone.exit.then(() => true),
          new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 3_000)),
        ]);
        equal(exitedEarly, false, "the chaperone stopped varnishd while a WebSocket was open");
        equal(await roundTrip("during the drain"), "during the drain");
        await close(ws);
        equal(await chaperone.exit, 0);
        const drained = lines.map((l) => JSON.parse(l)).filter((l) => l.msg === "Drained");
        equal(drained.map((l) => l.reason).join(), "quiet");
      });
    } finally {
      await Promise.all(servers.map((s) => s.shutdown()));
    }
  },
);

/**
 * The socket keeper (`ghost/keeper`) with a real hitch in front of a real varnishd, as the chaperone runs them
 * (`HitchSupervisor` with `keeperEnv` for its frontend port): new TLS connections during a hitch restart wait for the
 * next hitch instead of being refused, and a reload (SIGHUP, as for a certificate change) serves every one. hitch
 * binds each frontend in its main process (a check, closed again) and once more in every worker (`SO_REUSEPORT`); with
 * the shim all of them take the one kept socket, so the workers share its accept queue. The control case shows the
 * same restart refusing connections without the keeper.
 */
import { equal, ok } from "node:assert/strict";
import { createLogger } from "../internal/log.ts";
import { eventually } from "../tests/cluster/eventually.ts";
import { type SelfSignedCertificate, testCertificateAuthority } from "../tests/cluster/pki_writer.ts";
import { type Attempt, count, exited, keeperBuild, load, type Outcome, requestOnce } from "./_test_keeper.ts";
import { freePort, startScratchVarnish } from "./_test_varnish.ts";
import { HitchSupervisor } from "./hitch_supervisor.ts";
import { keeperEnv } from "./socket_keeper.ts";

const HOST = "a.example.com";

/** One new TLS connection with one request (see {@linkcode requestOnce}). */
const request = (port: number, caCerts: string[]) => requestOnce(port, HOST, { caCerts });

interface Setup {
  port: number;
  hitch: HitchSupervisor;
  /** Two server certificates, each of its own CA. */
  certs: SelfSignedCertificate[];
  /** Their CAs' certificates, in the same order. */
  cas: string[];
}

/**
 * A keeper (when `withKeeper`), a varnishd with a PROXY socket and a hitch in front of it; torn down after `run`.
 * `restartDelayMs` delays every start of hitch but the first, as a busy node does.
 */
async function withHitch<T>(
  withKeeper: boolean,
  run: (setup: Setup) => Promise<T>,
  options: { restartDelayMs?: number } = {},
): Promise<T> {
  const build = keeperBuild();
  const dir = await Deno.makeTempDir({ prefix: "lacquer-keeper-hitch-" });
  const hitchProgram = `${dir}/hitch.sh`;
  const delay = (options.restartDelayMs ?? 0) / 1000;
  await Deno.writeTextFile(
    hitchProgram,
    `#!/bin/sh\nif [ -e ${dir}/started ]; then sleep ${delay}; fi\ntouch ${dir}/started\nexec hitch "$@"\n`,
    { mode: 0o755 },
  );
  const cas = [await testCertificateAuthority(dir, "first"), await testCertificateAuthority(dir, "second")];
  const certs = [await cas[0].issueServer("server", [HOST]), await cas[1].issueServer("server", [HOST])];
  const backendPort = freePort();
  const port = freePort();
  const socket = `${dir}/keeper.sock`;
  const keeper = withKeeper
    ? new Deno.Command(build.keeper, { args: [socket], stdout: "null", stderr: "null" }).spawn()
    : undefined;
  const varnish = await startScratchVarnish(undefined, ["-a", `127.0.0.1:${backendPort},PROXY`]);
  const hitch = new HitchSupervisor({
    hitch: hitchProgram,
    socket: { name: "port-443", host: "127.0.0.1", port },
    backendPort,
    dir: `${dir}/tls`,
    env: keeperEnv({ socket: keeper && socket, preload: build.preload, ports: [port] }),
    log: createLogger({ level: "error", sink: () => {} }),
    // Long enough for the load to meet the moment no hitch runs.
    backoffMs: 500,
  });
  try {
    if (keeper) await eventually(() => Deno.statSync(socket));
    await hitch.update([{ name: "port-443.pem", pem: certs[0].key + certs[0].cert }]);
    await eventually(async () => equal(await request(port, [cas[0].ca]), "answered"), { timeoutMs: 10_000 });
    return await run({ port, hitch, certs, cas: cas.map((c) => c.ca) });
  } finally {
    await hitch.stop();
    await varnish.stop();
    keeper?.kill("SIGTERM");
    await keeper?.status;
    await Deno.remove(dir, { recursive: true });
  }
}

interface Phases {
  /** Outcomes of the attempts started from the event (a kill: the killed processes' exit) until hitch answered again. */
  gap: Outcome[];
  /** Outcomes of the attempts started after it. */
  after: Outcome[];
  /** Outcomes of the attempts started before it (in flight at the event, or done). */
  before: Outcome[];
}

/**
 * Runs `event` under a stream of new TLS connections (4 at a time) and sorts what they saw: "after" counts from the
 * time `event` returns, else from its start.
 */
async function underLoad(port: number, caCerts: string[], event: () => Promise<number | void>): Promise<Phases> {
  const traffic = load(() => request(port, caCerts), 4);
  try {
    await new Promise((r) => setTimeout(r, 200));
    const started = performance.now();
    const at = (await event()) ?? started;
    await eventually(async () => equal(await request(port, caCerts), "answered"), { intervalMs: 20 });
    const backAt = performance.now();
    await new Promise((r) => setTimeout(r, 200));
    await traffic.stop();
    const outcomes = (attempts: Attempt[]) => attempts.map((a) => a.outcome);
    return {
      gap: outcomes(traffic.attempts.filter((a) => a.at >= at && a.at < backAt)),
      after: outcomes(traffic.attempts.filter((a) => a.at >= at)),
      before: outcomes(traffic.attempts.filter((a) => a.at < at)),
    };
  } finally {
    await traffic.stop();
  }
}

/**
 * hitch's main process and its workers killed with SIGKILL, as when the container dies (a killed main process alone
 * leaves its workers serving until they notice); the supervisor starts it again. Returns when they had all exited.
 */
async function killHitch(hitch: HitchSupervisor): Promise<number> {
  const pid = hitch.pid!;
  const children = Deno.readTextFileSync(`/proc/${pid}/task/${pid}/children`).trim().split(/\s+/).filter(Boolean);
  hitch.signal("SIGKILL");
  for (const child of children) Deno.kill(Number(child), "SIGKILL");
  // Gone (or a zombie) before the gap counts: a worker still running would answer, or accept a connection and drop it.
  await eventually(() => ok([pid, ...children.map(Number)].every(exited)), { intervalMs: 1 });
  const exitedAt = performance.now();
  await eventually(() => equal(hitch.starts, 2), { intervalMs: 10 });
  return exitedAt;
}

/**
 * Every connection opened after the event is answered; of those opened before, only the ones the killed workers had
 * accepted may fail (at most one per load worker: each has one request in flight).
 */
function assertNoneRefused({ after, before }: Phases) {
  const unanswered = after.filter((o) => o !== "answered");
  ok(unanswered.length === 0, `connections opened after the event and not answered: ${JSON.stringify(unanswered)}`);
  ok(count(before, "refused") === 0 && before.length - count(before, "answered") <= 4, JSON.stringify(before));
}

const notLinux = Deno.build.os !== "linux";

Deno.test(
  { name: "socket keeper: hitch killed and restarted, no new TLS connection is refused", ignore: notLinux },
  () =>
    withHitch(true, async ({ port, hitch, cas }) => {
      const result = await underLoad(port, [cas[0]], () => killHitch(hitch));
      ok(result.gap.length > 0, "the load must open connections while no hitch runs");
      assertNoneRefused(result);
    }),
);

Deno.test(
  { name: "socket keeper: hitch reloaded with a new certificate, every connection is served", ignore: notLinux },
  () =>
    withHitch(true, async ({ port, hitch, certs, cas }) => {
      const result = await underLoad(
        port,
        cas,
        () => hitch.update([{ name: "port-443.pem", pem: certs[1].key + certs[1].cert }]),
      );
      equal(hitch.reloads, 1);
      equal(hitch.starts, 1);
      assertNoneRefused(result);
      // The new certificate is the one served now.
      await eventually(async () => equal(await request(port, [cas[1]]), "answered"));
    }),
);

Deno.test(
  {
    name: "socket keeper: a restarted hitch counts as running once it serves TLS, not once its port accepts",
    ignore: notLinux,
  },
  () =>
    withHitch(true, async ({ port, hitch, cas }) => {
      await killHitch(hitch);
      // The kept socket accepts all along; hitch itself is 1.5 s away.
      const until = performance.now() + 1200;
      while (performance.now() < until) {
        ok(hitch.state !== "running", "running while no hitch serves");
        await new Promise((r) => setTimeout(r, 20));
      }
      await eventually(() => equal(hitch.state, "running"), { intervalMs: 5 });
      equal(await request(port, [cas[0]]), "answered");
    }, { restartDelayMs: 1500 }),
);

Deno.test(
  { name: "socket keeper: without it, the same hitch restart refuses connections", ignore: notLinux },
  () =>
    withHitch(false, async ({ port, hitch, cas }) => {
      const { gap } = await underLoad(port, [cas[0]], () => killHitch(hitch));
      ok(count(gap, "refused") > 0, `connections refused while no hitch runs: ${JSON.stringify(gap)}`);
    }),
);

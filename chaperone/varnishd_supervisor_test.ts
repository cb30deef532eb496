import { equal, ok } from "node:assert/strict";
import { createLogger } from "../internal/log.ts";
import { eventually } from "../tests/cluster/eventually.ts";
import { freePort } from "./_test_varnish.ts";
import { startReaper } from "./reaper.ts";
import { VarnishdSupervisor } from "./varnishd_supervisor.ts";
import { varnishdArgs } from "./varnishd_args.ts";

const log = createLogger({ level: "error" });
const VCL = 'vcl 4.1;\nbackend default none;\nsub vcl_recv { return (synth(200, "up")); }\n';

type Scratch = Awaited<ReturnType<typeof scratch>>;

/** A private directory with a CLI secret, and free ports for CLI, HTTP and ghost. */
async function scratch() {
  const dir = await Deno.makeTempDir({ prefix: "lacquer-sup-" });
  await Deno.chmod(dir, 0o755);
  const secret = crypto.getRandomValues(new Uint8Array(32));
  await Deno.writeFile(`${dir}/secret`, secret);
  return { dir, secret, cliPort: freePort(), httpPort: freePort(), ghostPort: freePort() };
}

/** The options of a supervisor running varnishd in `s` with an HTTP listener, the CLI secret and the test logger. */
function scratchSupervisorOptions(s: Scratch) {
  return {
    varnishd: "varnishd",
    args: varnishdArgs({
      instanceDir: `${s.dir}/n`,
      secretFile: `${s.dir}/secret`,
      cliPort: s.cliPort,
      ghostPort: s.ghostPort,
      listeners: [{ name: "port-http", host: "127.0.0.1", port: s.httpPort }],
      storage: "malloc,16m",
      extra: [],
    }),
    cliPort: s.cliPort,
    secret: s.secret,
    log,
  };
}

async function get(port: number): Promise<number> {
  const response = await fetch(`http://127.0.0.1:${port}/`);
  await response.body?.cancel();
  return response.status;
}

Deno.test("VarnishdSupervisor starts varnishd, applies state, and restarts it after a kill", async () => {
  const s = await scratch();
  let applied = 0;
  const supervisor = new VarnishdSupervisor({
    ...scratchSupervisorOptions(s),
    backoffMs: 50,
    onStarted: async (cli) => {
      const name = `v${++applied}`;
      await cli.vclInline(name, VCL);
      await cli.vclUse(name);
      await cli.start();
    },
  });
  const reaper = startReaper({ subreaper: true });
  try {
    supervisor.start();
    await eventually(async () => equal(await get(s.httpPort), 200));
    equal(supervisor.state, "running");
    const first = supervisor.pid;
    supervisor.signal("SIGKILL");
    // A new manager comes up once the orphaned cache child has released the listen sockets.
    await eventually(async () => {
      ok(supervisor.pid !== first);
      equal(supervisor.state, "running");
      equal(await get(s.httpPort), 200);
    }, { timeoutMs: 30_000 });
    equal(applied, 2);
    // The killed manager's cache child was re-parented to us and reaped.
    await eventually(() => ok(reaper.reaped >= 1));
  } finally {
    await supervisor.stop();
    reaper.stop();
    await Deno.remove(s.dir, { recursive: true });
  }
});

Deno.test("VarnishdSupervisor gives up after repeated failures", async () => {
  const s = await scratch();
  const supervisor = new VarnishdSupervisor({
    varnishd: "varnishd",
    args: [
      "-F",
      "-n",
      `${s.dir}/n`,
      "-f",
      "",
      "-T",
      `127.0.0.1:${s.cliPort}`,
      "-S",
      `${s.dir}/secret`,
      "-a",
      ":0",
      "-x",
      "bogus",
    ],
    cliPort: s.cliPort,
    secret: s.secret,
    log,
    maxFailures: 3,
    backoffMs: 10,
    onStarted: () => Promise.resolve(),
  });
  try {
    supervisor.start();
    equal(await supervisor.done, "failed");
    equal(supervisor.starts, 3);
  } finally {
    await supervisor.stop();
    await Deno.remove(s.dir, { recursive: true });
  }
});

Deno.test("VarnishdSupervisor restarts varnishd when applying state fails", async () => {
  const s = await scratch();
  let attempts = 0;
  const supervisor = new VarnishdSupervisor({
    ...scratchSupervisorOptions(s),
    backoffMs: 10,
    onStarted: async (cli) => {
      if (++attempts === 1) throw new Error("first apply fails");
      await cli.vclInline("ok", VCL);
      await cli.vclUse("ok");
      await cli.start();
    },
  });
  try {
    supervisor.start();
    await eventually(async () => equal(await get(s.httpPort), 200), { timeoutMs: 30_000 });
    equal(attempts, 2);
  } finally {
    await supervisor.stop();
    await Deno.remove(s.dir, { recursive: true });
  }
});

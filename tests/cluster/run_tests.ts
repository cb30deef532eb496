/**
 * `deno task test`: runs `deno test --allow-all <args>` inside a fresh private network namespace, so tests can
 * reach the local cluster's API server, pod IPs and LoadBalancer addresses. The cluster itself starts lazily, on the
 * first `useCluster()` (tests/cluster/mod.ts), and is shared by every test of the run; this runner tears it down
 * afterwards (processes, network namespaces, state directory), also after Ctrl-C.
 *
 * Test clusters of earlier runs that were left behind (runner killed with SIGKILL) are removed first.
 *
 * @module
 */
import { createClusterNetns, keepClusterLogs, stopCluster } from "./cluster_control.ts";
import { clusterLayout } from "./layout.ts";
import { runCommand } from "./run_command.ts";

async function sweepStaleClusters(): Promise<void> {
  const names: string[] = [];
  try {
    for await (const e of Deno.readDir("/tmp/lacquer")) if (/^t[a-z0-9]{6}$/.test(e.name)) names.push(e.name);
  } catch {
    // nothing yet
  }
  // logs kept from failed runs: two hours are enough to read them
  try {
    for await (const e of Deno.readDir("/tmp/lacquer")) {
      if (!e.name.startsWith("failed-")) continue;
      const mtime = (await Deno.stat(`/tmp/lacquer/${e.name}`)).mtime?.getTime() ?? Date.now();
      if (Date.now() - mtime > 2 * 3600_000) await Deno.remove(`/tmp/lacquer/${e.name}`, { recursive: true });
    }
  } catch {
    // nothing yet
  }
  for (const name of names) {
    const layout = clusterLayout(name);
    const runner = Number(await Deno.readTextFile(`${layout.dir}/runner.pid`).catch(() => "0"));
    const runnerAlive = runner > 0 && await Deno.stat(`/proc/${runner}`).then(() => true, () => false);
    // a runner that just made its directory may not have written its pid yet
    const age = Date.now() - ((await Deno.stat(layout.dir).catch(() => undefined))?.mtime?.getTime() ?? 0);
    if (!runnerAlive && age > 60_000) await stopCluster(layout, { graceMs: 5000 });
  }
}

async function main(): Promise<number> {
  if (Deno.uid() !== 0) {
    console.error("deno task test: network namespaces need root; run it as root (or through sudo)");
    return 1;
  }
  await sweepStaleClusters();
  // the tests run without internet access: make sure npm dependencies are cached first
  const install = await runCommand(Deno.execPath(), { args: ["install", "--frozen", "--quiet"], allowFailure: true });
  if (install.code !== 0) console.error(install.stderr);
  const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789";
  const name = "t" + Array.from(crypto.getRandomValues(new Uint8Array(6)), (b) => alphabet[b % 36]).join("");
  const layout = clusterLayout(name);
  await Deno.mkdir(layout.dir, { recursive: true });
  await Deno.writeTextFile(`${layout.dir}/runner.pid`, String(Deno.pid));
  await createClusterNetns(layout);
  let code = 1;
  const child = new Deno.Command("nsenter", {
    args: [`--net=/run/netns/${layout.netns}`, "--", Deno.execPath(), "test", "--allow-all", ...Deno.args],
    env: { LACQUER_TEST_CLUSTER: name },
    stdin: "inherit",
    stdout: "inherit",
    stderr: "inherit",
  }).spawn();
  const forward = (signal: Deno.Signal) => () => {
    try {
      child.kill(signal);
    } catch {
      // done already
    }
  };
  const onInt = forward("SIGINT");
  const onTerm = forward("SIGTERM");
  Deno.addSignalListener("SIGINT", onInt);
  Deno.addSignalListener("SIGTERM", onTerm);
  try {
    code = (await child.status).code;
  } finally {
    Deno.removeSignalListener("SIGINT", onInt);
    Deno.removeSignalListener("SIGTERM", onTerm);
    const started = await Deno.stat(layout.pidFile).then(() => true, () => false);
    const t0 = performance.now();
    if (code !== 0 && started) {
      const keep = `/tmp/lacquer/failed-${name}`;
      await keepClusterLogs(layout, keep);
      console.error(`cluster logs of the failed run kept in ${keep}`);
    }
    await stopCluster(layout, { graceMs: 20_000 });
    if (started) console.error(`test cluster "${name}" stopped in ${Math.round(performance.now() - t0)} ms`);
  }
  return code;
}

Deno.exit(await main());

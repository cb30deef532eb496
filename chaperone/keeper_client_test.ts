/**
 * {@linkcode retainKeptPorts} against the real keeper (`ghost/keeper`), with sockets bound through its shim by a real
 * process, as varnishd binds them.
 */
import { equal, rejects } from "node:assert/strict";
import { eventually } from "../tests/cluster/eventually.ts";
import { keeperBuild } from "./_test_keeper.ts";
import { freePort } from "./_test_varnish.ts";
import { retainKeptPorts } from "./keeper_client.ts";

/**
 * Runs `code` in a Deno process with the shim preloaded for `ports`; its binds go through the keeper at `socket`.
 * Returns once it printed "ready" (and goes on running until its code ends).
 */
async function withShim(build: { preload: string }, socket: string, ports: number[], code: string) {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["eval", code],
    env: { LD_PRELOAD: build.preload, LACQUER_KEEPER_SOCKET: socket, LACQUER_KEEPER_PORTS: ports.join(",") },
    stdout: "piped",
    stderr: "null",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  for (let out = ""; !out.includes("ready");) {
    const { value, done } = await reader.read();
    if (done) throw new Error("the process ended before it was ready");
    out += value;
  }
  const drained = (async () => {
    while (!(await reader.read()).done);
  })();
  return { status: Promise.all([child.status, drained]) };
}

/** Whether a connection to `port` on loopback is accepted (by a process or into a kept socket's queue). */
async function connects(port: number): Promise<boolean> {
  try {
    (await Deno.connect({ hostname: "127.0.0.1", port })).close();
    return true;
  } catch (err) {
    if (err instanceof Deno.errors.ConnectionRefused) return false;
    throw err;
  }
}

Deno.test({
  name: "retainKeptPorts() has the keeper close the sockets of other ports, and a port bound again is kept again",
  ignore: Deno.build.os !== "linux",
}, async () => {
  const build = keeperBuild();
  const dir = await Deno.makeTempDir({ prefix: "lacquer-keeper-retain-" });
  const socket = `${dir}/keeper.sock`;
  const keeper = new Deno.Command(build.keeper, { args: [socket], stdout: "null", stderr: "null" }).spawn();
  const [listener, removed] = [freePort(), freePort()];
  try {
    await eventually(() => Deno.statSync(socket));
    // A first varnishd binds both listeners and dies: the keeper holds them, connections wait in their queues.
    const first = await withShim(
      build,
      socket,
      [listener, removed],
      `
      for (const port of [${listener}, ${removed}]) Deno.listen({ hostname: "127.0.0.1", port });
      console.log("ready");
      Deno.exit(0);
    `,
    );
    await first.status;
    equal(await connects(removed), true);
    // The next chaperone listens on one of them only: the other one refuses connections at once.
    await retainKeptPorts(socket, [listener]);
    equal(await connects(removed), false);
    equal(await connects(listener), true);
    // The listener added back: the next bind of its port is a real one, which serves and is kept again.
    const again = await withShim(
      build,
      socket,
      [removed],
      `
      const listener = Deno.listen({ hostname: "127.0.0.1", port: ${removed} });
      console.log("ready");
      const conn = await listener.accept();
      await conn.write(new TextEncoder().encode("served"));
      conn.close();
    `,
    );
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: removed });
    const buf = new Uint8Array(6);
    equal(await conn.read(buf), 6);
    equal(new TextDecoder().decode(buf), "served");
    conn.close();
    await again.status;
    equal(await connects(removed), true);
    // A keeper that cannot be reached is an error, which the chaperone logs.
    await rejects(retainKeptPorts(`${dir}/none.sock`, [listener]));
  } finally {
    keeper.kill("SIGTERM");
    await keeper.status;
    await Deno.remove(dir, { recursive: true });
  }
});

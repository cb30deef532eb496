import { strictEqual } from "node:assert/strict";
import { runHook, runProbe } from "./probe_runner.ts";

const container = { name: "c", image: "i", ports: [{ name: "admin", containerPort: 0 }] };

Deno.test("runProbe() checks httpGet (named port, status) and tcpSocket against a live server", async () => {
  let seenAuth = "";
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (req) => {
    seenAuth = req.headers.get("authorization") ?? "";
    return new Response(null, { status: new URL(req.url).pathname === "/readyz" ? 200 : 503 });
  });
  try {
    const port = server.addr.port;
    const target = {
      podIp: "127.0.0.1",
      netnsPath: "/proc/self/ns/net",
      container: { ...container, ports: [{ name: "admin", containerPort: port }] },
      env: {},
    };
    strictEqual(await runProbe({ httpGet: { path: "/readyz", port: "admin" } }, target), true);
    strictEqual(await runProbe({ httpGet: { path: "/other", port } }, target), false);
    strictEqual(await runProbe({ tcpSocket: { port } }, target), true);
    strictEqual(
      await runHook(
        { httpGet: { path: "/drain", port, httpHeaders: [{ name: "Authorization", value: "Bearer x" }] } },
        {
          ...target,
          timeoutMs: 1000,
        },
      ),
      false,
    );
    strictEqual(seenAuth, "Bearer x");
  } finally {
    await server.shutdown();
  }
});

Deno.test("runProbe() runs exec probes in the pod's network namespace", async () => {
  const target = { podIp: "127.0.0.1", netnsPath: "/proc/self/ns/net", container, env: { PATH: "/usr/bin:/bin" } };
  strictEqual(await runProbe({ exec: { command: ["true"] } }, target), true);
  strictEqual(await runProbe({ exec: { command: ["false"] } }, target), false);
  strictEqual(await runProbe({ tcpSocket: { port: 1 } }, target), false);
});

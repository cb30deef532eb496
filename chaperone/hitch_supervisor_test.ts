import { equal } from "node:assert/strict";
import { createLogger } from "../internal/log.ts";
import { eventually } from "../tests/cluster/eventually.ts";
import { freePort } from "./_test_varnish.ts";
import { HitchSupervisor } from "./hitch_supervisor.ts";

Deno.test("HitchSupervisor waits for certificates, and retries instead of failing when hitch is missing", async () => {
  const dir = await Deno.makeTempDir();
  const lines: string[] = [];
  const hitch = new HitchSupervisor({
    hitch: `${dir}/no-such-hitch`,
    socket: { name: "port-443", host: "127.0.0.1", port: freePort() },
    backendPort: freePort(),
    dir: `${dir}/tls`,
    log: createLogger({ level: "debug", sink: (line) => lines.push(line) }),
    backoffMs: 10,
  });
  try {
    equal(hitch.state, "waiting");
    await hitch.update([]);
    equal(hitch.state, "waiting");
    await hitch.update([{ name: "port-443.pem", pem: "KEY\nCERT\n" }]);
    equal(Deno.readTextFileSync(`${dir}/tls/port-443.pem`), "KEY\nCERT\n");
    equal(Deno.statSync(`${dir}/tls/hitch.conf`).mode! & 0o777, 0o600);
    await eventually(() => equal(lines.filter((l) => l.includes("hitch did not start")).length >= 2, true));
    equal(hitch.state, "backoff");
  } finally {
    await hitch.stop();
    await Deno.remove(dir, { recursive: true });
  }
  equal(hitch.state, "stopped");
});

import { deepStrictEqual, equal } from "node:assert/strict";
import type { HitchState } from "./hitch_supervisor.ts";
import { readiness, type ReadinessInputs } from "./readiness.ts";

const ready: ReadinessInputs = {
  sync: { applied: true, configMapFound: true, endpointsSynced: true },
  draining: false,
  varnishd: "running",
  hitches: new Map<string, { state: HitchState }>([["port-443", { state: "running" }]]),
};

Deno.test("readiness() is ready only when applied, varnishd and every hitch run, and not draining", async (t) => {
  const cases: [string, Partial<ReadinessInputs>, boolean][] = [
    ["all up", {}, true],
    ["not applied", { sync: { ...ready.sync, applied: false } }, false],
    ["draining", { draining: true }, false],
    ["varnishd in back-off", { varnishd: "backoff" }, false],
    ["hitch waiting for certificates", { hitches: new Map([["port-443", { state: "waiting" as const }]]) }, false],
    ["no TLS listeners", { hitches: new Map() }, true],
  ];
  for (const [name, change, expected] of cases) {
    await t.step(name, () => equal(readiness({ ...ready, ...change }).ready, expected));
  }
});

Deno.test("readiness() reports its inputs, hitch only with TLS listeners", () => {
  deepStrictEqual(readiness(ready), {
    ready: true,
    draining: false,
    varnishd: "running",
    hitch: { "port-443": "running" },
    applied: true,
    configMapFound: true,
    endpointsSynced: true,
  });
  equal("hitch" in readiness({ ...ready, hitches: new Map() }), false);
});

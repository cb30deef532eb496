import { deepEqual } from "node:assert/strict";
import { gatewaySchema, listenerSetSchema } from "./api_types.ts";
import { mergeListenerSets } from "./listener_sets.ts";
import { validateListeners } from "./listeners.ts";
import { emptySnapshot } from "./snapshot.ts";
import { indexSnapshot } from "./snapshot_index.ts";

const index = indexSnapshot(emptySnapshot(), "lacquer.dev/gateway-controller");
const gateway = gatewaySchema.parse({
  metadata: { name: "gw", namespace: "infra" },
  spec: {
    gatewayClassName: "lacquer",
    listeners: [{ name: "http", port: 80, protocol: "HTTP", hostname: "gw.example" }],
    allowedListeners: { namespaces: { from: "All" } },
  },
});

function listenerSet(namespace: string, name: string, created: string, hostname: string) {
  return listenerSetSchema.parse({
    metadata: { name, namespace, creationTimestamp: created },
    spec: {
      parentRef: { name: "gw", namespace: "infra" },
      listeners: [{ name: "web", port: 80, protocol: "HTTP", hostname }],
    },
  });
}

/** Which ListenerSets got the contested hostname, in precedence order: `key: attached?`. */
function outcome(sets: ReturnType<typeof listenerSet>[]): string[] {
  const merged = mergeListenerSets(gateway, validateListeners(gateway, index), sets, index);
  return merged.listenerSets.map((r) => `${r.key}: ${r.rejection?.reason ?? "attached"}`);
}

Deno.test("mergeListenerSets() gives a contested listener to the oldest ListenerSet, then to the first by namespace/name", () => {
  const t1 = "2026-01-01T00:00:00Z";
  const t2 = "2026-01-02T00:00:00Z";
  // The older one wins although its name sorts last.
  deepEqual(outcome([listenerSet("a", "first", t2, "x.example"), listenerSet("z", "zeta", t1, "x.example")]), [
    "z/zeta: attached",
    "a/first: ListenersNotValid",
  ]);
  // Created in the same second: namespace/name decides.
  deepEqual(outcome([listenerSet("b", "set", t1, "x.example"), listenerSet("a", "set", t1, "x.example")]), [
    "a/set: attached",
    "b/set: ListenersNotValid",
  ]);
  // The Gateway's own listener always wins.
  deepEqual(outcome([listenerSet("a", "set", t1, "gw.example")]), ["a/set: ListenersNotValid"]);
});

Deno.test("mergeListenerSets() adds the attached ListenerSets' listeners after the Gateway's, under merged names", () => {
  const merged = mergeListenerSets(gateway, validateListeners(gateway, index), [
    listenerSet("apps", "extra", "2026-01-01T00:00:00Z", "x.example"),
  ], index);
  deepEqual(merged.listeners.map((l) => [l.listener.name, l.listenerSet?.name]), [
    ["http", undefined],
    ["apps_extra_web", "web"],
  ]);
});

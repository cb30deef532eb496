import { deepEqual } from "node:assert/strict";
import { gatewaySchema } from "../api_types.ts";
import type { ListenerResult } from "../listeners.ts";
import { gatewayProgrammed, gatewayProgrammedPending, listenerAccepted, type NewCondition } from "./conditions.ts";
import { listenerConditions, listenerStatuses } from "./listener.ts";

const NOW = "2026-01-01T00:00:00Z";
const OLD = "2025-01-01T00:00:00Z";
const HTTP_ROUTE = { group: "gateway.networking.k8s.io", kind: "HTTPRoute" };

function listener(facts: Partial<ListenerResult> = {}): ListenerResult {
  return {
    listener: {
      name: "a",
      port: 80,
      protocol: "HTTP",
      allowedRoutes: { namespaces: { from: "Same" } },
    } as ListenerResult["listener"],
    socket: "port-80",
    attachable: true,
    usable: true,
    supportedKinds: [HTTP_ROUTE],
    ...facts,
  };
}

Deno.test("listenerConditions() turns validation facts into the four listener conditions", async (t) => {
  const programmed = gatewayProgrammed("1 ready gateway pods serve the current configuration", 1);
  const pending = gatewayProgrammedPending("No gateway pod is ready", 1);
  const cases: { name: string; listener: ListenerResult; programmed: NewCondition; want: string[][] }[] = [
    {
      name: "valid and programmed",
      listener: listener(),
      programmed,
      want: [
        ["Accepted", "True", "Accepted"],
        ["Conflicted", "False", "NoConflicts"],
        ["ResolvedRefs", "True", "ResolvedRefs"],
        ["Programmed", "True", "Programmed"],
      ],
    },
    {
      name: "valid, gateway pods pending",
      listener: listener(),
      programmed: pending,
      want: [
        ["Accepted", "True", "Accepted"],
        ["Conflicted", "False", "NoConflicts"],
        ["ResolvedRefs", "True", "ResolvedRefs"],
        ["Programmed", "False", "Pending", "No gateway pod is ready"],
      ],
    },
    {
      name: "unsupported protocol",
      listener: listener({
        usable: false,
        attachable: false,
        supportedKinds: [],
        notAccepted: { reason: "UnsupportedProtocol", message: "Listener protocol ..." },
        problem: 'protocol "TCP" is not supported',
      }),
      programmed,
      want: [
        ["Accepted", "False", "UnsupportedProtocol", "Listener protocol ..."],
        ["Conflicted", "False", "NoConflicts"],
        ["ResolvedRefs", "True", "ResolvedRefs"],
        ["Programmed", "False", "Invalid", 'Listener is not programmed: protocol "TCP" is not supported'],
      ],
    },
    {
      name: "conflicted, and a certificate reference not permitted",
      listener: listener({
        usable: false,
        attachable: false,
        conflicted: { reason: "HostnameConflict", message: "same host" },
        refsNotResolved: { reason: "RefNotPermitted", message: "no grant" },
        problem: "it conflicts with another listener",
      }),
      programmed,
      want: [
        ["Accepted", "True", "Accepted"],
        ["Conflicted", "True", "HostnameConflict", "same host"],
        ["ResolvedRefs", "False", "RefNotPermitted", "no grant"],
        ["Programmed", "False", "Invalid", "Listener is not programmed: it conflicts with another listener"],
      ],
    },
  ];
  for (const c of cases) {
    await t.step(c.name, () => {
      const got = listenerConditions(c.listener, c.programmed, 1);
      deepEqual(
        got.map((x, i) => [x.type, x.status, x.reason, ...(c.want[i].length > 3 ? [x.message] : [])]),
        c.want,
      );
    });
  }
});

Deno.test("listenerStatuses() counts attached routes and keeps transition times per listener", () => {
  const gateway = gatewaySchema.parse({
    metadata: { name: "gw", namespace: "ns", generation: 4 },
    spec: { gatewayClassName: "lacquer", listeners: [{ name: "a", port: 80, protocol: "HTTP" }] },
    status: {
      listeners: [{
        name: "a",
        supportedKinds: [],
        attachedRoutes: 0,
        conditions: [{ ...listenerAccepted(1), lastTransitionTime: OLD }],
      }],
    },
  });
  const [a, b] = listenerStatuses({
    gateway,
    listeners: [listener(), listener({ listener: { ...listener().listener, name: "b" } })],
    attachedRoutes: new Map([["a", 2]]),
    programmed: gatewayProgrammed("ok", 4),
  }, NOW);
  deepEqual([a.name, a.attachedRoutes, a.supportedKinds], ["a", 2, [HTTP_ROUTE]]);
  deepEqual([b.name, b.attachedRoutes], ["b", 0]);
  deepEqual(a.conditions.map((c) => c.lastTransitionTime), [OLD, NOW, NOW, NOW]);
  deepEqual(b.conditions.map((c) => c.lastTransitionTime), [NOW, NOW, NOW, NOW]);
});

import { deepEqual } from "node:assert/strict";
import { gatewaySchema, httpRouteSchema } from "./api_types.ts";
import { attachRoute } from "./attach.ts";
import { validateListeners } from "./listeners.ts";
import { parseSnapshot } from "./snapshot.ts";
import { indexSnapshot } from "./snapshot_index.ts";

const index = indexSnapshot(
  parseSnapshot([{ apiVersion: "v1", kind: "Namespace", metadata: { name: "team", labels: { shared: "yes" } } }]),
  "lacquer.dev/gateway-controller",
);
const gateway = gatewaySchema.parse({
  metadata: { name: "gw", namespace: "infra" },
  spec: {
    gatewayClassName: "lacquer",
    listeners: [
      { name: "same", port: 80, protocol: "HTTP", hostname: "*.example.com" },
      {
        name: "labelled",
        port: 8080,
        protocol: "HTTP",
        allowedRoutes: { namespaces: { from: "Selector", selector: { matchLabels: { shared: "yes" } } } },
      },
      {
        name: "all",
        port: 8081,
        protocol: "HTTP",
        hostname: "all.example.org",
        allowedRoutes: { namespaces: { from: "All" } },
      },
      { name: "broken", port: 8901, protocol: "HTTP", allowedRoutes: { namespaces: { from: "All" } } },
    ],
  },
});
const context = { gateway, listeners: validateListeners(gateway, index), index };

Deno.test("attachRoute() selects listeners and reports why a route does not attach", async (t) => {
  const cases: {
    name: string;
    namespace: string;
    hostnames?: string[];
    ref?: Record<string, unknown>;
    want: { attached: [string, string[]][]; rejection?: string };
  }[] = [
    {
      name: "same namespace, every listener that allows it",
      namespace: "infra",
      want: { attached: [["same", ["*.example.com"]], ["all", ["all.example.org"]]] },
    },
    {
      name: "hostnames intersect with the listener's",
      namespace: "infra",
      hostnames: ["a.example.com", "b.other.net"],
      want: { attached: [["same", ["a.example.com"]]] },
    },
    {
      name: "a namespace selected by labels",
      namespace: "team",
      want: { attached: [["labelled", ["*"]], ["all", ["all.example.org"]]] },
    },
    {
      name: "sectionName picks one listener",
      namespace: "infra",
      ref: { sectionName: "all" },
      want: { attached: [["all", ["all.example.org"]]] },
    },
    {
      name: "a sectionName and port no listener has",
      namespace: "infra",
      ref: { sectionName: "same", port: 81 },
      want: {
        attached: [],
        rejection: 'NoMatchingParent: Gateway has no listener with sectionName "same" and port 81',
      },
    },
    {
      name: "a listener that is not attachable allows nothing",
      namespace: "infra",
      ref: { port: 8901 },
      want: { attached: [], rejection: "NotAllowedByListeners" },
    },
    {
      name: "another namespace, only Same listeners",
      namespace: "elsewhere",
      ref: { sectionName: "same" },
      want: { attached: [], rejection: "NotAllowedByListeners" },
    },
    {
      name: "no hostname in common",
      namespace: "infra",
      hostnames: ["x.other.net"],
      want: {
        attached: [],
        rejection: "NoMatchingListenerHostname: No hostname of the route matches the hostname of an allowing listener",
      },
    },
  ];
  for (const c of cases) {
    await t.step(c.name, () => {
      const route = httpRouteSchema.parse({
        metadata: { name: "r", namespace: c.namespace },
        spec: { parentRefs: [{ name: "gw", namespace: "infra", ...c.ref }], hostnames: c.hostnames ?? [] },
      });
      const out = attachRoute(route, route.spec.parentRefs[0], context);
      deepEqual(out.attachments.map((a) => [a.listener.listener.name, a.hostnames]), c.want.attached);
      const rejection = out.rejection &&
        (c.want.rejection?.includes(":") ? `${out.rejection.reason}: ${out.rejection.message}` : out.rejection.reason);
      deepEqual(rejection, c.want.rejection);
    });
  }
});

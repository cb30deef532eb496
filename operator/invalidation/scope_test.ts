import { deepEqual } from "node:assert/strict";
import { gatewaySchema, httpRouteSchema } from "../api_types.ts";
import { hostnameNamespaces, type ScopeInput, servingGateways, targetGateways } from "./scope.ts";

const OURS = "lacquer.dev/gateway-controller";

function gateway(namespace: string, name: string, listeners: { name: string; hostname?: string }[]) {
  return gatewaySchema.parse({
    metadata: { namespace, name },
    spec: { gatewayClassName: "c", listeners: listeners.map((l) => ({ ...l, port: 80, protocol: "HTTP" })) },
  });
}

function route(
  namespace: string,
  hostnames: string[],
  parents: { gateway: string; namespace?: string; sectionName?: string; accepted?: boolean; controller?: string }[],
) {
  return httpRouteSchema.parse({
    metadata: { namespace, name: `r-${hostnames.join("-")}` },
    spec: { hostnames, parentRefs: parents.map((p) => ({ name: p.gateway, namespace: p.namespace })) },
    status: {
      parents: parents.map((p) => ({
        parentRef: { name: p.gateway, namespace: p.namespace, sectionName: p.sectionName },
        controllerName: p.controller ?? OURS,
        conditions: [{ type: "Accepted", status: p.accepted === false ? "False" : "True", reason: "Accepted" }],
      })),
    },
  });
}

const input: ScopeInput = {
  controllerName: OURS,
  gateways: [
    gateway("infra", "shared", [{ name: "a", hostname: "*.example.com" }, { name: "b", hostname: "other.org" }]),
    gateway("team-a", "own", [{ name: "http" }]),
    gateway("team-b", "own", [{ name: "http" }]),
  ],
  routes: [
    route("team-a", ["shop.example.com"], [{ gateway: "shared", namespace: "infra" }, { gateway: "own" }]),
    route("team-b", ["shop.example.com"], [{ gateway: "shared", namespace: "infra", sectionName: "b" }]),
    route("team-b", [], [{ gateway: "own" }]),
    route("team-c", ["shop.example.com"], [{ gateway: "shared", namespace: "infra", accepted: false }]),
    route("team-d", ["shop.example.com"], [{ gateway: "shared", namespace: "infra", controller: "other.io/gw" }]),
    route("team-e", ["*.example.com"], [{ gateway: "shared", namespace: "infra" }]),
  ],
};

Deno.test("servingGateways: accepted parents of our controller whose listener hostnames cover the hostname", () => {
  deepEqual(servingGateways("shop.example.com", "team-a", input), ["infra/shared", "team-a/own"]);
  // team-b's route is attached to listener "b" (other.org) only; its hostname-less route on its own Gateway serves
  // every hostname there
  deepEqual(servingGateways("shop.example.com", "team-b", input), ["team-b/own"]);
  deepEqual(servingGateways("other.org", "team-b", input), ["team-b/own"]); // shop.example.com is not served on "b"
  deepEqual(servingGateways("shop.example.com", "team-c", input), []); // not accepted
  deepEqual(servingGateways("shop.example.com", "team-d", input), []); // another controller's entry
  deepEqual(servingGateways("x.example.com", "team-e", input), ["infra/shared"]); // wildcard route
  deepEqual(servingGateways("example.com", "team-e", input), []);
});

Deno.test("hostnameNamespaces: every namespace whose routes serve the hostname", () => {
  deepEqual(hostnameNamespaces("shop.example.com", input), ["team-a", "team-b", "team-e"]);
  deepEqual(hostnameNamespaces("nobody.test", input), ["team-b"]);
});

Deno.test("targetGateways: the serving Gateways, or the named ones if each serves the hostname", () => {
  deepEqual(targetGateways("shop.example.com", "team-a", [], input), {
    ok: true,
    gateways: ["infra/shared", "team-a/own"],
  });
  deepEqual(targetGateways("shop.example.com", "team-a", [{ name: "own" }], input), {
    ok: true,
    gateways: ["team-a/own"],
  });
  deepEqual(targetGateways("shop.example.com", "team-a", [{ name: "own", namespace: "team-b" }], input), {
    ok: false,
    error: 'Gateway team-b/own does not serve hostname "shop.example.com" for HTTPRoutes of "team-a"',
  });
  deepEqual(targetGateways("shop.example.com", "team-c", [], input), {
    ok: false,
    error: 'no Gateway of ours serves hostname "shop.example.com" for HTTPRoutes of "team-c"',
  });
});

import { deepEqual, equal, ok } from "node:assert/strict";
import { parseSnapshot } from "./snapshot.ts";
import { regexCost, ROUTING_BUDGET_BYTES, storedBytes } from "./routing_budget.ts";
import { translate } from "./translate.ts";

const CLASS = {
  apiVersion: "gateway.networking.k8s.io/v1",
  kind: "GatewayClass",
  metadata: { name: "lacquer" },
  spec: { controllerName: "lacquer.dev/gateway-controller" },
};
const GATEWAY = {
  apiVersion: "gateway.networking.k8s.io/v1",
  kind: "Gateway",
  metadata: { name: "gw", namespace: "ns", uid: "u1" },
  spec: { gatewayClassName: "lacquer", listeners: [{ name: "http", port: 80, protocol: "HTTP" }] },
};
const SERVICE = { apiVersion: "v1", kind: "Service", metadata: { name: "web", namespace: "ns" }, spec: {} };

/** A route created at minute `minute` with `hostnames` hostnames: each copies its rules, so each costs bytes. */
function route(name: string, minute: number, hostnames: number) {
  return {
    apiVersion: "gateway.networking.k8s.io/v1",
    kind: "HTTPRoute",
    metadata: { name, namespace: "ns", creationTimestamp: `2026-01-01T00:${String(minute).padStart(2, "0")}:00Z` },
    spec: {
      parentRefs: [{ name: "gw" }],
      hostnames: Array.from({ length: hostnames }, (_, i) => `${name}-${i}.example.com`),
      rules: [{
        matches: [{ path: { type: "PathPrefix", value: `/${name}` } }],
        backendRefs: [{ name: "web", port: 80 }],
      }],
    },
  };
}

// "newest" is listed first: the order of the input is not what decides, creation time is.
const ROUTES = [route("newest", 3, 10), route("old", 1, 10), route("mid", 2, 10)];

function run(budget: number, routes = ROUTES) {
  const snapshot = parseSnapshot([CLASS, GATEWAY, SERVICE, ...routes]);
  return translate(snapshot, {
    now: "2026-01-01T01:00:00Z",
    defaults: { image: "lacquer:test" },
    routingBudgetBytes: budget,
  });
}

function accepted(result: ReturnType<typeof run>, name: string) {
  const status = result.routes.find((r) => r.key === `ns/${name}`)!;
  return status.parents[0].conditions.find((c) => c.type === "Accepted")!;
}

Deno.test("past the routing budget the newest routes are refused with a reason and the older keep serving", () => {
  const whole = run(10_000_000).gateways[0];
  // Stored as plain text (below the gzip threshold): the size is the text's.
  const sizeOf = (g: typeof whole) => storedBytes(g.routingJson!, g.mainVcl!, 0);
  const size = sizeOf(whole);
  // A budget that holds all but about one route's share.
  const result = run(size - 1000);
  const gw = result.gateways[0];
  const served = Object.keys(gw.routing!.vhosts);
  ok(served.includes("old-0.example.com") && served.includes("mid-9.example.com"), "the older routes are served");
  ok(!served.some((h) => h.startsWith("newest-")), "the newest route is left out");
  ok(sizeOf(gw) <= size - 1000);
  equal(accepted(result, "old").status, "True");
  equal(accepted(result, "mid").status, "True");
  const refused = accepted(result, "newest");
  deepEqual([refused.status, refused.reason], ["False", "RoutingBudgetExceeded"]);
  ok(refused.message.includes(`budget of ${size - 1000} bytes`));
  // The listener counts only the routes it serves; the children are still built (the Gateway keeps working).
  equal(gw.status.listeners[0].attachedRoutes, 2);
  ok(gw.children && gw.children.length > 0);

  // A budget for one route: the two newest go.
  const tight = run(sizeOf(run(10_000_000, [ROUTES[1]]).gateways[0]));
  equal(accepted(tight, "old").status, "True");
  equal(accepted(tight, "mid").reason, "RoutingBudgetExceeded");
  equal(accepted(tight, "newest").reason, "RoutingBudgetExceeded");

  // Within the budget nothing changes.
  deepEqual(run(size).gateways[0].routing, whole.routing);
});

/** A route created at minute `minute` with a regex path and a regex header match under two hostnames: 4 patterns. */
function regexRoute(name: string, minute: number) {
  const base = route(name, minute, 2);
  base.spec.rules[0].matches = [
    {
      path: { type: "RegularExpression", value: `/${name}/[0-9]+` },
      headers: [{ type: "RegularExpression", name: "x-tier", value: "gold|silver" }],
    } as (typeof base.spec.rules)[0]["matches"][0],
  ];
  return base;
}

Deno.test("past the regex budget the newest routes are refused with a reason and the older keep serving", () => {
  const routes = [regexRoute("newest", 3), regexRoute("old", 1), regexRoute("mid", 2)];
  const translateWith = (patterns: number, characters: number) =>
    translate(parseSnapshot([CLASS, GATEWAY, SERVICE, ...routes]), {
      now: "2026-01-01T01:00:00Z",
      defaults: { image: "lacquer:test" },
      regexBudget: { patterns, characters },
    });
  const whole = translateWith(1000, 100_000);
  deepEqual(regexCost(whole.gateways[0].routing!), { patterns: 12, characters: 2 * (14 + 11 + 11 + 11 + 11 + 11) });
  for (const name of ["old", "mid", "newest"]) equal(accepted(whole, name).status, "True");

  // Eight patterns: the two oldest routes, each compiled under two hostnames.
  const byCount = translateWith(8, 100_000);
  deepEqual(regexCost(byCount.gateways[0].routing!).patterns, 8);
  equal(accepted(byCount, "old").status, "True");
  equal(accepted(byCount, "mid").status, "True");
  const refused = accepted(byCount, "newest");
  deepEqual([refused.status, refused.reason], ["False", "RoutingBudgetExceeded"]);
  ok(refused.message.includes("more than 8 regular expressions"), refused.message);
  equal(byCount.gateways[0].status.listeners[0].attachedRoutes, 2);

  // The characters count as well: room for one route's patterns only.
  const byCharacters = translateWith(1000, 2 * (11 + 11));
  equal(accepted(byCharacters, "old").status, "True");
  equal(accepted(byCharacters, "mid").reason, "RoutingBudgetExceeded");
  equal(accepted(byCharacters, "newest").reason, "RoutingBudgetExceeded");

  // A route without regexes is not refused for them, but it is the newest: the prefix rule keeps precedence order.
  const plain = translate(parseSnapshot([CLASS, GATEWAY, SERVICE, ...routes, route("plain", 0, 1)]), {
    now: "2026-01-01T01:00:00Z",
    defaults: { image: "lacquer:test" },
    regexBudget: { patterns: 4, characters: 100_000 },
  });
  equal(accepted(plain, "plain").status, "True");
  equal(accepted(plain, "old").status, "True");
  equal(accepted(plain, "mid").reason, "RoutingBudgetExceeded");
});

/** 20 Services on 20 hostnames, each behind its own BackendTLSPolicy whose CA ConfigMap holds the same bundle. */
function tlsBackends(pem: string, services = 20) {
  return Array.from({ length: services }, (_, i) => [
    {
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: `api${i}`, namespace: "ns" },
      spec: { ports: [{ port: 443 }] },
    },
    { apiVersion: "v1", kind: "ConfigMap", metadata: { name: `ca${i}`, namespace: "ns" }, data: { "ca.crt": pem } },
    {
      apiVersion: "gateway.networking.k8s.io/v1",
      kind: "BackendTLSPolicy",
      metadata: { name: `tls${i}`, namespace: "ns", creationTimestamp: "2026-01-01T00:00:00Z" },
      spec: {
        targetRefs: [{ group: "", kind: "Service", name: `api${i}` }],
        validation: {
          hostname: `api${i}.internal`,
          caCertificateRefs: [{ group: "", kind: "ConfigMap", name: `ca${i}` }],
        },
      },
    },
    {
      ...route(`api${i}`, 0, 1),
      spec: {
        parentRefs: [{ name: "gw" }],
        hostnames: [`api${i}.example.com`],
        rules: [{ backendRefs: [{ name: `api${i}`, port: 443 }] }],
      },
    },
  ]).flat();
}

Deno.test("N backends sharing one big CA bundle cost one bundle in routing.json, within the budget", async () => {
  const pem = await Deno.readTextFile(new URL("testdata/ca_bundle_37.pem", import.meta.url));
  const bundle = new TextEncoder().encode(JSON.stringify(pem)).length;
  ok(bundle > 42_000, `a 37-CA bundle of ${bundle} bytes as JSON`);
  const result = translate(parseSnapshot([CLASS, GATEWAY, ...tlsBackends(pem)]), {
    now: "2026-01-01T01:00:00Z",
    defaults: { image: "lacquer:test" },
  });
  const gw = result.gateways[0];
  equal(Object.keys(gw.routing!.vhosts).length, 20);
  deepEqual(Object.values(gw.routing!.caBundles ?? {}).map((p) => p.length), [pem.length]);
  const size = storedBytes(gw.routingJson!, "", ROUTING_BUDGET_BYTES);
  // Twenty routes take a few kilobytes besides the bundle: the bundle is there once, not twenty times (about 840 KB).
  ok(size > bundle && size < bundle + 16_000, `routing.json takes ${size} bytes for a ${bundle}-byte bundle`);
  for (const vhost of Object.values(gw.routing!.vhosts)) {
    equal(vhost.routes[0].backends[0].tls?.caBundle, Object.keys(gw.routing!.caBundles!)[0]);
  }
  // Each route is accepted: nothing was refused for the budget.
  for (let i = 0; i < 20; i++) equal(accepted(result, `api${i}`).status, "True");
});

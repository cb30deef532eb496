/**
 * End to end caching on the local cluster: CachePolicies applied through the API, the operator translating them,
 * and real HTTP through a Gateway whose pods run the chaperone, varnishd and ghost. The origin (echo-basic) echoes
 * each request's headers, so a per-request `X-Req` header in the body tells which request an answer was fetched
 * for: a cached answer carries an earlier request's id.
 */
import { deepEqual, equal, notEqual, ok } from "node:assert/strict";
import { clusterAvailable, eventually } from "../cluster/mod.ts";
import { apply, applyApp, echoApp, GW_API, podOf, prefix, route, startE2eGateway } from "./_e2e_gateway.ts";

interface Answer {
  status: number;
  headers: Headers;
  /** The X-Req header the origin saw for this answer. */
  req?: string;
  /** The path and query the origin saw. */
  path?: string;
  pod?: string;
}

let sequence = 0;

/** Sends a GET with a fresh `X-Req` id plus the given headers. */
async function send(
  address: string,
  path: string,
  headers: Record<string, string> = {},
): Promise<Answer & { id: string }> {
  const id = `r${++sequence}`;
  const response = await fetch(`http://${address}${path}`, {
    headers: { "X-Req": id, ...headers },
    signal: AbortSignal.timeout(5000),
  });
  const text = await response.text();
  let body: { headers?: Record<string, string[]>; path?: string } = {};
  try {
    body = JSON.parse(text);
  } catch {
    // not an echo answer
  }
  return {
    id,
    status: response.status,
    headers: response.headers,
    req: body.headers?.["X-Req"]?.[0],
    path: body.path,
    pod: podOf(text),
  };
}

const xCache = (a: Answer) => a.headers.get("x-cache") ?? "";

function policy(namespace: string, name: string, target: Record<string, string>, spec: Record<string, unknown>) {
  return {
    apiVersion: "lacquer.dev/v1alpha1",
    kind: "CachePolicy",
    metadata: { name, namespace },
    spec: { targetRefs: [{ group: "gateway.networking.k8s.io", kind: "HTTPRoute", ...target }], ...spec },
  };
}

Deno.test({
  name: "a CachePolicy caches through a real Gateway: hits, query keys, bypasses, grace, canaries, deletion",
  ignore: !clusterAvailable(),
}, async (t) => {
  await using gw = await startE2eGateway({
    setup: async ({ client, name }) => {
      await applyApp(client, [
        ...echoApp(name, "echo-a", 1),
        ...echoApp(name, "echo-b", 1),
        ...echoApp(name, "echo-c", 1),
      ]);
    },
  });
  const { client, address } = gw;
  const ns = gw.ns.name;
  const routes = `${GW_API}/namespaces/${ns}/httproutes`;
  const policies = `/apis/lacquer.dev/v1alpha1/namespaces/${ns}/cachepolicies`;
  const to = (service: string) => [{ name: service, port: 8080 }];
  await apply(
    client,
    routes,
    route(ns, "hits", [{ name: "main", matches: prefix("/hits"), backendRefs: to("echo-a") }]),
  );
  // The grace test's origin: echo-c's pod behind a Service whose EndpointSlice the test writes, so that the origin
  // can go down (its port refuses connections) while its endpoint stays listed and ready.
  const podIp = await eventually(async () => {
    const pods = await client.request<{ items: { status?: { podIP?: string } }[] }>(`/api/v1/namespaces/${ns}/pods`, {
      query: { labelSelector: "app=echo-c" },
    });
    const ip = pods.items[0]?.status?.podIP;
    ok(ip, "echo-c has an address");
    return ip;
  }, { timeoutMs: 60_000 });
  await apply(client, `/api/v1/namespaces/${ns}/services`, {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name: "origin", namespace: ns },
    spec: { ports: [{ name: "http", port: 8080 }] },
  });
  const setOriginPort = (port: number) =>
    apply(client, `/apis/discovery.k8s.io/v1/namespaces/${ns}/endpointslices`, {
      apiVersion: "discovery.k8s.io/v1",
      kind: "EndpointSlice",
      metadata: { name: "origin-manual", namespace: ns, labels: { "kubernetes.io/service-name": "origin" } },
      addressType: "IPv4",
      endpoints: [{ addresses: [podIp], conditions: { ready: true } }],
      ports: [{ name: "http", port, protocol: "TCP" }],
    });
  await setOriginPort(3000);
  await apply(client, routes, route(ns, "grace", [{ matches: prefix("/grace"), backendRefs: to("origin") }]));
  await apply(
    client,
    routes,
    route(ns, "shop", [
      {
        name: "canary",
        matches: [{ ...prefix("/shop")[0], headers: [{ name: "X-Canary", value: "1" }] }],
        backendRefs: to("echo-b"),
      },
      { name: "stable", matches: prefix("/shop"), backendRefs: to("echo-a") },
    ]),
  );
  await apply(
    client,
    policies,
    policy(ns, "hits", { name: "hits" }, {
      ttl: { default: "5m" },
      key: { query: { mode: "Exclude", params: ["utm_source"] } },
      debugHeaders: true,
    }),
  );
  await apply(
    client,
    policies,
    policy(ns, "grace", { name: "grace" }, { ttl: { default: "1s", grace: "5m" }, debugHeaders: true }),
  );
  await apply(client, policies, policy(ns, "canary", { name: "shop", sectionName: "canary" }, { debugHeaders: true }));
  // The policies are live once their rules answer with the debug header.
  await eventually(async () => ok(xCache(await send(address, "/hits/warm-up")) !== ""), { timeoutMs: 60_000 });
  await eventually(async () => ok(xCache(await send(address, "/grace/warm-up")) !== ""), { timeoutMs: 60_000 });
  await eventually(async () => ok(xCache(await send(address, "/shop/warm-up", { "X-Canary": "1" })) !== ""));

  const passed: boolean[] = [];
  const step = async (name: string, fn: () => Promise<void>) => passed.push(await t.step(name, fn));
  try {
    await step("a miss, then hits serving the first answer", async () => {
      const first = await send(address, "/hits/a");
      equal(first.status, 200);
      equal(first.req, first.id, "a miss goes to the origin");
      equal(xCache(first), "MISS");
      for (let i = 0; i < 3; i++) {
        const again = await send(address, "/hits/a");
        deepEqual([again.status, again.req, xCache(again)], [200, first.id, "HIT"], "a hit serves the stored answer");
        ok(Number(again.headers.get("x-cache-hits")) >= i + 1, `X-Cache-Hits: ${again.headers.get("x-cache-hits")}`);
      }
    });

    await step(
      "query parameters are sorted and the excluded one dropped: one object, and the origin sees that URL",
      async () => {
        const first = await send(address, "/hits/q?b=1&a=2&utm_source=mail");
        equal(first.req, first.id);
        equal(first.path, "/hits/q?a=2&b=1", "the origin receives exactly the URL of the key");
        for (const query of ["?a=2&b=1", "?b=1&a=2", "?a=2&b=1&utm_source=x", "?utm_source=y&b=1&a=2"]) {
          const again = await send(address, `/hits/q${query}`);
          deepEqual([again.req, xCache(again)], [first.id, "HIT"], query);
        }
        const other = await send(address, "/hits/q?a=2&b=3");
        equal(other.req, other.id, "another value of a kept parameter is another object");
      },
    );

    await step("a request with Authorization passes, and does not get the stored answer", async () => {
      const stored = await send(address, "/hits/auth");
      for (let i = 0; i < 2; i++) {
        const authorized = await send(address, "/hits/auth", { Authorization: "Bearer secret" });
        equal(authorized.status, 200);
        equal(authorized.req, authorized.id, "fetched from the origin each time");
        notEqual(xCache(authorized), "HIT");
      }
      equal((await send(address, "/hits/auth")).req, stored.id, "the stored answer stays for others");
    });

    await step("an answer with Set-Cookie is not stored", async () => {
      const cookie = { "X-Echo-Set-Header": "Set-Cookie: session=abc" };
      for (let i = 0; i < 3; i++) {
        const answer = await send(address, "/hits/cookie", cookie);
        equal(answer.headers.get("set-cookie"), "session=abc", "the client still gets its cookie");
        equal(answer.req, answer.id, "fetched from the origin each time");
      }
    });

    await step("grace serves the stale object while the origin is down, and refreshes once it is back", async () => {
      const first = await send(address, "/grace/page");
      equal(first.req, first.id);
      // The origin goes down while its endpoint stays listed: connections to it are refused.
      await setOriginPort(3999);
      await new Promise((r) => setTimeout(r, 2000)); // past the 1 s TTL, and the endpoint change applied
      for (let i = 0; i < 3; i++) {
        const stale = await send(address, "/grace/page");
        deepEqual([stale.status, stale.req], [200, first.id], `stale answer ${i}: ${xCache(stale)}`);
      }
      equal((await send(address, "/grace/other")).status, 503, "what is not cached fails while the origin is down");
      await setOriginPort(3000);
      await eventually(async () => {
        const fresh = await send(address, "/grace/page");
        equal(fresh.status, 200);
        notEqual(fresh.req, first.id, "a new object replaced the stale one");
      }, { timeoutMs: 30_000, intervalMs: 250 });
    });

    await step("a policy on a header-selected canary rule never serves its objects to the stable rule", async () => {
      const canary = await send(address, "/shop/item", { "X-Canary": "1" });
      ok(canary.pod?.startsWith("echo-b-"), `canary from ${canary.pod}`);
      equal((await send(address, "/shop/item", { "X-Canary": "1" })).req, canary.id, "the canary is cached");
      for (let i = 0; i < 3; i++) {
        const stable = await send(address, "/shop/item");
        ok(stable.pod?.startsWith("echo-a-"), `stable from ${stable.pod}`);
        equal(stable.req, stable.id, "the stable rule passes");
        equal(xCache(stable), "", "no policy on the stable rule");
      }
    });

    await step("deleting the policy makes the rule pass again at once", async () => {
      const cached = await send(address, "/hits/a");
      equal(xCache(cached), "HIT");
      const started = performance.now();
      await client.request(`${policies}/hits`, { method: "DELETE" });
      await eventually(async () => {
        const answer = await send(address, "/hits/a");
        equal(answer.req, answer.id, "served by the origin");
      }, { timeoutMs: 10_000, intervalMs: 25 });
      const ms = Math.round(performance.now() - started);
      console.log(`policy deleted → rule passes: ${ms} ms`);
      for (let i = 0; i < 3; i++) {
        const answer = await send(address, "/hits/a");
        deepEqual([answer.req, xCache(answer)], [answer.id, ""], "every request passes");
      }
    });
  } finally {
    if (passed.includes(false) || passed.length < 7) {
      console.error(await gw.readOperatorLog());
    }
  }
});

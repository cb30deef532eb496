/**
 * End to end on the local cluster: what a user sees when the gateway pods reject what the operator wrote (a user VCL
 * that does not compile or whose `vcl_init` fails, a CachePolicy whose bypass regex ghost cannot compile, a route
 * ghost skips, a TLS certificate hitch cannot use) and when routes have problems:
 * the Gateway's `Programmed` condition and the Kubernetes Events that `kubectl describe` lists, and that fixing the
 * input clears them. A flapping input does not flood Events.
 */
import { deepEqual, equal, match, ok } from "node:assert/strict";
import { clusterAvailable, eventually, kubectl, selfSignedCertificate, useCluster } from "../cluster/mod.ts";
import {
  apply,
  applyApp,
  applyVclParameters,
  echoApp,
  get,
  GW_API,
  HTTP_AND_HTTPS_LISTENERS,
  prefix,
  route,
  startE2eGateway,
  tlsSecret,
} from "./_e2e_gateway.ts";

/**
 * A user VCL; `syntax` adds a syntax error on the user's line 3, `init` a `vcl_init` that fails (the VCL compiles,
 * the child refuses to load it).
 */
function userVcl(namespace: string, version: string, fault?: "syntax" | "init"): Record<string, unknown> {
  const deliver = `sub vcl_deliver {\n    set resp.http.X-E2E-VCL = "${version}";\n`;
  const vcl = fault === "syntax"
    ? `${deliver}    if (req.url ~ "x" {\n    }\n}\n`
    : fault === "init"
    ? `${deliver}}\nsub vcl_init {\n    return (fail);\n}\n`
    : `${deliver}}\n`;
  return { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "user-vcl", namespace }, data: { "user.vcl": vcl } };
}

interface EventV1 {
  metadata: { name: string };
  type: string;
  reason: string;
  note: string;
  reportingController: string;
  eventTime: string;
  regarding: { kind: string; name: string };
  series?: { count: number; lastObservedTime: string };
}

interface Condition {
  type: string;
  status: string;
  reason: string;
  message: string;
}

Deno.test({
  name: "data-plane rejections and route problems reach the Gateway's status and Events, and clear once fixed",
  ignore: !clusterAvailable(),
}, async (t) => {
  const certDir = await Deno.makeTempDir({ prefix: "lacquer-e2e-certs-" });
  const good = await selfSignedCertificate(certDir, "good", ["secure.example.com"]);
  const other = await selfSignedCertificate(certDir, "other", ["secure.example.com"]);
  await using gw = await startE2eGateway({
    parametersRef: "params",
    // the class lets the Gateway's own parameters set this
    allowedGatewayOverrides: ["vcl"],
    listeners: HTTP_AND_HTTPS_LISTENERS,
    setup: async ({ client, name }) => {
      await applyApp(client, echoApp(name, "echo", 1));
      await apply(client, `/api/v1/namespaces/${name}/configmaps`, userVcl(name, "v1"));
      await apply(client, `/api/v1/namespaces/${name}/secrets`, tlsSecret(name, good));
      await applyVclParameters(client, name);
    },
  });
  const { client, address } = gw;
  const ns = gw.ns.name;
  const cluster = await useCluster();
  const routes = `${GW_API}/namespaces/${ns}/httproutes`;
  const programmed = async () => {
    const object = await client.request<{ status?: { conditions?: Condition[] } }>(
      `${GW_API}/namespaces/${ns}/gateways/gw`,
    );
    return object.status?.conditions?.find((c) => c.type === "Programmed");
  };
  const events = async (kind: string, name: string) =>
    (await client.request<{ items: EventV1[] }>(`/apis/events.k8s.io/v1/namespaces/${ns}/events`)).items
      .filter((e) => e.regarding.kind === kind && e.regarding.name === name);
  const latest = (list: EventV1[]) =>
    list.reduce<EventV1 | undefined>((a, b) => {
      const at = (e: EventV1) => e.series?.lastObservedTime ?? e.eventTime;
      return !a || at(b) >= at(a) ? b : a;
    }, undefined);
  /** Waits until Programmed is True again and its message no longer mentions `gone`. */
  const programmedWithout = (gone: RegExp) =>
    eventually(async () => {
      const c = await programmed();
      equal(c?.status, "True", JSON.stringify(c));
      ok(!gone.test(c!.message), c!.message);
    }, { timeoutMs: 60_000 });
  /** Applies a faulty user VCL and waits until Programmed is False with reason Invalid; returns the condition. */
  const rejectedVcl = async (version: string, fault: "syntax" | "init") => {
    await apply(client, `/api/v1/namespaces/${ns}/configmaps`, userVcl(ns, version, fault));
    const condition = await eventually(async () => {
      const c = await programmed();
      equal(c?.reason, "Invalid", JSON.stringify(c));
      return c!;
    }, { timeoutMs: 60_000 });
    equal(condition.status, "False");
    return condition;
  };
  const serving = async () => equal((await get(address, "/one/x")).status, 200);
  let failed = true;
  try {
    await apply(
      client,
      routes,
      route(ns, "r1", [{ matches: prefix("/one"), backendRefs: [{ name: "echo", port: 8080 }] }]),
    );
    await eventually(serving);
    const goodEvents = await eventually(async () => {
      const list = await events("Gateway", "gw");
      ok(list.some((e) => e.type === "Normal" && e.reason === "Programmed"), JSON.stringify(list));
      return list;
    });
    equal(goodEvents[0].reportingController, "lacquer.dev/gateway-controller");

    await t.step(
      "a user VCL that does not compile: Programmed says which pod, which hash, and the user's line",
      async () => {
        const condition = await rejectedVcl("v2", "syntax");
        match(condition.message, /main\.vcl was rejected; pods that had a VCL keep serving it/);
        match(condition.message, /your VCL: ConfigMap "[^"]+\/user-vcl" key "user\.vcl"/);
        match(condition.message, /1 of 1 gateway pods \(gw-[a-z0-9-]+\), configuration sha256:[0-9a-f]{12}:/);
        match(condition.message, /Expected '\)' got '\{'/);
        match(condition.message, /\(your VCL line 3, position \d+\)/);
        ok(!/program line/.test(condition.message), condition.message);
        // The previous VCL keeps serving.
        await serving();
        equal((await get(address, "/one/x")).headers.get("x-e2e-vcl"), "v1");
        // The Events a user sees, on the Gateway and on the GatewayParameters that carry the VCL.
        await eventually(async () => {
          const warning = (await events("Gateway", "gw")).find((e) => e.reason === "VCLRejected");
          equal(warning?.type, "Warning");
          match(warning!.note, /your VCL line 3/);
          const params = (await events("GatewayParameters", "params")).find((e) => e.reason === "VCLRejected");
          match(params?.note ?? "", /^Gateway [^ ]+\/gw: main\.vcl was rejected/);
        });
        const described = await kubectl(cluster, ["describe", "gateway", "gw", "-n", ns]);
        match(described, /Warning\s+VCLRejected\s+.*lacquer\.dev\/gateway-controller\s+main\.vcl was rejected/);
      },
    );

    await t.step("fixing the VCL clears the condition, and the last Event says Programmed", async () => {
      await apply(client, `/api/v1/namespaces/${ns}/configmaps`, userVcl(ns, "v3"));
      await programmedWithout(/rejected/);
      // A repeat of the first Programmed Event: its series is written at once, its last write being long ago.
      await eventually(async () => equal(latest(await events("Gateway", "gw"))?.reason, "Programmed"), {
        timeoutMs: 60_000,
      });
      equal((await get(address, "/one/x")).headers.get("x-e2e-vcl"), "v3");
    });

    await t.step(
      "a user VCL whose vcl_init fails: Programmed says VCLInitFailed, the old VCL serves, fixing clears",
      async () => {
        const condition = await rejectedVcl("v4", "init");
        match(condition.message, /main\.vcl failed in vcl_init; pods that had a VCL keep serving it/);
        match(condition.message, /your VCL: ConfigMap "[^"]+\/user-vcl" key "user\.vcl"/);
        match(condition.message, /1 of 1 gateway pods \(gw-[a-z0-9-]+\), configuration sha256:[0-9a-f]{12}:/);
        match(condition.message, /Failed initialization/);
        // The VCL that loaded last keeps serving.
        await serving();
        equal((await get(address, "/one/x")).headers.get("x-e2e-vcl"), "v3");
        await eventually(async () => {
          const warning = (await events("Gateway", "gw")).find((e) => e.reason === "VCLInitFailed");
          equal(warning?.type, "Warning");
          match(warning!.note, /main\.vcl failed in vcl_init/);
          const params = (await events("GatewayParameters", "params")).find((e) => e.reason === "VCLInitFailed");
          equal(params?.type, "Warning");
          match(params!.note, /^Gateway [^ ]+\/gw: main\.vcl failed in vcl_init/);
        });
        await apply(client, `/api/v1/namespaces/${ns}/configmaps`, userVcl(ns, "v3"));
        await programmedWithout(/vcl_init/);
        await eventually(async () => equal(latest(await events("Gateway", "gw"))?.reason, "Programmed"), {
          timeoutMs: 60_000,
        });
      },
    );

    await t.step(
      "a CachePolicy whose bypass regex ghost cannot compile: the rules it covers are served uncached and the user is told",
      async () => {
        const policies = `/apis/lacquer.dev/v1alpha1/namespaces/${ns}/cachepolicies`;
        const cachePolicy = (valueRegex: string) => ({
          apiVersion: "lacquer.dev/v1alpha1",
          kind: "CachePolicy",
          metadata: { name: "cached", namespace: ns },
          spec: {
            targetRefs: [{ group: "gateway.networking.k8s.io", kind: "HTTPRoute", name: "cached" }],
            ttl: { default: "5m" },
            debugHeaders: true,
            // Valid syntax, which the operator checks; too big for ghost's compiled-size limit, which it does not.
            bypass: [{ header: { name: "X-Preview", valueRegex } }],
          },
        });
        await apply(
          client,
          routes,
          route(ns, "cached", [{ matches: prefix("/cached"), backendRefs: [{ name: "echo", port: 8080 }] }]),
        );
        await eventually(async () => equal((await get(address, "/cached/x")).status, 200));
        await apply(client, policies, cachePolicy("[a-z]{100000}"));
        await eventually(async () => {
          const c = await programmed();
          equal(c?.status, "True", JSON.stringify(c));
          match(c!.message, /ghost skipped routes \(not served\) or their cache settings .*: 1 of 1 gateway pods/);
          // ghost counts a rule once per vhost it is loaded under.
          match(c!.message, /\n0 route\(s\) skipped, \d+ served without caching\n/);
          match(c!.message, /\/cached rule 0: cache\.bypass\[0\]\.valueRegex "\[a-z\]\{100000\}" is not a valid/);
        }, { timeoutMs: 60_000 });
        await eventually(async () => {
          const warning = (await events("Gateway", "gw")).find((e) => e.reason === "RoutesSkipped");
          match(warning?.note ?? "", /cached rule 0: cache\.bypass\[0\]\.valueRegex/);
          const onRoute = (await events("HTTPRoute", "cached")).find((e) => e.reason === "RuleSkipped");
          match(
            onRoute?.note ?? "",
            /^Gateway [^ ]+\/gw serves rule 0 without caching: cache\.bypass\[0\]\.valueRegex/,
          );
          // The policy's owner sees it on the policy, which the operator's checks accepted.
          const onPolicy = (await events("CachePolicy", "cached")).find((e) => e.reason === "RuleSkipped");
          equal(onPolicy?.type, "Warning");
          match(
            onPolicy!.note,
            /^Gateway [^ ]+\/gw serves rule 0 of HTTPRoute [^ ]+\/cached without caching: cache\.bypass\[0\]\.valueRegex "\[a-z\]\{100000\}" is not a valid regular expression$/,
          );
        });
        // The rule keeps its traffic, uncached: with the policy's settings it would carry X-Cache (debugHeaders).
        for (let i = 0; i < 2; i++) {
          const answer = await get(address, "/cached/x");
          deepEqual([answer.status, answer.headers.get("x-cache")], [200, null]);
        }
        await serving();
        await apply(client, policies, cachePolicy("^1$"));
        await eventually(async () => {
          const answer = await get(address, "/cached/x");
          deepEqual([answer.status, answer.headers.get("x-cache") !== null], [200, true]);
        }, { timeoutMs: 60_000 });
        await programmedWithout(/skipped/);
      },
    );

    await t.step(
      "a route ghost skips: Programmed stays True and names it, a Warning says so, deleting it clears",
      async () => {
        // Accepted by the operator's regex check, too big for ghost's compiled-size limit.
        await apply(
          client,
          routes,
          route(ns, "huge", [{
            matches: [{ path: { type: "RegularExpression", value: "/huge/[a-z]{100000}" } }],
            backendRefs: [{ name: "echo", port: 8080 }],
          }]),
        );
        await eventually(async () => {
          const c = await programmed();
          equal(c?.status, "True", JSON.stringify(c));
          match(c!.message, /ghost skipped routes \(not served\).*: 1 of 1 gateway pods/);
          match(c!.message, /\n\d+ route\(s\) skipped\n/);
          match(c!.message, /\/huge rule 0: /);
        }, { timeoutMs: 60_000 });
        await eventually(async () => {
          // The newest: an earlier step's skipped rules have an Event of their own.
          const warning = latest((await events("Gateway", "gw")).filter((e) => e.reason === "RoutesSkipped"));
          match(warning?.note ?? "", /huge rule 0/);
          // The route's owner sees it on the route.
          const onRoute = (await events("HTTPRoute", "huge")).find((e) => e.reason === "RuleSkipped");
          match(onRoute?.note ?? "", /^Gateway [^ ]+\/gw does not serve rule 0: /);
        });
        await serving();
        await client.request(`${routes}/huge`, { method: "DELETE" });
        await programmedWithout(/skipped/);
      },
    );

    await t.step(
      "a TLS certificate whose key does not match: the Gateway says so, a Warning too, fixed clears",
      async () => {
        await apply(client, `/api/v1/namespaces/${ns}/secrets`, tlsSecret(ns, { cert: good.cert, key: other.key }));
        await eventually(async () => {
          const c = await programmed();
          match(c?.message ?? "", /a TLS certificate bundle is unusable and was left out/);
          match(c!.message, /port-443[.a-z]*\.pem: its first certificate does not belong to its private key/);
          ok(!/BEGIN|PRIVATE KEY-----/.test(c!.message), "no key material");
        }, { timeoutMs: 60_000 });
        await eventually(async () => {
          const warning = (await events("Gateway", "gw")).find((e) => e.reason === "TLSBundleUnusable");
          match(warning?.note ?? "", /does not belong to its private key/);
        });
        await apply(client, `/api/v1/namespaces/${ns}/secrets`, tlsSecret(ns, good));
        await programmedWithout(/TLS/);
      },
    );

    await t.step(
      "route problems are Events on the route: backend not found, cross-namespace refused, fixed",
      async () => {
        const to = (name: string, namespace?: string) => ({ name, port: 8080, ...(namespace ? { namespace } : {}) });
        await apply(client, routes, route(ns, "r2", [{ matches: prefix("/two"), backendRefs: [to("missing")] }]));
        await apply(
          client,
          routes,
          route(ns, "r3", [{ matches: prefix("/three"), backendRefs: [to("echo", "default")] }]),
        );
        await eventually(async () => {
          const missing = (await events("HTTPRoute", "r2")).find((e) => e.type === "Warning");
          equal(missing?.reason, "BackendNotFound");
          match(missing!.note, /^Gateway [^ ]+\/gw: .*missing/);
          const refused = (await events("HTTPRoute", "r3")).find((e) => e.type === "Warning");
          equal(refused?.reason, "RefNotPermitted");
        });
        await apply(client, routes, route(ns, "r2", [{ matches: prefix("/two"), backendRefs: [to("echo")] }]));
        await eventually(async () => equal(latest(await events("HTTPRoute", "r2"))?.reason, "Accepted"));
        const described = await kubectl(cluster, ["describe", "httproute", "r2", "-n", ns]);
        match(described, /Warning\s+BackendNotFound\s+/);
        match(described, /Normal\s+Accepted\s+.*Accepted by Gateway/);
      },
    );

    await t.step("a flapping VCL does not flood Events: repeats are one Event's series", async () => {
      const before = (await events("Gateway", "gw")).length;
      for (let i = 0; i < 3; i++) {
        await apply(client, `/api/v1/namespaces/${ns}/configmaps`, userVcl(ns, "v2", "syntax"));
        await eventually(async () => equal((await programmed())?.reason, "Invalid"), { timeoutMs: 60_000 });
        await apply(client, `/api/v1/namespaces/${ns}/configmaps`, userVcl(ns, "v3"));
        await eventually(async () => equal((await programmed())?.status, "True"), { timeoutMs: 60_000 });
      }
      // Six transitions, and at most one new Event object per reason (none when the earlier ones are recent
      // enough to be repeated): repeats join the series of the Event they repeat.
      const list = await events("Gateway", "gw");
      ok(list.length <= before + 2, JSON.stringify(list.map((e) => e.reason)));
      // The counts are written within the flush interval (30 s).
      await eventually(async () => {
        const rejected = latest((await events("Gateway", "gw")).filter((e) => e.reason === "VCLRejected"));
        ok((rejected?.series?.count ?? 1) >= 3, JSON.stringify(rejected?.series));
      }, { timeoutMs: 60_000, intervalMs: 1000 });
    });
    failed = false;
  } finally {
    if (failed) console.error(await gw.readOperatorLog());
    await Deno.remove(certDir, { recursive: true });
  }
});

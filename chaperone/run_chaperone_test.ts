import { deepStrictEqual, equal, match, ok } from "node:assert/strict";
import { inlineBackends, parseGhostJson } from "../ghost/contract/mod.ts";
import { contentHash } from "../internal/content_hash.ts";
import {
  APPLIED_ROUTING_ANNOTATION,
  APPLIED_VCL_ANNOTATION,
  MAIN_VCL_KEY,
  ROUTING_JSON_GZ_KEY,
  ROUTING_JSON_KEY,
  ROUTING_PUSH_PATH,
  ROUTING_SEQUENCE_ANNOTATION,
} from "../internal/names.ts";
import { clusterAvailable, createTestNamespace, PAUSE_IMAGE, useCluster } from "../tests/cluster/mod.ts";
import {
  applyObject as apply,
  collections,
  getText as get,
  startLoad,
  startTestChaperone,
  testConfigMap,
  testEndpointSlice as slice,
  testRoutingJson,
  testService,
  withTestChaperone,
} from "./_test_cluster_fixtures.ts";
import { eventually } from "../tests/cluster/eventually.ts";
import { DEBIAN_VMOD_DIR, freePort, ghostTestVcl, ghostVmodDir, stageGhostVmod } from "./_test_varnish.ts";

const ignore = !clusterAvailable();
/** Deno.test options of every test here: sanitizers off, as in all tests against the local cluster. */
const unsanitized = { sanitizeOps: false, sanitizeResources: false };

/** A VCL that stands in for ghost: it answers the reload path on the ghost socket and `body` elsewhere. */
function fakeGhostVcl(body: string): string {
  return `vcl 4.1;
backend default none;
sub vcl_recv {
  if (local.socket == "ghost" && req.url == "/.varnish-ghost/reload") {
    return (synth(200, "reloaded"));
  }
  return (synth(200, "${body}"));
}
sub vcl_synth {
  set resp.http.content-type = "text/plain";
  set resp.body = resp.reason;
  return (deliver);
}
`;
}

async function gzipBase64(text: string): Promise<string> {
  const stream = new Blob([text]).stream().pipeThrough(new CompressionStream("gzip"));
  const bytes = new Uint8Array(await new Response(stream).arrayBuffer());
  return btoa(String.fromCharCode(...bytes));
}

Deno.test({
  name: "chaperone applies ConfigMap and EndpointSlice changes from the API server to a real varnishd",
  ignore,
  ...unsanitized,
}, async (t) => {
  const cluster = await useCluster();
  await using ns = await createTestNamespace(cluster);
  const workDir = await Deno.makeTempDir({ prefix: "lacquer-chaperone-" });
  const httpPort = freePort();
  const { configMaps: CM, services, slices: SLICES } = collections(ns);
  await apply(ns, services, "echo", testService());
  await apply(ns, SLICES, "echo-1", slice("echo-1", "echo", ["10.244.200.1"]));
  await apply(
    ns,
    CM,
    "gw-lacquer",
    testConfigMap({ [MAIN_VCL_KEY]: fakeGhostVcl("v1"), [ROUTING_JSON_KEY]: testRoutingJson(ns.name, "echo") }),
  );
  await ns.client.request(`/api/v1/namespaces/${ns.name}/pods`, {
    method: "POST",
    body: {
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: "gw" },
      spec: { containers: [{ name: "c", image: PAUSE_IMAGE }] },
    },
  });
  // varnishstat behind a wrapper that counts its runs
  const varnishstat = `${workDir}/varnishstat`;
  await Deno.writeTextFile(varnishstat, `#!/bin/sh\necho run >> "$0.runs"\nexec varnishstat "$@"\n`, { mode: 0o755 });
  const varnishstatRuns = async () =>
    (await Deno.readTextFile(`${varnishstat}.runs`).catch(() => "")).split("\n").length - 1;
  const config = {
    podName: "gw",
    listen: [`port-http=127.0.0.1:${httpPort}`],
    adminTokenFile: `${workDir}/admin-token`,
    varnishstat,
    // well above the 2 s quiet period, so the drain ends because requests stopped, not at its bound
    drainSeconds: "60",
  };
  await withTestChaperone(ns, { workDir, level: "debug", config }, async ({ chaperone, lines, accessLines }) => {
    const admin = async (path: string, init?: RequestInit) => {
      const response = await chaperone.handler(new Request(`http://admin${path}`, init));
      return { status: response.status, body: await response.text() };
    };
    // groups as ghost resolves them: each naming a `backends` entry with its endpoints
    const ghostJson = () => inlineBackends(parseGhostJson(Deno.readTextFileSync(`${workDir}/ghost.json`)));
    const endpointsOf = () => ghostJson().vhosts["*"].routes[0].backends[0].endpoints;
    const annotations = async () =>
      (await ns.client.request<{ metadata: { annotations?: Record<string, string> } }>(
        `/api/v1/namespaces/${ns.name}/pods/gw`,
      )).metadata.annotations ?? {};
    await t.step("starts, serves the VCL, writes ghost.json and publishes the applied hashes", async () => {
      await eventually(async () => equal((await admin("/readyz")).status, 200), { timeoutMs: 30_000 });
      equal(await get(httpPort), "200 v1");
      deepStrictEqual(endpointsOf(), [{ address: "10.244.200.1", port: 3000 }]);
      equal((await admin("/healthz")).status, 200);
      // The access log is on by default (the fake VCL answers itself: no ghost decision in the line).
      await eventually(async () => {
        await get(httpPort); // varnishncsa may attach to the log after the first requests
        ok(accessLines.some((l) => /"msg":"access".*"path":"\/".*"status":200/.test(l)));
      });
      await eventually(async () => {
        const a = await annotations();
        equal(a[APPLIED_VCL_ANNOTATION], contentHash(fakeGhostVcl("v1")));
        equal(a[APPLIED_ROUTING_ANNOTATION], contentHash(testRoutingJson(ns.name, "echo")));
      });
    });
    await t.step("concurrent scrapes share one varnishstat run, concurrent probes one CLI ping", async () => {
      await new Promise((resolve) => setTimeout(resolve, 1100)); // past the admin cache of earlier requests
      const cli = chaperone.supervisor.cli;
      const ping = cli.ping.bind(cli);
      let pings = 0;
      cli.ping = () => (pings++, ping());
      const runs = await varnishstatRuns();
      const answers = await Promise.all([
        ...Array.from({ length: 20 }, () => admin("/metrics")),
        ...Array.from({ length: 20 }, () => admin("/healthz")),
      ]);
      cli.ping = ping;
      deepStrictEqual(answers.map((a) => a.status), Array(40).fill(200));
      match(answers[0].body, /^varnish_main_client_req/m);
      equal(await varnishstatRuns() - runs, 1);
      ok(pings <= 1, `${pings} pings`);
    });
    await t.step("an EndpointSlice change rewrites ghost.json and reloads ghost", async () => {
      const reloads = chaperone.metrics.ghostReloads.success;
      await apply(ns, SLICES, "echo-2", slice("echo-2", "echo", ["10.244.200.2"]));
      await eventually(() =>
        deepStrictEqual(endpointsOf(), [{ address: "10.244.200.1", port: 3000 }, {
          address: "10.244.200.2",
          port: 3000,
        }])
      );
      await eventually(() => ok(chaperone.metrics.ghostReloads.success > reloads));
      await ns.client.request(`/apis/discovery.k8s.io/v1/namespaces/${ns.name}/endpointslices/echo-1`, {
        method: "DELETE",
      });
      await eventually(() => deepStrictEqual(endpointsOf(), [{ address: "10.244.200.2", port: 3000 }]));
    });
    await t.step("a main.vcl change is loaded without a restart", async () => {
      const starts = chaperone.supervisor.starts;
      await apply(
        ns,
        CM,
        "gw-lacquer",
        testConfigMap({ [MAIN_VCL_KEY]: fakeGhostVcl("v2"), [ROUTING_JSON_KEY]: testRoutingJson(ns.name, "echo") }),
      );
      await eventually(async () => equal(await get(httpPort), "200 v2"));
      equal(chaperone.supervisor.starts, starts);
      await eventually(async () =>
        equal((await annotations())[APPLIED_VCL_ANNOTATION], contentHash(fakeGhostVcl("v2")))
      );
    });
    await t.step("a broken VCL and a broken routing.json keep the previous ones serving", async () => {
      const before = Deno.readTextFileSync(`${workDir}/ghost.json`);
      await apply(
        ns,
        CM,
        "gw-lacquer",
        testConfigMap({ [MAIN_VCL_KEY]: "vcl 4.1;\nsub vcl_recv { oops; }\n", [ROUTING_JSON_KEY]: '{"version": 1}' }),
      );
      await eventually(async () => {
        const readyz = JSON.parse((await admin("/readyz")).body);
        match(readyz.vclError, /oops/);
        match(readyz.routingError, /vhosts/);
      });
      equal(await get(httpPort), "200 v2");
      equal(Deno.readTextFileSync(`${workDir}/ghost.json`), before);
      equal((await admin("/readyz")).status, 200);
      match((await admin("/metrics")).body, /lacquer_chaperone_vcl_reloads_total\{result="failure"\} 1/);
      equal((await annotations())[APPLIED_VCL_ANNOTATION], contentHash(fakeGhostVcl("v2")));
    });
    await t.step("a gzip'd routing.json in binaryData is read", async () => {
      const routing = testRoutingJson(ns.name, "other");
      await apply(
        ns,
        CM,
        "gw-lacquer",
        testConfigMap({ [MAIN_VCL_KEY]: fakeGhostVcl("v3") }, { [ROUTING_JSON_GZ_KEY]: await gzipBase64(routing) }),
      );
      await eventually(async () => equal(await get(httpPort), "200 v3"));
      await eventually(() => match(ghostJson().vhosts["*"].routes[0].backends[0].error ?? "", /not found/));
      await eventually(async () => equal((await annotations())[APPLIED_ROUTING_ANNOTATION], contentHash(routing)));
    });
    await t.step("EndpointSlices of a backend in another namespace are watched too", async () => {
      await using other = await createTestNamespace(cluster);
      const theirs = collections(other);
      await apply(other, theirs.services, "remote", testService());
      await apply(other, theirs.slices, "remote-1", slice("remote-1", "remote", ["10.244.201.1"]));
      await apply(
        ns,
        CM,
        "gw-lacquer",
        testConfigMap({
          [MAIN_VCL_KEY]: fakeGhostVcl("v3"),
          [ROUTING_JSON_KEY]: testRoutingJson(ns.name, "echo", [`${other.name}/remote`]),
        }),
      );
      const remoteEndpoints = () => ghostJson().vhosts["*"].routes[0].backends[1].endpoints;
      await eventually(() => deepStrictEqual(remoteEndpoints(), [{ address: "10.244.201.1", port: 3000 }]));
      // a change there reaches ghost.json: the namespace is watched, not only listed once
      await apply(other, theirs.slices, "remote-1", slice("remote-1", "remote", ["10.244.201.2"]));
      await eventually(() => deepStrictEqual(remoteEndpoints(), [{ address: "10.244.201.2", port: 3000 }]));
    });
    await t.step("a routing.json of another version is refused while the current one keeps serving", async () => {
      const before = Deno.readTextFileSync(`${workDir}/ghost.json`);
      const applied = (await annotations())[APPLIED_ROUTING_ANNOTATION];
      await apply(
        ns,
        CM,
        "gw-lacquer",
        testConfigMap({
          [MAIN_VCL_KEY]: fakeGhostVcl("v3"),
          [ROUTING_JSON_KEY]: testRoutingJson(ns.name, "echo", [], 2),
        }),
      );
      await eventually(async () => match(JSON.parse((await admin("/readyz")).body).routingError, /version/));
      equal(Deno.readTextFileSync(`${workDir}/ghost.json`), before);
      equal((await annotations())[APPLIED_ROUTING_ANNOTATION], applied);
      equal(await get(httpPort), "200 v3");
    });
    await t.step("a killed varnishd is restarted with the current VCL", async () => {
      const pid = chaperone.supervisor.pid;
      chaperone.supervisor.signal("SIGKILL");
      await eventually(async () => {
        ok(chaperone.supervisor.pid !== pid && chaperone.supervisor.starts === 2);
        equal(await get(httpPort), "200 v3");
        equal((await admin("/readyz")).status, 200);
      }, { timeoutMs: 30_000 });
    });
    await t.step("/metrics includes Varnish counters", async () => {
      match((await admin("/metrics")).body, /^varnish_main_client_req \d+$/m);
    });
    await t.step(
      "a pushed generation is served before its ConfigMap is written, and answered once applied; the newer watched one after",
      async () => {
        const routing = testRoutingJson(ns.name, "echo");
        const push = (sequence: number, body: string, token = "push-token-1") =>
          admin(ROUTING_PUSH_PATH, {
            method: "POST",
            headers: { authorization: `Bearer ${token}` },
            body: JSON.stringify({
              sequence,
              configMap: { data: { [MAIN_VCL_KEY]: fakeGhostVcl(body), [ROUTING_JSON_KEY]: routing } },
              shards: {},
            }),
          });
        equal((await push(1, "nope")).status, 401, "no token file yet");
        await Deno.writeTextFile(`${workDir}/admin-token`, "push-token-1\n");
        equal((await push(1, "nope", "wrong")).status, 401);
        const sequence = Date.now();
        // answered once applied: served from then on
        deepStrictEqual(await push(sequence, "v4"), { status: 202, body: '{"result":"taken","applied":true}\n' });
        equal(await get(httpPort), "200 v4");
        deepStrictEqual(await push(sequence, "v4b"), { status: 202, body: '{"result":"stale","applied":false}\n' });
        const bad = await admin(ROUTING_PUSH_PATH, {
          method: "POST",
          headers: { authorization: "Bearer push-token-1" },
          body: '{"sequence": -1}',
        });
        equal(bad.status, 400);
        match(bad.body, /sequence/);
        // the watch shows a newer generation: it is followed again, and an older push is refused
        await apply(ns, CM, "gw-lacquer", {
          ...testConfigMap({ [MAIN_VCL_KEY]: fakeGhostVcl("v5"), [ROUTING_JSON_KEY]: routing }),
          metadata: { annotations: { [ROUTING_SEQUENCE_ANNOTATION]: String(sequence + 1) } },
        });
        await eventually(async () => equal(await get(httpPort), "200 v5"));
        deepStrictEqual(await push(sequence + 1, "v6"), { status: 202, body: '{"result":"stale","applied":false}\n' });
        equal(await get(httpPort), "200 v5");
        match((await admin("/metrics")).body, /lacquer_chaperone_routing_pushes_total\{result="stale"\} 2/);
        await Deno.remove(`${workDir}/admin-token`);
      },
    );
    await t.step("/drain drains (readiness 503, still serving) and ends in exit 0 once requests stop", async () => {
      // SIGTERM takes the same path (chaperone_process_test.ts sends it to the real process).
      const drain = { method: "POST", headers: { authorization: "Bearer drain-token-123" } };
      equal((await admin("/drain", drain)).status, 401, "no token file");
      await Deno.writeTextFile(`${workDir}/admin-token`, "drain-token-123\n");
      equal(
        (await admin("/drain", { method: "POST", headers: { authorization: "Bearer drain-token-123" } })).status,
        202,
      );
      await eventually(async () => equal((await admin("/readyz")).status, 503));
      match(await get(httpPort), /^200 v\d+$/);
      let timer: ReturnType<typeof setTimeout> | undefined;
      const bound = new Promise((_, reject) =>
        timer = setTimeout(() => reject(new Error("no exit after /drain")), 30_000)
      );
      equal(await Promise.race([chaperone.exit, bound]), 0);
      clearTimeout(timer);
      const drained = lines.map((l) => JSON.parse(l)).filter((l) => l.msg === "Drained");
      deepStrictEqual(drained.map((l) => l.reason), ["quiet"]);
    });
  });
});

Deno.test({
  name: "chaperone loses no request during 100 VCL reloads and 100 endpoint changes under continuous load",
  ignore: ignore || ghostVmodDir() === undefined,
  ...unsanitized,
}, async () => {
  const cluster = await useCluster();
  await using ns = await createTestNamespace(cluster);
  // real endpoints behind a real route through ghost: every answer names the endpoint that served it
  const backends = ["10.245.2.1", "10.245.2.2"];
  const workDir = await Deno.makeTempDir({ prefix: "lacquer-chaperone-" });
  const httpPort = freePort();
  const { configMaps: CM, services, slices: SLICES } = collections(ns);
  // each VCL version marks its answers, so a test can tell which VCL served them
  const vcl = (n: number) =>
    `${ghostTestVcl(`${workDir}/ghost.json`)}sub vcl_deliver {\n  set resp.http.x-vcl-version = "v${n}";\n}\n`;
  const configMap = (n: number) =>
    testConfigMap({ [MAIN_VCL_KEY]: vcl(n), [ROUTING_JSON_KEY]: testRoutingJson(ns.name, "echo") });
  const endpoint = (n: number) => backends[n % 2];
  await apply(ns, services, "echo", testService());
  await apply(ns, SLICES, "echo-1", slice("echo-1", "echo", [endpoint(0)]));
  await apply(ns, CM, "gw-lacquer", configMap(0));
  const served = async () => {
    const response = await fetch(`http://127.0.0.1:${httpPort}/`);
    return `${response.status} ${response.headers.get("x-vcl-version")} ${await response.text()}`;
  };
  const vmodPath = `${await stageGhostVmod(workDir)}:${DEBIAN_VMOD_DIR}`;
  const config = { listen: [`port-http=127.0.0.1:${httpPort}`], vmodPath };
  await withTestChaperone(ns, { workDir, backends, config }, async ({ chaperone }) => {
    await eventually(async () => equal(await served(), `200 v0 ${endpoint(0)}`), { timeoutMs: 30_000 });
    const load = startLoad(httpPort, 8, (answer) => backends.some((b) => answer === `200 ${b}`));
    const vclBefore = chaperone.metrics.vclReloads.success;
    const ghostBefore = chaperone.metrics.ghostReloads.success;
    for (let i = 1; i <= 100; i++) {
      await apply(ns, CM, "gw-lacquer", configMap(i));
      await apply(ns, SLICES, "echo-1", slice("echo-1", "echo", [endpoint(i)]));
      // Wait until this VCL serves from this endpoint, so that each change is a reload of its own rather than one
      // coalesced burst.
      await eventually(async () => equal(await served(), `200 v${i} ${endpoint(i)}`));
    }
    await load.stop();
    equal(load.stats.failed, 0, `failed requests: ${load.stats.samples.join(", ")}`);
    ok(load.stats.ok > 1000, `only ${load.stats.ok} requests were sent`);
    // the counter moves once the reload has finished (old VCLs discarded), just after v100 starts serving
    await eventually(() => equal(chaperone.metrics.vclReloads.success - vclBefore, 100));
    ok(chaperone.metrics.ghostReloads.success - ghostBefore >= 100);
  });
});

Deno.test({
  name: "chaperone works with only the RBAC it documents (ConfigMaps, Services, EndpointSlices, own Pod)",
  ignore,
  ...unsanitized,
}, async () => {
  const cluster = await useCluster();
  await using ns = await createTestNamespace(cluster);
  const workDir = await Deno.makeTempDir({ prefix: "lacquer-rbac-" });
  const base = `/api/v1/namespaces/${ns.name}`;
  const post = (path: string, body: unknown) => ns.client.request(path, { method: "POST", body });
  await post(`${base}/serviceaccounts`, { metadata: { name: "gw-lacquer" } });
  await post(`/apis/rbac.authorization.k8s.io/v1/namespaces/${ns.name}/roles`, {
    metadata: { name: "gw-lacquer" },
    rules: [
      { apiGroups: [""], resources: ["configmaps"], resourceNames: ["gw-lacquer"], verbs: ["get", "list", "watch"] },
      // the watch of the routing.json shards, by label
      { apiGroups: [""], resources: ["configmaps"], verbs: ["list", "watch"] },
      { apiGroups: [""], resources: ["pods"], verbs: ["get", "patch"] },
      { apiGroups: [""], resources: ["services"], verbs: ["list", "watch"] },
      { apiGroups: ["discovery.k8s.io"], resources: ["endpointslices"], verbs: ["list", "watch"] },
    ],
  });
  await post(`/apis/rbac.authorization.k8s.io/v1/namespaces/${ns.name}/rolebindings`, {
    metadata: { name: "gw-lacquer" },
    roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "gw-lacquer" },
    subjects: [{ kind: "ServiceAccount", name: "gw-lacquer", namespace: ns.name }],
  });
  await post(`${base}/services`, { metadata: { name: "echo" }, spec: { ports: [{ name: "http", port: 80 }] } });
  await post(`${base}/configmaps`, {
    metadata: { name: "gw-lacquer" },
    data: { [MAIN_VCL_KEY]: fakeGhostVcl("rbac"), [ROUTING_JSON_KEY]: testRoutingJson(ns.name, "echo") },
  });
  await post(`${base}/configmaps`, { metadata: { name: "other" }, data: { secret: "not for the gateway" } });
  await post(`${base}/pods`, {
    metadata: { name: "gw" },
    spec: { containers: [{ name: "c", image: PAUSE_IMAGE }] },
  });
  const { status } = await ns.client.request<{ status: { token: string } }>(
    `${base}/serviceaccounts/gw-lacquer/token`,
    { method: "POST", body: { apiVersion: "authentication.k8s.io/v1", kind: "TokenRequest", spec: {} } },
  );
  const admin = Deno.readTextFileSync(cluster.kubeconfig);
  const ca = /certificate-authority-data: (\S+)/.exec(admin)?.[1];
  ok(ca, "the admin kubeconfig embeds the CA");
  const kubeconfig = `${workDir}/kubeconfig`;
  Deno.writeTextFileSync(
    kubeconfig,
    [
      "apiVersion: v1",
      "kind: Config",
      "clusters:",
      "- name: c",
      "  cluster:",
      `    server: ${cluster.server}`,
      `    certificate-authority-data: ${ca}`,
      "users:",
      "- name: gw",
      "  user:",
      `    token: ${status.token}`,
      "contexts:",
      "- name: c",
      "  context: {cluster: c, user: gw}",
      "current-context: c",
      "",
    ].join("\n"),
  );
  const httpPort = freePort();
  const config = { podName: "gw", listen: [`port-http=127.0.0.1:${httpPort}`], storage: "malloc,16m", kubeconfig };
  await withTestChaperone(ns, { workDir, config }, async ({ lines }) => {
    await eventually(async () => equal(await get(httpPort), "200 rbac"), { timeoutMs: 30_000 });
    await eventually(async () => {
      const pod = await ns.client.request<{ metadata: { annotations?: Record<string, string> } }>(`${base}/pods/gw`);
      equal(pod.metadata.annotations?.[APPLIED_VCL_ANNOTATION], contentHash(fakeGhostVcl("rbac")));
    });
    equal(lines.filter((l) => /"level":"(warn|error)"/.test(l)).length, 0, lines.join("\n"));
  });
});

Deno.test({
  name: "chaperone exits 1 once varnishd keeps failing, rather than restarting it forever",
  ignore,
  ...unsanitized,
}, async () => {
  const cluster = await useCluster();
  await using ns = await createTestNamespace(cluster);
  const workDir = await Deno.makeTempDir({ prefix: "lacquer-chaperone-" });
  const { configMaps: CM } = collections(ns);
  await apply(
    ns,
    CM,
    "gw-lacquer",
    testConfigMap({ [MAIN_VCL_KEY]: fakeGhostVcl("v1"), [ROUTING_JSON_KEY]: testRoutingJson(ns.name, "echo") }),
  );
  // varnishd refuses to start with an unknown parameter, every time
  const { chaperone, stop, lines } = await startTestChaperone(ns, {
    workDir,
    config: {
      listen: [`port-http=127.0.0.1:${freePort()}`],
      varnishdArg: ["-p", "no_such_parameter=1"],
      maxRestarts: 2,
    },
  });
  let code: number | undefined;
  void chaperone.exit.then((c) => code = c);
  try {
    await eventually(() => equal(code, 1), { timeoutMs: 60_000 });
    equal(chaperone.supervisor.starts, 2);
    ok(lines.some((l) => /"outcome":"failed"/.test(l)), lines.slice(-10).join("\n"));
  } finally {
    stop();
    await eventually(() => ok(code !== undefined), { timeoutMs: 60_000 });
    await Deno.remove(workDir, { recursive: true });
  }
});

import { deepStrictEqual, doesNotMatch, equal, match, ok } from "node:assert/strict";
import { contentHash } from "../internal/content_hash.ts";
import { parseRejections } from "../internal/data_plane_rejections.ts";
import { createLogger } from "../internal/log.ts";
import { eventually } from "../tests/cluster/eventually.ts";
import { startScratchVarnish } from "./_test_varnish.ts";
import type { GatewayConfig } from "./config_map_watcher.ts";
import type { EndpointSliceView, ServiceView } from "./kube_views.ts";
import { parseGhostDelta } from "../ghost/contract/mod.ts";
import { GhostReloadError, type GhostReloadRequest } from "./ghost_reload_client.ts";
import { indexEndpoints } from "./merge_endpoints.ts";
import { emptyMetrics } from "./metrics.ts";
import { type ConfigSource, type EndpointsSource, SyncLoop } from "./sync_loop.ts";
import { VarnishCliClient } from "./varnish_cli_client.ts";

const VCL = 'vcl 4.1;\nbackend default none;\nsub vcl_recv { return (synth(200, "synced")); }\n';

const ROUTING = JSON.stringify({
  version: 1,
  vhosts: {
    "*": {
      routes: [{
        id: { namespace: "ns", name: "r", rule: 0 },
        created: "2026-01-01T00:00:00Z",
        listeners: ["http"],
        backends: [{ weight: 1, service: { namespace: "ns", name: "svc", port: 80 } }],
      }],
    },
  },
});

const SERVICE: ServiceView = {
  metadata: { name: "svc", namespace: "ns", labels: {} },
  spec: { type: "ClusterIP", selector: {}, ports: [{ name: "", port: 80, protocol: "TCP", targetPort: 3000 }] },
};

function sliceWith(addresses: string[]): EndpointSliceView {
  return {
    metadata: { name: "svc-1", namespace: "ns", labels: { "kubernetes.io/service-name": "svc" } },
    addressType: "IPv4",
    ports: [{ name: "", port: 3000, protocol: "TCP" }],
    endpoints: addresses.map((a) => ({
      addresses: [a],
      conditions: { ready: true, serving: undefined, terminating: undefined },
    })),
  };
}

async function setup(reloadGhost: (request?: GhostReloadRequest) => Promise<unknown>) {
  const varnish = await startScratchVarnish();
  const dir = await Deno.makeTempDir();
  const cli = new VarnishCliClient({ port: varnish.cliPort, secret: varnish.secret });
  const state = {
    config: { resourceVersion: "1", mainVcl: VCL, routingJson: ROUTING } as GatewayConfig,
    slices: [sliceWith(["10.0.0.1"])],
    namespaces: [] as string[],
    /** Watched namespaces that have not listed yet. */
    listing: new Set<string>(),
    /** What each publish returns (a promise that stays pending stands for a hung Pod PATCH). */
    publishing: Promise.resolve(),
  };
  const config: ConfigSource = { current: () => Promise.resolve(state.config) };
  const endpoints: EndpointsSource = {
    setNamespaces: (ns) => state.namespaces = [...ns],
    isSynced: (ns) => (ns ?? state.namespaces).every((n) => state.namespaces.includes(n) && !state.listing.has(n)),
    index: () => indexEndpoints({ services: [SERVICE], endpointSlices: state.slices }),
  };
  const metrics = emptyMetrics();
  const published: unknown[] = [];
  const sync = new SyncLoop({
    config,
    endpoints,
    ghostJsonPath: `${dir}/ghost.json`,
    reloadGhost,
    publish: (applied) => {
      published.push(applied);
      return state.publishing;
    },
    metrics,
    log: createLogger({ level: "error" }),
    coalesceMs: 5,
    retryMs: 20,
  });
  const cleanup = async () => {
    await sync.stop();
    cli.close();
    await varnish.stop();
    await Deno.remove(dir, { recursive: true });
  };
  return { varnish, dir, cli, state, sync, metrics, published, cleanup };
}

Deno.test("SyncLoop applies VCL and ghost.json, coalesces bursts and skips identical content", async () => {
  let reloads = 0;
  const s = await setup(() => Promise.resolve({ status: "ok", reload: ++reloads }));
  try {
    await s.sync.onVarnishStarted(s.cli);
    s.sync.poke();
    await eventually(() => ok(s.sync.status().applied));
    deepStrictEqual(s.state.namespaces, ["ns"]);
    match(Deno.readTextFileSync(`${s.dir}/ghost.json`), /"10\.0\.0\.1"/);
    const response = await fetch(`http://127.0.0.1:${s.varnish.httpPort}/`);
    match(await response.text(), /synced/);
    await eventually(() =>
      deepStrictEqual(s.published.at(-1), { routing: contentHash(ROUTING), vcl: contentHash(VCL) })
    );
    deepStrictEqual(s.sync.status().ghostReport, { status: "ok", reload: reloads });

    const writes = s.metrics.ghostWrites;
    for (let i = 2; i < 52; i++) {
      s.state.slices = [sliceWith([`10.0.0.${i}`])];
      s.sync.poke();
    }
    await s.sync.idle();
    await eventually(() => match(Deno.readTextFileSync(`${s.dir}/ghost.json`), /"10\.0\.0\.51"/));
    ok(s.metrics.ghostWrites - writes <= 3, `${s.metrics.ghostWrites - writes} writes for one burst`);
    // every stage of the burst's syncs is timed: the pokes waited for the coalescing delay, ghost was reloaded
    const stages = s.metrics.syncStageSeconds;
    ok(stages.wait > 0 && stages.build > 0 && stages.write > 0 && stages.ghost > 0, JSON.stringify(stages));

    const settled = s.metrics.ghostWrites;
    const settledReloads = reloads;
    s.sync.poke();
    await s.sync.idle();
    equal(s.metrics.ghostWrites, settled);
    equal(reloads, settledReloads);
  } finally {
    await s.cleanup();
  }
});

Deno.test("SyncLoop publishes a routing.json whose ghost.json is the one ghost serves already, without a reload", async () => {
  let reloads = 0;
  const s = await setup(() => Promise.resolve({ status: "ok", reload: ++reloads }));
  try {
    await s.sync.onVarnishStarted(s.cli);
    s.sync.poke();
    await eventually(() =>
      deepStrictEqual(s.published.at(-1), { routing: contentHash(ROUTING), vcl: contentHash(VCL) })
    );
    const settled = reloads;
    // Another generation of routing.json that builds the same ghost.json (only its formatting differs here; a rule
    // name does the same): Programmed waits for this hash, so it must be published although ghost has nothing new.
    const same = JSON.stringify(JSON.parse(ROUTING), null, 1);
    s.state.config = { ...s.state.config, resourceVersion: "2", routingJson: same };
    s.sync.poke();
    await eventually(() => deepStrictEqual(s.published.at(-1), { routing: contentHash(same), vcl: contentHash(VCL) }));
    equal(reloads, settled);
    equal(s.sync.status().ghostRoutingHash, contentHash(same));
  } finally {
    await s.cleanup();
  }
});

Deno.test("SyncLoop retries a failed ghost reload with back-off and keeps the last good state", async () => {
  let calls = 0;
  const s = await setup(() => {
    calls++;
    return calls <= 3 ? Promise.reject(new Error(`reload ${calls} failed`)) : Promise.resolve("Reloaded");
  });
  try {
    await s.sync.onVarnishStarted(s.cli).catch(() => {});
    s.sync.poke();
    await eventually(() => ok(s.sync.status().applied));
    equal(s.metrics.ghostReloads.failure, 3);
    equal(s.sync.status().lastSyncError, undefined);
    // Nothing was published before ghost had the file.
    await eventually(() => ok(s.published.length >= 1));
    ok(s.published.every((p) => (p as { routing?: string }).routing !== undefined));
  } finally {
    await s.cleanup();
  }
});

Deno.test("SyncLoop keeps the previous routing.json and VCL when new ones are broken", async () => {
  const s = await setup(() => Promise.resolve("ok"));
  try {
    await s.sync.onVarnishStarted(s.cli);
    await eventually(() => ok(s.sync.status().applied));
    const before = Deno.readTextFileSync(`${s.dir}/ghost.json`);
    s.state.config = { resourceVersion: "2", mainVcl: "vcl 4.1;\nsub vcl_recv { nope; }\n", routingJson: "{" };
    s.sync.poke();
    await eventually(() => {
      match(s.sync.status().routingError ?? "", /not JSON/);
      match(s.sync.status().vclError ?? "", /nope/);
    });
    equal(Deno.readTextFileSync(`${s.dir}/ghost.json`), before);
    equal(s.sync.status().vclHash, contentHash(VCL));
    equal(s.metrics.routingRejected, 1);
    equal(s.metrics.vclReloads.failure, 1);
    // Both rejections are published, with the rejected documents' hashes and varnishd's own words.
    await eventually(() => {
      const last = s.published.at(-1) as { rejected?: string; vcl?: string };
      const rejected = parseRejections(last.rejected);
      deepStrictEqual(rejected.map((r) => [r.kind, r.hash]), [
        ["VCLRejected", contentHash(s.state.config.mainVcl!)],
        ["RoutingRejected", contentHash("{")],
      ]);
      match(rejected[0].message, /nope/);
      equal(last.vcl, contentHash(VCL), "the good VCL is still the applied one");
    });
    // The same broken input is not retried on every sync.
    s.sync.poke();
    await s.sync.idle();
    equal(s.metrics.vclReloads.failure, 1);
    // Back to the serving VCL and routing.json: nothing is rejected any more.
    s.state.config = { resourceVersion: "3", mainVcl: VCL, routingJson: ROUTING };
    s.sync.poke();
    await s.sync.idle();
    deepStrictEqual(s.sync.rejections(), []);
    await eventually(() => equal((s.published.at(-1) as { rejected?: string }).rejected, undefined));
  } finally {
    await s.cleanup();
  }
});

Deno.test("SyncLoop records a VCL whose vcl_init fails, skips it, and keeps reloading ghost", async () => {
  let reloads = 0;
  const s = await setup(() => Promise.resolve({ status: "ok", reload: ++reloads }));
  try {
    await s.sync.onVarnishStarted(s.cli);
    await eventually(() => ok(s.sync.status().applied));
    const failing = 'vcl 4.1;\nbackend default none;\nsub vcl_init { return (fail("init refused")); }\n';
    s.state.config = { resourceVersion: "2", mainVcl: failing, routingJson: ROUTING };
    s.state.slices = [sliceWith(["10.0.0.9"])];
    const before = reloads;
    s.sync.poke();
    await eventually(() => match(s.sync.status().vclError ?? "", /init refused|initialization/));
    await s.sync.idle();
    deepStrictEqual(s.sync.rejections().map((r) => [r.kind, r.hash]), [["VCLInitFailed", contentHash(failing)]]);
    // The endpoint change reached ghost although the VCL was refused, and the sync did not fail.
    ok(reloads > before, "ghost was not reloaded");
    equal(s.sync.status().lastSyncError, undefined);
    ok(s.sync.status().applied);
    equal(s.sync.status().vclHash, contentHash(VCL));
    match(await (await fetch(`http://127.0.0.1:${s.varnish.httpPort}/`)).text(), /synced/);
    // The refused VCL is remembered by hash and not loaded again; later endpoint changes still reach ghost.
    const failures = s.metrics.vclReloads.failure;
    s.state.slices = [sliceWith(["10.0.0.10"])];
    const again = reloads;
    s.sync.poke();
    await s.sync.idle();
    equal(s.metrics.vclReloads.failure, failures);
    ok(reloads > again);
    match(Deno.readTextFileSync(`${s.dir}/ghost.json`), /"10\.0\.0\.10"/);
  } finally {
    await s.cleanup();
  }
});

Deno.test("SyncLoop keeps applying endpoint changes while a new backend namespace is still listing", async () => {
  const s = await setup(() => Promise.resolve("ok"));
  try {
    await s.sync.onVarnishStarted(s.cli);
    s.sync.poke();
    await eventually(() => ok(s.sync.status().applied));
    const routing = JSON.parse(ROUTING);
    routing.vhosts["*"].routes.push({
      id: { namespace: "ns", name: "r2", rule: 0 },
      created: "2026-01-01T00:00:00Z",
      listeners: ["http"],
      backends: [{ weight: 1, service: { namespace: "apps", name: "api", port: 80 } }],
    });
    const next = JSON.stringify(routing);
    s.state.listing.add("apps");
    s.state.config = { resourceVersion: "2", mainVcl: VCL, routingJson: next };
    s.sync.poke();
    await eventually(() => deepStrictEqual(s.state.namespaces, ["apps", "ns"]));
    // An endpoint change in the namespace already listed goes live; the route into "apps" waits for its list.
    s.state.slices = [sliceWith(["10.0.0.9"])];
    s.sync.poke();
    await eventually(() => match(Deno.readTextFileSync(`${s.dir}/ghost.json`), /"10\.0\.0\.9"/));
    ok(!Deno.readTextFileSync(`${s.dir}/ghost.json`).includes('"r2"'));
    await eventually(() =>
      deepStrictEqual(s.published.at(-1), { routing: contentHash(ROUTING), vcl: contentHash(VCL) })
    );

    s.state.listing.delete("apps");
    s.sync.poke();
    await eventually(() => ok(Deno.readTextFileSync(`${s.dir}/ghost.json`).includes('"r2"')));
    await eventually(() => deepStrictEqual(s.published.at(-1), { routing: contentHash(next), vcl: contentHash(VCL) }));
  } finally {
    await s.cleanup();
  }
});

Deno.test("SyncLoop reports the routes ghost skipped and the rules it serves without caching as RoutesSkipped", async () => {
  const part = (name: string, reason: string) => ({ path: "$", route: `ns/${name} rule 0`, reason });
  const s = await setup(() =>
    Promise.resolve({
      status: "ok",
      skipped: [part("bad", "invalid regular expression")],
      uncached: [part("shop", "cache.bypass[0].valueRegex is too big; the rule is served without caching")],
    })
  );
  try {
    await s.sync.onVarnishStarted(s.cli);
    await eventually(() => ok(s.sync.status().applied));
    deepStrictEqual(s.sync.rejections().map((r) => [r.kind, r.hash, r.message]), [[
      "RoutesSkipped",
      contentHash(ROUTING),
      "1 route(s) skipped, 1 served without caching\nns/bad rule 0: invalid regular expression\n" +
      "ns/shop rule 0: cache.bypass[0].valueRegex is too big; the rule is served without caching",
    ]]);
  } finally {
    await s.cleanup();
  }
});

Deno.test("SyncLoop keeps the good ghost.json on disk and stays ready when ghost refuses a new one", async () => {
  // Like ghost, the fake reads the file it is told to reload (the whole one, or the delta) and refuses one document.
  let file = "";
  let reloads = 0;
  const s = await setup(async (request) => {
    reloads++;
    if ((await Deno.readTextFile(request?.deltaBase ? `${file}.delta` : file)).includes('"10.0.0.66"')) {
      throw new GhostReloadError("Cannot reload ghost: status 500", 500, '{"status":"error","error":"refused"}\n');
    }
    return { status: "ok" };
  });
  file = `${s.dir}/ghost.json`;
  try {
    await s.sync.onVarnishStarted(s.cli);
    await eventually(() => ok(s.sync.status().applied));
    const good = Deno.readTextFileSync(file);
    s.state.slices = [sliceWith(["10.0.0.66"])];
    s.sync.poke();
    await eventually(() => match(s.sync.status().ghostError ?? "", /status 500/));
    await s.sync.idle();
    deepStrictEqual(s.sync.rejections().map((r) => [r.kind, r.hash]), [["GhostRefused", contentHash(ROUTING)]]);
    // Still ready: ghost serves the good state, and the good document is what a restart or VCL load reads.
    ok(s.sync.status().applied);
    equal(s.sync.status().lastSyncError, undefined);
    equal(Deno.readTextFileSync(file), good);
    equal(s.sync.status().ghostRoutingHash, contentHash(ROUTING));
    // The refused document is not offered again.
    const refusedReloads = reloads;
    s.sync.poke();
    await s.sync.idle();
    equal(reloads, refusedReloads);
    // A varnishd restart starts from the good document.
    await s.sync.onVarnishStarted(s.cli);
    await s.sync.idle();
    ok(s.sync.status().applied);
    equal(Deno.readTextFileSync(file), good);
    // The next good document is applied and clears the error.
    s.state.slices = [sliceWith(["10.0.0.67"])];
    s.sync.poke();
    await eventually(() => equal(s.sync.status().ghostError, undefined));
    match(Deno.readTextFileSync(file), /"10\.0\.0\.67"/);
    ok(s.sync.status().applied);
  } finally {
    await s.cleanup();
  }
});

Deno.test("SyncLoop writes ghost.json again before a VCL load, so a file corrupted behind its back is not read", async () => {
  const s = await setup(() => Promise.resolve({ status: "ok" }));
  const file = `${s.dir}/ghost.json`;
  try {
    await s.sync.onVarnishStarted(s.cli);
    await eventually(() => ok(s.sync.status().applied));
    const good = Deno.readTextFileSync(file);
    Deno.writeTextFileSync(file, '{"version": 1, "vhosts": [');
    const vcl = VCL.replace('"synced"', '"synced again"');
    s.state.config = { ...s.state.config, resourceVersion: "2", mainVcl: vcl };
    s.sync.poke();
    await s.sync.idle();
    await eventually(() =>
      deepStrictEqual(s.published.at(-1), { routing: contentHash(ROUTING), vcl: contentHash(vcl) })
    );
    match(await (await fetch(`http://127.0.0.1:${s.varnish.httpPort}/`)).text(), /synced again/);
    equal(Deno.readTextFileSync(file), good, "the new VCL's router read the chaperone's ghost.json");
  } finally {
    await s.cleanup();
  }
});

Deno.test("SyncLoop keeps syncing while publishing the applied hashes hangs, and publishes the latest after", async () => {
  const s = await setup(() => Promise.resolve("ok"));
  let release!: () => void;
  try {
    await s.sync.onVarnishStarted(s.cli);
    s.sync.poke();
    await eventually(() => ok(s.sync.status().published));
    s.state.publishing = new Promise<void>((resolve) => release = resolve);
    const vcl2 = VCL.replace("synced", "synced again");
    s.state.config = { resourceVersion: "2", mainVcl: vcl2, routingJson: ROUTING };
    s.sync.poke();
    await eventually(() => equal(s.published.length >= 2, true, "the publish of the new VCL started (and hangs)"));
    // A Pod PATCH that does not come back must not hold up endpoint changes.
    s.state.slices = [sliceWith(["10.0.0.7"])];
    s.sync.poke();
    await eventually(() => match(Deno.readTextFileSync(`${s.dir}/ghost.json`), /"10\.0\.0\.7"/));
    s.state.publishing = Promise.resolve();
    release();
    await eventually(() => deepStrictEqual(s.sync.status().published?.vcl, contentHash(vcl2)));
  } finally {
    release?.();
    await s.cleanup();
  }
});

Deno.test("SyncLoop hands ghost a delta of the vhosts that changed, writes the whole file after, and falls back to it", async () => {
  const routing = JSON.parse(ROUTING);
  routing.vhosts["a.example"] = structuredClone(routing.vhosts["*"]);
  routing.vhosts["a.example"].routes[0].backends[0].service.name = "other";
  const requests: (GhostReloadRequest | undefined)[] = [];
  let file = "";
  /** What the fake ghost read at each reload: the delta, or the whole file. */
  const read: string[] = [];
  let stale = false;
  const s = await setup(async (request) => {
    requests.push(request);
    if (request?.deltaBase && stale) throw new GhostReloadError("stale", 409, '{"status":"stale"}');
    read.push(await Deno.readTextFile(request?.deltaBase ? `${file}.delta` : file));
    return { status: "ok", revision: request?.revision };
  });
  file = `${s.dir}/ghost.json`;
  s.state.config = { resourceVersion: "1", mainVcl: VCL, routingJson: JSON.stringify(routing) };
  try {
    await s.sync.onVarnishStarted(s.cli);
    await eventually(() => ok(s.sync.status().applied));
    // the first load is whole, and names its revision
    const first = requests.at(-1)!;
    ok(first.revision !== undefined && first.deltaBase === undefined, JSON.stringify(requests));

    // An endpoint change of the Service of "*" only: ghost gets that Service port's backends entry alone, no vhost,
    // based on the revision it serves.
    s.state.slices = [sliceWith(["10.0.0.7"])];
    s.sync.poke();
    await s.sync.idle();
    const delta = requests.at(-1)!;
    equal(delta.deltaBase, first.revision);
    ok(delta.revision !== first.revision);
    const applied = JSON.parse(read.at(-1)!);
    deepStrictEqual(Object.keys(applied.vhosts), []);
    const [entry] = Object.values(applied.backends) as { endpoints: { address: string }[] }[];
    deepStrictEqual(Object.keys(applied.backends).length, 1);
    equal(entry.endpoints[0].address, "10.0.0.7");
    ok(s.sync.status().applied);
    // The whole file, what a VCL load or a restart reads, follows off the change's path: still the previous
    // document when ghost serves the new one, then the new one.
    doesNotMatch(Deno.readTextFileSync(file), /"10\.0\.0\.7"/);
    await eventually(() => match(Deno.readTextFileSync(file), /"10\.0\.0\.7"/));
    ok(Deno.readTextFileSync(file).includes('"a.example"'));

    // A route removed: its key goes as null.
    delete routing.vhosts["a.example"];
    s.state.config = { resourceVersion: "2", mainVcl: VCL, routingJson: JSON.stringify(routing) };
    s.sync.poke();
    await s.sync.idle();
    deepStrictEqual(JSON.parse(read.at(-1)!).vhosts, { "a.example": null });
    equal(requests.at(-1)!.deltaBase, delta.revision);
    equal(s.sync.status().ghostRoutingHash, contentHash(JSON.stringify(routing)));

    // every delta follows the contract's schema
    for (const [i, request] of requests.entries()) if (request?.deltaBase) parseGhostDelta(read[i]);

    // ghost serving another revision answers 409: the whole file is reloaded instead, and deltas resume after.
    stale = true;
    s.state.slices = [sliceWith(["10.0.0.8"])];
    s.sync.poke();
    await s.sync.idle();
    equal(requests.at(-1)!.deltaBase, undefined);
    match(read.at(-1)!, /^\{"version":2,.*"10\.0\.0\.8"/s);
    stale = false;
    s.state.slices = [sliceWith(["10.0.0.9"])];
    s.sync.poke();
    await s.sync.idle();
    equal(requests.at(-1)!.deltaBase, requests.at(-2)!.revision);
    await eventually(() => match(Deno.readTextFileSync(file), /"10\.0\.0\.9"/));
    ok(s.sync.status().applied);
    equal(s.sync.status().lastSyncError, undefined);
  } finally {
    await s.cleanup();
  }
});

Deno.test("SyncLoop keeps the document ghost serves after a delta when ghost refuses the next one, and deltas on from it", async () => {
  const routing = JSON.parse(ROUTING);
  const requests: (GhostReloadRequest | undefined)[] = [];
  let file = "";
  const read: string[] = [];
  const s = await setup(async (request) => {
    requests.push(request);
    const text = await Deno.readTextFile(request?.deltaBase ? `${file}.delta` : file);
    read.push(text);
    if (text.includes("refused.example")) {
      throw new GhostReloadError("refused", 500, '{"status":"error","error":"no"}');
    }
    return { status: "ok", revision: request?.revision };
  });
  file = `${s.dir}/ghost.json`;
  try {
    await s.sync.onVarnishStarted(s.cli);
    await eventually(() => ok(s.sync.status().applied));
    // a delta swapped; before its file is written, a change that ghost refuses
    s.state.slices = [sliceWith(["10.0.0.7"])];
    s.sync.poke();
    await s.sync.idle();
    const served = requests.at(-1)!;
    ok(served.deltaBase !== undefined);
    routing.vhosts["refused.example"] = structuredClone(routing.vhosts["*"]);
    s.state.config = { resourceVersion: "2", mainVcl: VCL, routingJson: JSON.stringify(routing) };
    s.sync.poke();
    await s.sync.idle();
    match(s.sync.status().ghostError ?? "", /refused/);
    ok(s.sync.status().applied, "the served document stays applied");
    equal(s.sync.status().ghostRoutingHash, contentHash(ROUTING));
    // on disk: the document ghost serves (with the delta), never the refused one, and ghost reloaded it whole
    const disk = Deno.readTextFileSync(file);
    match(disk, /"10\.0\.0\.7"/);
    ok(!disk.includes("refused.example"));
    equal(read.at(-1), disk);
    const revision = requests.at(-1)!.revision;
    // the refused vhost gone again and the endpoints moved: a delta from what ghost serves, of the Service port's
    // entry only ("*" names it)
    delete routing.vhosts["refused.example"];
    s.state.config = { resourceVersion: "3", mainVcl: VCL, routingJson: JSON.stringify(routing) };
    s.state.slices = [sliceWith(["10.0.0.8"])];
    s.sync.poke();
    await s.sync.idle();
    equal(requests.at(-1)!.deltaBase, revision);
    const last = parseGhostDelta(read.at(-1)!);
    deepStrictEqual([Object.keys(last.vhosts), Object.keys(last.backends ?? {})], [[], ["ns/svc:80"]]);
    equal(s.sync.status().ghostError, undefined);
    equal(s.sync.status().ghostRoutingHash, contentHash(JSON.stringify(routing)));
    await eventually(() => match(Deno.readTextFileSync(file), /"10\.0\.0\.8"/));
  } finally {
    await s.cleanup();
  }
});

Deno.test("SyncLoop starts the sync of a change on an idle loop at once, not after a timer", async () => {
  const order: string[] = [];
  const sync = new SyncLoop({
    config: {
      current: () => {
        order.push("sync");
        return Promise.resolve(undefined);
      },
    },
    endpoints: {
      setNamespaces: () => {},
      isSynced: () => true,
      index: () => indexEndpoints({ services: [], endpointSlices: [] }),
    },
    ghostJsonPath: "/nonexistent/ghost.json",
    reloadGhost: () => Promise.resolve(),
    metrics: emptyMetrics(),
    log: createLogger({ level: "error" }),
  });
  // a timer due before the poke: a sync scheduled on a timer of its own would run after it
  const timer = new Promise<void>((resolve) => setTimeout(() => resolve(void order.push("timer")), 0));
  sync.poke();
  await timer;
  await sync.idle();
  deepStrictEqual(order, ["sync", "timer"]);
  await sync.stop();
});

Deno.test("SyncLoop.synced() resolves once a sync finished with that routing sequence or a later one, false at its timeout", async () => {
  let release: (() => void) | undefined;
  const gate = new Promise<void>((resolve) => release = resolve);
  let [reloading, reloads] = [false, 0];
  const s = await setup(async () => {
    reloading = true;
    await gate;
    return { status: "ok", reload: ++reloads };
  });
  try {
    s.state.config = { ...s.state.config, sequence: 7 };
    await s.sync.onVarnishStarted(s.cli);
    const seven = s.sync.synced(7, 30_000);
    let done: boolean | undefined;
    void seven.then((synced) => done = synced);
    s.sync.poke();
    // the sync waits in ghost's reload: not finished with 7 yet
    await eventually(() => ok(reloading));
    await new Promise((resolve) => setTimeout(resolve, 50));
    equal(done, undefined);
    release!();
    equal(await seven, true);
    equal(reloads, 1);
    equal(await s.sync.synced(6, 0), true);
    equal(await s.sync.synced(8, 20), false);
    const nine = s.sync.synced(9, 30_000);
    s.state.config = { ...s.state.config, sequence: 10 };
    s.sync.poke();
    equal(await nine, true);
    const later = s.sync.synced(11, 60_000);
    await s.sync.stop();
    equal(await later, false);
  } finally {
    release!();
    await s.cleanup();
  }
});

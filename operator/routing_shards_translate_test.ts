import { deepStrictEqual, equal, ok } from "node:assert/strict";
import {
  assembleRouting,
  parseRoutingJson,
  parseRoutingManifest,
  parseRoutingShard,
  shardHashMatches,
} from "../ghost/contract/mod.ts";
import { contentHash } from "../internal/content_hash.ts";
import { CONTROLLER_NAME, ROUTING_SHARDS_KEY } from "../internal/names.ts";
import { readRoutingConfigMapData } from "../internal/routing_config_map.ts";
import { ROUTING_HASH_ANNOTATION } from "./children.ts";
import { parseSnapshot, type Snapshot } from "./snapshot.ts";
import { translate } from "./translate.ts";
import { TranslationMemo } from "./translation_memo.ts";

const OPTIONS = { now: "2026-01-01T00:00:00Z", defaults: { image: "lacquer:test" }, gateways: ["ns/gw"] };

/** A Gateway with `routes` HTTPRoutes, each on a hostname of its own. */
function objects(routes: number): Record<string, unknown>[] {
  return [
    {
      apiVersion: "gateway.networking.k8s.io/v1",
      kind: "GatewayClass",
      metadata: { name: "lacquer" },
      spec: { controllerName: CONTROLLER_NAME },
    },
    {
      apiVersion: "gateway.networking.k8s.io/v1",
      kind: "Gateway",
      metadata: { name: "gw", namespace: "ns", uid: "u1" },
      spec: { gatewayClassName: "lacquer", listeners: [{ name: "http", port: 80, protocol: "HTTP" }] },
    },
    { apiVersion: "v1", kind: "Service", metadata: { name: "svc", namespace: "ns" }, spec: { ports: [{ port: 80 }] } },
    ...Array.from({ length: routes }, (_, i) => ({
      apiVersion: "gateway.networking.k8s.io/v1",
      kind: "HTTPRoute",
      metadata: { name: `r${i}`, namespace: "ns", creationTimestamp: "2026-01-01T00:00:00Z" },
      spec: {
        parentRefs: [{ name: "gw" }],
        hostnames: [`h${i}.example`],
        rules: [{
          matches: [{ path: { type: "PathPrefix", value: `/r${i}` } }],
          backendRefs: [{ name: "svc", port: 80 }],
        }],
      },
    })),
  ];
}

type ConfigMap = {
  kind: string;
  metadata: { name: string; annotations: Record<string, string> };
  data: Record<string, string>;
  binaryData?: Record<string, string>;
};

Deno.test("translate() stores a large routing.json in shards the chaperone can read back, known by the manifest", () => {
  const gw = translate(parseSnapshot(objects(1500)), OPTIONS).gateways[0];
  const children = gw.children as unknown as ConfigMap[];
  const configMaps = new Map(children.filter((c) => c.kind === "ConfigMap").map((c) => [c.metadata.name, c]));
  const main = configMaps.get("gw-lacquer")!;
  const stored = readRoutingConfigMapData(main);
  equal(stored.routingJson, undefined, "the Gateway's ConfigMap holds the manifest instead of routing.json");
  const manifest = parseRoutingManifest(main.data[ROUTING_SHARDS_KEY]);
  ok(manifest.shards.length > 1);
  equal(manifest.version, 2, "the operator writes the compact manifest");
  // honest Programmed: the hash the pods must report is the manifest's, which names every shard's hash
  equal(main.metadata.annotations[ROUTING_HASH_ANNOTATION], contentHash(main.data[ROUTING_SHARDS_KEY]));
  equal(gw.status.conditions.find((c) => c.type === "Programmed")?.status, "False");
  const shards = manifest.shards.map(({ name, hash }) => {
    const text = readRoutingConfigMapData(configMaps.get(name)!).routingJson!;
    ok(shardHashMatches(hash, contentHash(text)), "version 2 names a shard by 128 bits of its hash");
    equal(configMaps.get(name)!.metadata.annotations[ROUTING_HASH_ANNOTATION], contentHash(text));
    return parseRoutingJson(text);
  });
  const joined = assembleRouting(shards);
  equal(Object.keys(joined.vhosts).length, 1500);
  deepStrictEqual(joined.vhosts["h7.example"], gw.routing!.vhosts["h7.example"]);
  // the shards come before the manifest that names them (the writer starts it last), and the chaperone may read exactly
  // them
  const order = children.filter((c) => c.kind === "ConfigMap").map((c) => c.metadata.name);
  ok(manifest.shards.every(({ name }) => order.indexOf(name) < order.indexOf("gw-lacquer")));
  const role = children.find((c) => c.kind === "Role" && c.metadata.name === "gw-lacquer") as unknown as {
    rules: { resources: string[]; resourceNames?: string[]; verbs: string[] }[];
  };
  deepStrictEqual(
    role.rules.find((r) => r.resources[0] === "configmaps" && r.verbs.join() === "get")?.resourceNames,
    manifest.shards.map((s) => s.name),
  );
});

Deno.test("translate() keeps a small routing.json whole in the Gateway's ConfigMap", () => {
  const gw = translate(parseSnapshot(objects(20)), OPTIONS).gateways[0];
  const configMaps = (gw.children as unknown as ConfigMap[]).filter((c) => c.kind === "ConfigMap");
  deepStrictEqual(configMaps.map((c) => c.metadata.name), ["gw-lacquer"]);
  equal(readRoutingConfigMapData(configMaps[0]).routingJson, gw.routingJson);
  equal(gw.routingShards, undefined);
});

Deno.test("translate() with a memo rewrites only the shard of a changed route, with the hash of its new text", () => {
  const memo = new TranslationMemo();
  const children = new Map<string, unknown>();
  const shardsOf = (snapshot: Snapshot) => {
    const gw = translate(snapshot, { ...OPTIONS, memo }).gateways[0];
    for (const child of gw.children!) children.set(`${child.kind} ${child.metadata.name}`, child);
    return gw.routingShards!.shards;
  };
  const base = objects(1500);
  // the other objects stay the same parsed objects, as in the operator's caches
  const parsed = parseSnapshot(base);
  const before = shardsOf(parsed);
  const childrenBefore = new Map(children);
  const changed = base.map((o) =>
    (o.metadata as { name: string }).name === "r7" && o.kind === "HTTPRoute"
      ? {
        ...o,
        spec: {
          ...(o.spec as object),
          hostnames: ["h7.example"],
          rules: [{ backendRefs: [{ name: "other", port: 80 }] }],
        },
      }
      : o
  );
  const r7 = parseSnapshot(changed.filter((o) => (o.metadata as { name: string }).name === "r7")).httpRoutes[0];
  const after = shardsOf({ ...parsed, httpRoutes: parsed.httpRoutes.map((r) => r.metadata.name === "r7" ? r7 : r) });
  const differ = after.filter((s, i) => s.hash !== before[i].hash);
  equal(differ.length, 1);
  for (const shard of after) equal(shard.hash, contentHash(shard.text));
  // the ConfigMaps of the other shards are the same objects (the writer knows their hash by them)
  for (const shard of after) {
    const key = `ConfigMap ${shard.name}`;
    equal(children.get(key) === childrenBefore.get(key), shard !== differ[0], key);
  }
});

Deno.test("translate() stores the CA bundle of TLS backends once, in a shard a route change leaves alone", async () => {
  const pem = await Deno.readTextFile(new URL("testdata/ca_bundle_37.pem", import.meta.url));
  const tls = [
    { apiVersion: "v1", kind: "Service", metadata: { name: "tls", namespace: "ns" }, spec: { ports: [{ port: 443 }] } },
    { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "ca", namespace: "ns" }, data: { "ca.crt": pem } },
    {
      apiVersion: "gateway.networking.k8s.io/v1",
      kind: "BackendTLSPolicy",
      metadata: { name: "tls", namespace: "ns", creationTimestamp: "2026-01-01T00:00:00Z" },
      spec: {
        targetRefs: [{ group: "", kind: "Service", name: "tls" }],
        validation: { hostname: "tls.internal", caCertificateRefs: [{ group: "", kind: "ConfigMap", name: "ca" }] },
      },
    },
  ];
  // every tenth route to the TLS Service, another path for r10 when `moved`
  const withTls = (moved: boolean) =>
    [...objects(1500), ...tls].map((o) => {
      const i = Number((o.metadata as { name: string }).name.slice(1));
      if (o.kind !== "HTTPRoute" || i % 10 !== 0) return o;
      const path = moved && i === 10 ? "/moved" : `/r${i}`;
      const rule = {
        matches: [{ path: { type: "PathPrefix", value: path } }],
        backendRefs: [{ name: "tls", port: 443 }],
      };
      return { ...o, spec: { ...(o.spec as object), rules: [rule] } };
    });
  const memo = new TranslationMemo();
  const stored = (moved: boolean) => translate(parseSnapshot(withTls(moved)), { ...OPTIONS, memo }).gateways[0];
  const before = stored(false).routingShards!.shards;
  const quoted = JSON.stringify(pem);
  deepStrictEqual(before.map((s) => s.text.includes(quoted)), before.map((_, i) => i === before.length - 1));
  const joined = assembleRouting(before.map((s) => parseRoutingShard(s.text)));
  deepStrictEqual(Object.values(joined.caBundles!), [pem]);
  equal(Object.values(joined.vhosts).filter((v) => v.routes[0].backends[0].tls?.caBundle).length, 150);
  const after = stored(true).routingShards!.shards;
  const differ = after.filter((s, i) => s.hash !== before[i].hash);
  equal(differ.length, 1, "the route's shard only");
  ok(differ[0].text.length < pem.length, `a ${differ[0].text.length}-byte shard, without the bundle`);
});

Deno.test("translate() rewrites the shards naming a CA bundle when its BackendTLSPolicy or CA changes, no others", async () => {
  const all = await Deno.readTextFile(new URL("testdata/ca_bundle_37.pem", import.meta.url));
  const end = "-----END CERTIFICATE-----\n";
  const [one, many] = [all.slice(0, all.indexOf(end) + end.length), all];
  const tls = (pem: string, hostname: string | undefined) => [
    { apiVersion: "v1", kind: "Service", metadata: { name: "tls", namespace: "ns" }, spec: { ports: [{ port: 443 }] } },
    { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "ca", namespace: "ns" }, data: { "ca.crt": pem } },
    ...(hostname === undefined ? [] : [{
      apiVersion: "gateway.networking.k8s.io/v1",
      kind: "BackendTLSPolicy",
      metadata: { name: "tls", namespace: "ns", creationTimestamp: "2026-01-01T00:00:00Z" },
      spec: {
        targetRefs: [{ group: "", kind: "Service", name: "tls" }],
        validation: { hostname, caCertificateRefs: [{ group: "", kind: "ConfigMap", name: "ca" }] },
      },
    }]),
  ];
  // r5 alone goes to the TLS Service
  const memo = new TranslationMemo();
  const stored = (pem: string, hostname?: string) => {
    const objs = [...objects(1500), ...tls(pem, hostname)].map((o) =>
      (o.metadata as { name: string }).name !== "r5" || o.kind !== "HTTPRoute" ? o : {
        ...o,
        spec: { ...(o.spec as object), rules: [{ backendRefs: [{ name: "tls", port: 443 }] }] },
      }
    );
    return translate(parseSnapshot(objs), { ...OPTIONS, memo }).gateways[0].routingShards!.shards;
  };
  /** The shards of `after` not in `before` with the same hash, by whether they hold r5 ("r5") or the bundles. */
  const changed = (before: { name: string; hash: string }[], after: { name: string; hash: string; text: string }[]) => {
    const was = new Map(before.map((s) => [s.name, s.hash]));
    return after.filter((s) => was.get(s.name) !== s.hash).map((s) =>
      s.text.includes('"h5.example"') ? "r5" : s.text.includes('"caBundles"') ? "bundles" : s.name
    );
  };
  const first = stored(one, "tls.internal");
  const bundles = (shards: { text: string }[]) =>
    assembleRouting(shards.map((s) => parseRoutingShard(s.text))).caBundles;
  deepStrictEqual(bundles(first), { [contentHash(one)]: one });
  // the CA ConfigMap holds other certificates: a new key, named by r5's shard, held by the bundles' shard
  const recertified = stored(many, "tls.internal");
  deepStrictEqual(changed(first, recertified).sort(), ["bundles", "r5"]);
  deepStrictEqual(bundles(recertified), { [contentHash(many)]: many });
  const r5 = parseRoutingShard(recertified.find((s) => s.text.includes('"h5.example"'))!.text);
  equal(r5.vhosts["h5.example"].routes[0].backends[0].tls?.caBundle, contentHash(many));
  // the policy changes its hostname: r5's shard only, the bundle is the same
  const renamed = stored(many, "other.internal");
  deepStrictEqual(changed(recertified, renamed), ["r5"]);
  // the policy goes: r5's shard, and the bundles' shard with it (no group names a bundle)
  const gone = stored(many);
  deepStrictEqual(changed(renamed, gone), ["r5"]);
  equal(gone.length, renamed.length - 1);
  equal(bundles(gone), undefined);
});

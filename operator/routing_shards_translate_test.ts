import { deepStrictEqual, equal, ok } from "node:assert/strict";
import { assembleRouting, parseRoutingJson, parseRoutingManifest } from "../ghost/contract/mod.ts";
import { contentHash } from "../internal/content_hash.ts";
import { CONTROLLER_NAME, ROUTING_SHARDS_KEY } from "../internal/names.ts";
import { readRoutingConfigMapData } from "../internal/routing_config_map.ts";
import { ROUTING_HASH_ANNOTATION } from "./children.ts";
import { parseSnapshot } from "./snapshot.ts";
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
  // honest Programmed: the hash the pods must report is the manifest's, which names every shard's hash
  equal(main.metadata.annotations[ROUTING_HASH_ANNOTATION], contentHash(main.data[ROUTING_SHARDS_KEY]));
  equal(gw.status.conditions.find((c) => c.type === "Programmed")?.status, "False");
  const shards = manifest.shards.map(({ name, hash }) => {
    const text = readRoutingConfigMapData(configMaps.get(name)!).routingJson!;
    equal(contentHash(text), hash);
    equal(configMaps.get(name)!.metadata.annotations[ROUTING_HASH_ANNOTATION], hash);
    return parseRoutingJson(text);
  });
  const joined = assembleRouting(shards);
  equal(Object.keys(joined.vhosts).length, 1500);
  deepStrictEqual(joined.vhosts["h7.example"], gw.routing!.vhosts["h7.example"]);
  // the shards come before the manifest that names them, and the chaperone may read exactly them
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
  const shardsOf = (objects: Record<string, unknown>[]) => {
    const gw = translate(parseSnapshot(objects), { ...OPTIONS, memo }).gateways[0];
    return gw.routingShards!.shards;
  };
  const base = objects(1500);
  const before = shardsOf(base);
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
  const after = shardsOf(changed);
  const differ = after.filter((s, i) => s.hash !== before[i].hash);
  equal(differ.length, 1);
  for (const shard of after) equal(shard.hash, contentHash(shard.text));
});

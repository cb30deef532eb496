import { deepStrictEqual, equal, match, ok, throws } from "node:assert/strict";
import { contentHash } from "../../internal/content_hash.ts";
import { ContractError, parseRoutingJson, parseRoutingShard } from "./parse_contract.ts";
import { manyHostsRouting } from "./_test_many_hosts.ts";
import {
  assembleRouting,
  parseRoutingManifest,
  SHARD_TARGET_BYTES,
  shardCount,
  shardHashMatches,
  SHARDING_THRESHOLD_BYTES,
  shardRouting,
  shortShardHash,
} from "./routing_shards.ts";

/** A routing.json with `hosts` hostnames of one route each, to seven Services. */
const document = (hosts: number) => manyHostsRouting(hosts, (i) => `s${i % 7}`);

const prefix = "gw-lacquer-r";

Deno.test("shardRouting() keeps a routing.json below the threshold whole", () => {
  equal(shardRouting(document(3), { bytes: SHARDING_THRESHOLD_BYTES, prefix }), undefined);
});

Deno.test("shardRouting() splits by hostname into shards that assemble back into the same document", () => {
  const doc = document(3000);
  const bytes = JSON.stringify(doc).length;
  ok(bytes > SHARDING_THRESHOLD_BYTES, `the fixture is large enough (${bytes} bytes)`);
  const stored = shardRouting(doc, { bytes, prefix })!;
  const manifest = parseRoutingManifest(stored.manifest);
  equal(manifest.shards.length, shardCount(bytes));
  deepStrictEqual(manifest.shards, stored.shards.map(({ name, hash }) => ({ name, hash: shortShardHash(hash) })));
  equal(manifest.version, 2);
  const perShard = stored.manifest.length / stored.shards.length;
  ok(perShard < 32, `the manifest spends ${perShard} bytes a shard`);
  for (const shard of stored.shards) {
    equal(shard.hash, contentHash(shard.text));
    ok(shard.text.length < 2 * SHARD_TARGET_BYTES, `${shard.name} has ${shard.text.length} bytes`);
  }
  const joined = assembleRouting(stored.shards.map((s) => parseRoutingJson(s.text)));
  deepStrictEqual(joined.listeners, doc.listeners);
  deepStrictEqual(
    Object.fromEntries(Object.entries(joined.vhosts).sort(([a], [b]) => a.localeCompare(b))),
    Object.fromEntries(Object.entries(doc.vhosts).sort(([a], [b]) => a.localeCompare(b))),
  );
});

Deno.test("shardRouting() changes only the shard of a changed hostname", () => {
  const before = document(3000);
  const after = structuredClone(before);
  after.vhosts["h42.example"].routes[0].backends[0].service!.name = "moved";
  const bytes = JSON.stringify(before).length;
  const [a, b] = [shardRouting(before, { bytes, prefix })!, shardRouting(after, { bytes, prefix })!];
  const changed = a.shards.filter((s, i) => s.hash !== b.shards[i].hash);
  equal(changed.length, 1);
  match(b.shards.find((s) => s.name === changed[0].name)!.text, /"moved"/);
  ok(a.manifest !== b.manifest, "the manifest names the new shard hash");
});

/** {@linkcode document} with every 100th hostname's backend over TLS, verified against one CA bundle. */
function withCaBundle(
  hosts: number,
  pem = `-----BEGIN CERTIFICATE-----\n${"A".repeat(40_000)}\n-----END CERTIFICATE-----\n`,
) {
  const doc = document(hosts);
  const key = contentHash(pem);
  Object.values(doc.vhosts).forEach((vhost, i) => {
    if (i % 100 === 0) vhost.routes[0].backends[0].tls = { hostname: "api.internal", caBundle: key };
  });
  return { doc: { ...doc, caBundles: { [key]: pem } }, key, pem };
}

Deno.test("shardRouting() stores the CA bundles once, in a shard of their own that one route change leaves alone", () => {
  const { doc, key, pem } = withCaBundle(3000);
  const bytes = JSON.stringify(doc).length;
  const stored = shardRouting(doc, { bytes, prefix })!;
  const count = shardCount(bytes);
  const bundles = stored.shards.at(-1)!;
  equal(bundles.name, `${prefix}${count}`, "one past the hostnames' shards");
  deepStrictEqual(parseRoutingShard(bundles.text).caBundles, { [key]: pem });
  deepStrictEqual(Object.keys(parseRoutingShard(bundles.text).vhosts), []);
  equal(
    stored.shards.filter((s) => s.text.includes(JSON.stringify(pem))).length,
    1,
    "the bundle's text is stored once",
  );
  const joined = assembleRouting(stored.shards.map((s) => parseRoutingShard(s.text)));
  deepStrictEqual(joined.caBundles, { [key]: pem });
  equal(Object.keys(joined.vhosts).length, 3000);
  equal(joined.vhosts["h0.example"].routes[0].backends[0].tls?.caBundle, key);
  // one route changes: its shard and the manifest, not the bundles' shard
  const after = structuredClone(doc);
  after.vhosts["h42.example"].routes[0].backends[0].service!.name = "moved";
  const next = shardRouting(after, { bytes, prefix })!;
  const changed = next.shards.filter((s, i) => s.hash !== stored.shards[i].hash).map((s) => s.name);
  equal(changed.length, 1);
  ok(changed[0] !== bundles.name);
  // without the bundles' shard, the generation is not whole
  throws(
    () => assembleRouting(stored.shards.slice(0, -1).map((s) => parseRoutingShard(s.text))),
    /names the CA bundle "sha256:[0-9a-f]{64}", which no shard of the generation holds/,
  );
  throws(() => parseRoutingJson(stored.shards[0].text), /which caBundles does not hold/);
});

Deno.test("shardCount() is a power of two that keeps shards near the target size", () => {
  deepStrictEqual([shardCount(1), shardCount(300_000), shardCount(2_400_000), shardCount(24_000_000)], [
    1,
    16,
    128,
    1024,
  ]);
});

Deno.test("assembleRouting() refuses shards that do not belong together", () => {
  const doc = document(2);
  const other = { ...doc, listeners: [] };
  throws(() => assembleRouting([doc, other]), (err) => err instanceof ContractError && /differ/.test(err.message));
  throws(() => assembleRouting([doc, doc]), (err) => err instanceof ContractError && /in two shards/.test(err.message));
});

const golden = (file: string) => Deno.readTextFile(new URL(`testdata/routing-shards/${file}`, import.meta.url));

/** The JSON path of the first issue `text` is rejected for. */
const rejectedAt = (text: string) => {
  try {
    parseRoutingManifest(text);
  } catch (err) {
    if (err instanceof ContractError) return err.issues[0].path;
    throw err;
  }
  return "accepted";
};

Deno.test("parseRoutingManifest() reads versions 1 and 2 of the golden generation as the same shards", async () => {
  const [v1, v2] = [
    parseRoutingManifest(await golden("manifest-v1.json")),
    parseRoutingManifest(await golden("manifest.json")),
  ];
  deepStrictEqual([v1.version, v2.version], [1, 2]);
  deepStrictEqual(v2.shards.map((s) => s.name), ["shop-lacquer-r0", "shop-lacquer-r5"]);
  deepStrictEqual(v2.shards.map((s) => s.name), v1.shards.map((s) => s.name));
  v1.shards.forEach((s, i) => {
    ok(shardHashMatches(s.hash, s.hash), "version 1: the whole hash");
    ok(shardHashMatches(v2.shards[i].hash, s.hash), "version 2: its first 128 bits");
    ok(!shardHashMatches(v2.shards[i].hash, v1.shards[1 - i].hash), "another shard's hash does not match");
  });
});

Deno.test("parseRoutingManifest() rejects an invalid manifest of either version, naming where", () => {
  const hash = shortShardHash(contentHash(""));
  equal(rejectedAt('{"version":1,"shards":[{"name":"gw-lacquer-r0"}]}'), "$.shards[0].hash");
  equal(rejectedAt('{"version":1,"prefix":"gw-lacquer-r","shards":[[0,"' + hash + '"]]}'), "$.shards[0]");
  equal(rejectedAt('{"version":2,"prefix":"gw-lacquer-r","shards":[]}'), "$.shards");
  equal(rejectedAt('{"version":2,"prefix":"gw-lacquer-r","shards":[[0,"' + hash + '"]]}'), "accepted");
  equal(rejectedAt('{"version":2,"prefix":"gw-lacquer-r","shards":[[0,"' + hash.slice(1) + '"]]}'), "$.shards[0][1]");
  equal(rejectedAt('{"version":2,"prefix":"GW-","shards":[[0,"' + hash + '"]]}'), "$.prefix");
  equal(rejectedAt('{"version":2,"prefix":"gw-lacquer-r","shards":[[4097,"' + hash + '"]]}'), "$.shards[0][0]");
  equal(
    rejectedAt('{"version":2,"prefix":"gw-lacquer-r","shards":[[1,"' + hash + '"],[1,"' + hash + '"]]}'),
    "$.shards[1][0]",
  );
  equal(rejectedAt('{"version":3,"shards":[]}'), "$.version");
});

Deno.test("shortShardHash() is the first 128 bits of the SHA-256 in base64url", () => {
  equal(shortShardHash(contentHash("")), "47DEQpj8HBSa-_TImW-5JA");
  ok(!shardHashMatches(shortShardHash(contentHash("a")), contentHash("b")));
});

import { deepEqual, equal, ok } from "node:assert/strict";
import { parseRoutingJson, type RoutingJson, stringifyContract } from "../ghost/contract/mod.ts";
import { readRoutingConfigMapData, routingConfigMapData } from "../internal/routing_config_map.ts";
import { Buffer } from "node:buffer";
import { type RouteText, routingBytes, stringifyRouting } from "./routing_text.ts";

const VALID = new URL("../ghost/contract/testdata/routing/valid/", import.meta.url);

/** Every valid routing.json document of the contract's goldens, parsed. */
function documents(): [string, RoutingJson][] {
  return [...Deno.readDirSync(VALID)]
    .map((e) => e.name)
    .filter((n) => n.endsWith(".json") && !n.endsWith(".parsed.json"))
    .sort()
    .map((n) => [n, parseRoutingJson(Deno.readTextFileSync(new URL(n, VALID)))]);
}

/** The same document with many routes, so that its ConfigMap form is compressed. */
function large(doc: RoutingJson): RoutingJson {
  const routes = Object.values(doc.vhosts).flatMap((v) => v.routes);
  if (routes.length === 0) return doc;
  const many = Array.from({ length: 3000 }, (_, i) => ({ ...routes[i % routes.length], matches: [] }));
  return { ...doc, vhosts: { ...doc.vhosts, "many.example": { routes: many } } };
}

Deno.test("stringifyRouting() writes the contract's bytes, and routing.json survives the ConfigMap codec", async (t) => {
  for (const [name, doc] of documents()) {
    for (const [variant, input] of [["as is", doc], ["compressed", large(doc)]] as const) {
      await t.step(`${name} (${variant})`, () => {
        const text = stringifyRouting(input);
        equal(text, stringifyContract(input));
        equal(routingBytes(input), Buffer.byteLength(text, "utf8"), "routingBytes() measures it without joining it");
        const decoded = readRoutingConfigMapData(routingConfigMapData(text, "vcl 4.1;\n"));
        equal(decoded.routingJson, text);
        deepEqual(parseRoutingJson(decoded.routingJson!), parseRoutingJson(stringifyContract(input)));
      });
    }
  }
});

Deno.test("stringifyRouting() serializes an entry once per matches array and reuses it from the memo", () => {
  const [, doc] = documents().find(([, d]) => Object.values(d.vhosts).some((v) => v.routes.length > 0))!;
  const memo = new WeakMap<object, RouteText>();
  const first = stringifyRouting(doc, memo);
  const route = Object.values(doc.vhosts).flatMap((v) => v.routes)[0];
  const text = memo.get(route.matches);
  ok(text, "memoised by the matches array");
  equal(stringifyRouting(doc, memo), first);
  equal(memo.get(route.matches), text, "the same text object the second time");
  // A rebuilt entry (new matches array, as translation makes for a changed rule) is serialized afresh.
  const changed = structuredClone(doc);
  const entry = Object.values(changed.vhosts).flatMap((v) => v.routes)[0];
  entry.created = "2030-01-01T00:00:00Z";
  equal(stringifyRouting(changed, memo), stringifyContract(changed));
});

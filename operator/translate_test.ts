import { deepEqual, equal, notEqual } from "node:assert/strict";
import { parseAllDocuments, stringify } from "yaml";
import { parseRoutingJson, stringifyContract } from "../ghost/contract/mod.ts";
import { renderStatus } from "../tools/render.ts";
import { httpRouteSchema } from "./api_types.ts";
import { parseSnapshot, type Snapshot } from "./snapshot.ts";
import { translate, type TranslateResult } from "./translate.ts";
import { TranslationMemo } from "./translation_memo.ts";

const DIR = new URL("./testdata/translate/", import.meta.url);
const UPDATE = Deno.env.get("LACQUER_UPDATE_GOLDEN") === "1";
const OPTIONS = { now: "2026-01-01T00:00:00Z", defaults: { image: "lacquer:test" } };

function stripTransitionTimes(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(stripTransitionTimes);
  if (value && typeof value === "object") {
    return Object.fromEntries(
      Object.entries(value).filter(([k]) => k !== "lastTransitionTime").map(([k, v]) => [k, stripTransitionTimes(v)]),
    );
  }
  return value;
}

function readObjects(text: string): unknown[] {
  return parseAllDocuments(text).map((d) => d.toJS()).filter((d) => d !== null);
}

/** Renders every output of a case as files: name suffix → exact bytes. */
function render(snapshot: Snapshot, result: TranslateResult, caseName: string): Map<string, string> {
  const files = new Map<string, string>();
  const several = result.gateways.length > 1;
  for (const gw of result.gateways) {
    if (gw.routingJson === undefined) continue;
    files.set(several ? `${gw.name}.routing.json` : "routing.json", gw.routingJson);
    if (caseName.startsWith("children_") && gw.children) {
      files.set(
        several ? `${gw.name}.children.yaml` : "children.yaml",
        gw.children.map((c) => stringify(c, { lineWidth: 0, blockQuote: "literal", aliasDuplicateObjects: false }))
          .join("---\n"),
      );
    }
  }
  const status = renderStatus(snapshot, result, OPTIONS.now);
  files.set("status.yaml", stringify(stripTransitionTimes(status), { lineWidth: 0 }));
  return files;
}

function shuffled<T>(items: readonly T[], seed: number): T[] {
  const out = [...items];
  let state = seed;
  for (let i = out.length - 1; i > 0; i--) {
    state = (state * 1103515245 + 12345) % 2147483648;
    const j = state % (i + 1);
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

Deno.test("translate() produces the golden routing.json and status of every case", async (t) => {
  const cases = [...Deno.readDirSync(DIR)].map((e) => e.name).filter((n) => n.endsWith(".in.yaml")).sort();
  for (const file of cases) {
    const caseName = file.slice(0, -".in.yaml".length);
    await t.step(caseName, async () => {
      const objects = readObjects(await Deno.readTextFile(new URL(file, DIR)));
      const snapshot = parseSnapshot(objects);
      const result = translate(snapshot, OPTIONS);
      const files = render(snapshot, result, caseName);
      for (const gw of result.gateways) {
        if (gw.routingJson) {
          deepEqual(parseRoutingJson(gw.routingJson), gw.routing);
          equal(gw.routingJson, stringifyContract(gw.routing!), "the fast serializer writes the contract's bytes");
        }
      }
      const existing = [...Deno.readDirSync(DIR)].map((e) => e.name).filter((n) => n.startsWith(`${caseName}.`));
      for (const [suffix, content] of files) {
        const url = new URL(`${caseName}.${suffix}`, DIR);
        if (UPDATE) {
          await Deno.writeTextFile(url, content);
          continue;
        }
        let expected: string;
        try {
          expected = await Deno.readTextFile(url);
        } catch {
          throw new Error(`Missing golden file ${caseName}.${suffix}: run LACQUER_UPDATE_GOLDEN=1 deno task test`);
        }
        equal(content, expected, `${caseName}.${suffix} differs`);
      }
      for (const name of existing) {
        if (name === file || files.has(name.slice(caseName.length + 1))) continue;
        if (UPDATE) await Deno.remove(new URL(name, DIR));
        else throw new Error(`Stale golden file ${name}: the case no longer produces it`);
      }
      // Stability: shuffled input order gives identical bytes.
      const again = render(
        parseSnapshot(shuffled(objects, caseName.length + 7)),
        translate(parseSnapshot(shuffled(objects, 3)), OPTIONS),
        caseName,
      );
      deepEqual(again, files);
    });
  }
});

Deno.test("translate() reports every route of a missing Gateway for status cleanup", () => {
  const route = httpRouteSchema.parse({
    metadata: { name: "r", namespace: "ns" },
    spec: { parentRefs: [{ name: "gone" }] },
  });
  const result = translate({ ...parseSnapshot([]), httpRoutes: [route] }, { ...OPTIONS, gateways: ["ns/gone"] });
  deepEqual(result.routes, [{ key: "ns/r", gateway: "ns/gone", parents: [] }]);
});

Deno.test("translate() reuses cached route results only while the objects they read are unchanged", () => {
  const objects = readObjects(Deno.readTextFileSync(new URL("weights.in.yaml", DIR)));
  const snapshot = parseSnapshot(objects);
  const options = { ...OPTIONS, gateways: ["infra/gw"], memo: new TranslationMemo() };
  const before = translate(snapshot, options).gateways[0].routingJson!;
  equal(before.includes('"unresolved":"Service \\"infra/web-v3\\" not found"'), true);
  // The same route objects, plus the missing Service: the backend resolves.
  const withService = {
    ...snapshot,
    services: [
      ...snapshot.services,
      ...parseSnapshot([{
        apiVersion: "v1",
        kind: "Service",
        metadata: { name: "web-v3", namespace: "infra" },
        spec: { ports: [{ port: 8080 }] },
      }]).services,
    ],
  };
  const after = translate(withService, options);
  equal(after.gateways[0].routingJson!.includes("unresolved"), false);
  equal(after.gateways[0].routingJson, stringifyContract(after.gateways[0].routing!));
  // And back: the same objects as the first time give the first bytes.
  equal(translate(snapshot, options).gateways[0].routingJson, before);
});

Deno.test("translate() leaves GatewayClasses outside its filter to other instances", () => {
  const objects = readObjects(Deno.readTextFileSync(new URL("multiple_parents.in.yaml", DIR)));
  const other = {
    apiVersion: "gateway.networking.k8s.io/v1",
    kind: "GatewayClass",
    metadata: { name: "other" },
    spec: { controllerName: "lacquer.dev/gateway-controller" },
  };
  const snapshot = parseSnapshot([...objects, other]);
  snapshot.gateways = snapshot.gateways.map((g) =>
    g.metadata.name === "gw2" ? { ...g, spec: { ...g.spec, gatewayClassName: "other" } } : g
  );
  const result = translate(snapshot, { ...OPTIONS, gatewayClassNames: ["lacquer"] });
  deepEqual(result.gatewayClasses.map((c) => c.name), ["lacquer"]);
  deepEqual(result.gateways.map((g) => g.key), ["infra/gw"]);
  deepEqual(result.routes.map((r) => r.gateway), ["infra/gw"], "no cleanup of the other instance's entries");
});

Deno.test("translate() with a memo hands back the same route status objects for unchanged routes", () => {
  const snapshot = parseSnapshot(readObjects(Deno.readTextFileSync(new URL("attached_routes_count.in.yaml", DIR))));
  const options = { ...OPTIONS, memo: new TranslationMemo() };
  const first = translate(snapshot, options).routes;
  const again = translate({ ...snapshot }, options).routes;
  equal(again.length, first.length);
  // The status writer skips comparing entries it already verified, by identity.
  again.forEach((r, i) => equal(r, first[i], `${r.key} unchanged`));
  const [changed, ...rest] = snapshot.httpRoutes;
  const edited = { ...changed, metadata: { ...changed.metadata, generation: 99 } };
  const after = translate({ ...snapshot, httpRoutes: [edited, ...rest] }, options).routes;
  const key = `${changed.metadata.namespace}/${changed.metadata.name}`;
  for (const r of after) {
    const before = first.find((f) => f.key === r.key && f.gateway === r.gateway)!;
    if (r.key === key) {
      notEqual(r, before);
      equal(r.parents[0].conditions[0].observedGeneration, 99);
    } else equal(r, before, `${r.key} unchanged`);
  }
});

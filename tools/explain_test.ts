import { deepEqual, equal } from "node:assert/strict";
import { parse, stringify } from "yaml";
import { explainConfigSchema } from "./options.ts";
import { runExplain } from "./run_explain.ts";

const TESTDATA = new URL("./testdata/", import.meta.url);
const UPDATE = Deno.env.get("LACQUER_UPDATE_GOLDEN") === "1";
const SHOP = new URL("shop", TESTDATA).pathname;

async function explain(args: { method: string; url: string; header?: string[]; file?: string[]; gateway?: string }) {
  const out: string[] = [];
  const err: string[] = [];
  const config = explainConfigSchema.parse({ file: [SHOP], output: "yaml", ...args });
  const code = await runExplain(config, { stdout: (s) => out.push(s), stderr: (s) => err.push(s) });
  return { code, doc: code === 0 ? parse(out.join("")) : undefined, err: err.join("") };
}

const REQUESTS = [
  { method: "GET", url: "http://shop.example.com/catalog/shoes?utm=x&page=2", header: ["Accept-Language: de"] },
  { method: "GET", url: "http://shop.example.com/catalog", header: ["x-beta: yes", "Cookie: session=1"] },
  { method: "POST", url: "http://shop.example.com/catalog/shoes", header: ["Authorization: Bearer x"] },
  { method: "GET", url: "http://shop.example.com/old?x=1" },
  { method: "GET", url: "http://other.example.com/anything" },
  { method: "GET", url: "http://shop.example.com:8080/" },
  { method: "GET", url: "http://shop.example.com/legacy/boots?b=2&a=1" },
  { method: "POST", url: "http://shop.example.com/legacy/search", header: ["Content-Length: 20"] },
  { method: "POST", url: "http://shop.example.com/legacy/search", header: ["Content-Length: 65"] },
];

Deno.test("explain gives the golden explanation of each request on the shop files", async () => {
  const results = [];
  for (const request of REQUESTS) {
    const { code, doc } = await explain(request);
    equal(code, 0);
    results.push({ request, explanation: doc });
  }
  const golden = new URL("shop.explain.yaml", TESTDATA);
  const text = stringify(results, { lineWidth: 0 });
  if (UPDATE) await Deno.writeTextFile(golden, text);
  equal(text, await Deno.readTextFile(golden));
});

Deno.test("explain says which rule wins and why, with backends, endpoints and the cache key", async () => {
  const items = (await explain(REQUESTS[0])).doc;
  deepEqual(items.selected.route, "shop/catalog");
  equal(items.selected.ruleName, "items");
  equal(items.candidates[0].losesOn, 'hostname: vhost "shop.example.com" is more specific than "*"');
  deepEqual(items.backends.map((b: { share: string }) => b.share), ["80%", "20%"]);
  // The EndpointSlice's ready endpoint, on the slice's target port; the not-ready one is left out.
  deepEqual(items.backends[0].endpoints, ["10.0.0.1:9000"]);
  equal(items.cache.cached, true);
  equal(items.cache.key.query, "page=2");
  deepEqual(items.cache.key.headers, { "accept-language": "de" });
  const beta = (await explain(REQUESTS[1])).doc;
  equal(beta.selected.rule, 1);
  equal(beta.candidates[0].losesOn, "headers: 1 header matches beat 0");
  equal(beta.decision.reason, "backend shop/catalog-v2:8080 has no ready endpoints");
  const post = (await explain(REQUESTS[2])).doc;
  equal(post.cache.why, "passes to the origin: the method POST is not cached; it has an Authorization header");
  const old = (await explain(REQUESTS[3])).doc;
  deepEqual(old.decision, { status: 301, action: "redirect", location: "http://shop.example.com/catalog?x=1" });
  equal((await explain(REQUESTS[5])).doc.decision.reason, "no listener accepts this host on this port");
  const legacy = (await explain(REQUESTS[6])).doc;
  equal(legacy.decision.rewrittenUrl, "/catalog/boots?b=2&a=1");
  equal(legacy.cache.key.path, "/catalog/boots", "the key holds the rewritten path");
  equal(legacy.cache.key.query, "a=1&b=2", "kept parameters sorted by name");
  equal(legacy.cache.ttl.source, "forced");
});

Deno.test("explain refuses files with several Gateways unless --gateway names one", async () => {
  const file = [new URL("../operator/testdata/translate/multiple_parents.in.yaml", import.meta.url).pathname];
  const several = await explain({ method: "GET", url: "http://a.example.com/", file });
  equal(several.code, 1);
  equal(several.err.includes("name one with --gateway"), true, several.err);
  const one = await explain({ method: "GET", url: "http://a.example.com/", file, gateway: "infra/gw2" });
  equal(one.code, 0);
  equal(one.doc.gateway, "infra/gw2");
});

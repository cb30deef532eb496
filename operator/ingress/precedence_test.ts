import { equal } from "node:assert/strict";
import { explainConfigSchema } from "../../tools/options.ts";
import { runExplain } from "../../tools/run_explain.ts";

const FILE = new URL("./testdata/precedence.yaml", import.meta.url).pathname;

/** The route (`namespace/name`) the offline explain of the operator's own translation selects for a request. */
async function selected(url: string): Promise<string> {
  const out: string[] = [];
  const config = explainConfigSchema.parse({ file: [FILE], output: "json", method: "GET", url });
  const code = await runExplain(config, { stdout: (s) => out.push(s), stderr: () => {} });
  equal(code, 0);
  return JSON.parse(out.join("")).selected.route;
}

Deno.test("an Ingress wildcard host matches any number of labels (Gateway API), not exactly one (Ingress)", async () => {
  equal(await selected("http://a.b.example.com/"), "shop/ingress:old:*.example.com");
});

Deno.test("equal Ingress and HTTPRoute matches go to the older object, whichever kind it is", async () => {
  equal(await selected("http://shop.example.com/cart"), "shop/ingress:old:shop.example.com");
});

Deno.test("a use-regex path ranks below every Prefix of its host (ingress-nginx would try it first)", async () => {
  equal(await selected("http://shop.example.com/cart/12"), "shop/ingress:old:shop.example.com");
  equal(await selected("http://shop.example.com/search/abc"), "shop/ingress:regex:shop.example.com");
});

Deno.test("a path no rule of an exact host matches falls through to the wildcard host's rules", async () => {
  equal(await selected("http://shop.example.com/other"), "shop/ingress:old:*.example.com");
});

import { deepEqual, equal } from "node:assert/strict";
import { parse, stringify } from "yaml";
import { loadObjects } from "./load_objects.ts";
import { renderSnapshot } from "./render.ts";
import { formatOutput, printable, runRender } from "./run_render.ts";

const TRANSLATE = new URL("../operator/testdata/translate/", import.meta.url);
const TESTDATA = new URL("./testdata/", import.meta.url);
const UPDATE = Deno.env.get("LACQUER_UPDATE_GOLDEN") === "1";
const OPTIONS = { now: "2026-01-01T00:00:00Z", defaults: { image: "lacquer:test" } };

function withoutTimes(value: unknown): unknown {
  return JSON.parse(JSON.stringify(value), (k, v) => (k === "lastTransitionTime" ? undefined : v));
}

Deno.test("render gives the translate goldens' routing.json bytes and status for every translate case", async (t) => {
  const cases = [...Deno.readDirSync(TRANSLATE)].map((e) => e.name).filter((n) => n.endsWith(".in.yaml")).sort();
  for (const file of cases) {
    const name = file.slice(0, -".in.yaml".length);
    await t.step(name, async () => {
      const { snapshot } = await loadObjects([new URL(file, TRANSLATE).pathname]);
      const rendered = renderSnapshot(snapshot, OPTIONS);
      const several = rendered.outputs.length > 1;
      for (const output of rendered.outputs) {
        if (output.routingJson === undefined) continue;
        const gatewayName = output.gateway.split("/")[1];
        const golden = `${name}.${several ? `${gatewayName}.` : ""}routing.json`;
        equal(output.routingJson, await Deno.readTextFile(new URL(golden, TRANSLATE)), golden);
        // The printed form is the same document: compact JSON of it (and a newline) is the stored bytes.
        const printed = printable(rendered).gateways as { gateway: string; routing: unknown }[];
        const routing = printed.find((g) => g.gateway === output.gateway)!.routing;
        equal(`${JSON.stringify(routing)}\n`, output.routingJson);
      }
      const { outputs: _, ...status } = rendered;
      const golden = parse(await Deno.readTextFile(new URL(`${name}.status.yaml`, TRANSLATE)));
      deepEqual(withoutTimes(status), golden);
    });
  }
});

Deno.test("render of a folder prints routing, VCL, children and every status as the golden says", async () => {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runRender(
    { file: [new URL("shop", TESTDATA).pathname], output: "yaml" },
    { stdout: (s) => out.push(s), stderr: (s) => err.push(s) },
    OPTIONS.now,
  );
  equal(code, 0);
  equal(err.length, 1);
  equal(err[0].endsWith("shop/gateway.yaml#5 Deployment shop/catalog: not a kind the operator reads"), true, err[0]);
  const golden = new URL("shop.render.yaml", TESTDATA);
  if (UPDATE) await Deno.writeTextFile(golden, out.join(""));
  equal(out.join(""), await Deno.readTextFile(golden));
  const doc = parse(out.join(""));
  // The route without a namespace landed in "default" and is refused by the listener (allowedRoutes: Same).
  const elsewhere = doc.status.httpRoutes.find((r: { route: string }) => r.route === "default/elsewhere");
  equal(elsewhere.parents[0].conditions[0].reason, "NotAllowedByListeners");
  equal(doc.status.cachePolicies[0].status.ancestors[0].conditions[0].reason, "Accepted");
  equal(doc.gateways[0].children.length > 0, true);
});

Deno.test("render --output json prints the same document as YAML, and --gateway limits it", async () => {
  const run = async (output: "yaml" | "json", gateway?: string) => {
    const out: string[] = [];
    const file = [new URL("multiple_parents.in.yaml", TRANSLATE).pathname];
    const code = await runRender({ file, output, ...(gateway ? { gateway } : {}) }, {
      stdout: (s) => out.push(s),
      stderr: () => {},
    }, OPTIONS.now);
    return { code, text: out.join("") };
  };
  const yaml = await run("yaml");
  const json = await run("json");
  deepEqual(JSON.parse(json.text), parse(yaml.text));
  const one = JSON.parse((await run("json", "infra/gw2")).text);
  deepEqual(one.gateways.map((g: { gateway: string }) => g.gateway), ["infra/gw2"]);
  deepEqual(one.status.gateways.map((g: { gateway: string }) => g.gateway), ["infra/gw2"]);
  const missing = await run("yaml", "infra/nope");
  equal(missing.code, 1);
});

Deno.test("formatOutput() writes multi-line strings as literal blocks", () => {
  equal(formatOutput({ vcl: "a\nb\n" }, "yaml"), stringify({ vcl: "a\nb\n" }, { blockQuote: "literal" }));
  equal(formatOutput({ a: 1 }, "json"), '{\n  "a": 1\n}\n');
});

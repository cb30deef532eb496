import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import { readRoutingConfigMapData, ROUTING_GZIP_THRESHOLD, routingConfigMapData } from "./routing_config_map.ts";

Deno.test("routingConfigMapData() keeps a small routing.json as text", () => {
  deepStrictEqual(routingConfigMapData("{}\n", "vcl 4.1;\n"), {
    data: { "main.vcl": "vcl 4.1;\n", "routing.json": "{}\n" },
  });
});

Deno.test("routingConfigMapData() gzips a large routing.json into binaryData", () => {
  const large = JSON.stringify({ pad: "x".repeat(ROUTING_GZIP_THRESHOLD) }) + "\n";
  const out = routingConfigMapData(large, "vcl 4.1;\n");
  deepStrictEqual(out.data, { "main.vcl": "vcl 4.1;\n" });
  ok((out.binaryData?.["routing.json.gz"] ?? "").length < large.length / 10, "compressed");
});

Deno.test("readRoutingConfigMapData() reads back what routingConfigMapData() wrote", async (t) => {
  const cases = {
    "empty": "",
    "small": '{"version":1,"listeners":[],"vhosts":{}}\n',
    "non-ASCII": '{"ünïcödé":"✓"}\n',
    // Counted in bytes, not characters: just under the threshold in characters, over it in UTF-8.
    "multi-byte at the threshold": `"${"é".repeat(ROUTING_GZIP_THRESHOLD / 2)}"\n`,
    "large": JSON.stringify({ routes: Array.from({ length: 2000 }, (_, i) => ({ id: i, path: `/r${i}` })) }) + "\n",
  };
  for (const [name, routingJson] of Object.entries(cases)) {
    await t.step(name, () => {
      const encoded = routingConfigMapData(routingJson, "vcl 4.1;\n");
      deepStrictEqual(readRoutingConfigMapData(encoded), { routingJson, mainVcl: "vcl 4.1;\n" });
    });
  }
  await t.step("the compressed form is used above the threshold in bytes", () => {
    const encoded = routingConfigMapData(cases["multi-byte at the threshold"], "");
    strictEqual(encoded.data["routing.json"], undefined);
  });
});

Deno.test("readRoutingConfigMapData() tolerates missing fields and reports broken gzip", () => {
  deepStrictEqual(readRoutingConfigMapData({ data: null, binaryData: null }), {
    routingJson: undefined,
    mainVcl: undefined,
  });
  const broken = readRoutingConfigMapData({
    data: { "main.vcl": "vcl 4.1;\n" },
    binaryData: { "routing.json.gz": "bm90IGd6aXA=" },
  });
  strictEqual(broken.routingJson, undefined);
  strictEqual(broken.mainVcl, "vcl 4.1;\n");
  ok(broken.error?.startsWith("Cannot decode routing.json.gz: "), broken.error);
});

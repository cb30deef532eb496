import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import { gunzipSync } from "node:zlib";
import { ROUTING_GZIP_THRESHOLD, routingConfigMapData } from "./routing_config_map.ts";

Deno.test("routingConfigMapData() keeps a small routing.json as text", () => {
  deepStrictEqual(routingConfigMapData("{}\n", "vcl 4.1;\n"), {
    data: { "main.vcl": "vcl 4.1;\n", "routing.json": "{}\n" },
  });
});

Deno.test("routingConfigMapData() gzips a large routing.json into binaryData", () => {
  const large = JSON.stringify({ pad: "x".repeat(ROUTING_GZIP_THRESHOLD) }) + "\n";
  const out = routingConfigMapData(large, "vcl 4.1;\n");
  deepStrictEqual(out.data, { "main.vcl": "vcl 4.1;\n" });
  const gz = out.binaryData?.["routing.json.gz"] ?? "";
  ok(gz.length < large.length / 10, "compressed");
  strictEqual(gunzipSync(Buffer.from(gz, "base64")).toString(), large);
});

import { deepStrictEqual, strictEqual } from "node:assert/strict";
import { CONTRACT_SCHEMAS, renderJsonSchema } from "./json_schemas.ts";

Deno.test("renderJsonSchema() output is committed under ghost/contract/schema/", () => {
  for (const file of Object.keys(CONTRACT_SCHEMAS) as (keyof typeof CONTRACT_SCHEMAS)[]) {
    const committed = Deno.readTextFileSync(new URL(`schema/${file}`, import.meta.url));
    strictEqual(committed, renderJsonSchema(file), `${file} is stale: run deno task contract:schemas`);
  }
});

Deno.test("renderJsonSchema() forbids unknown fields like the Rust side does", () => {
  const schema = JSON.parse(renderJsonSchema("ghost.schema.json"));
  strictEqual(schema.additionalProperties, false);
  deepStrictEqual(schema.properties.version.enum, [1, 2]);
});

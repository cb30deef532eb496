/**
 * Writes the JSON Schema files of both contracts into `ghost/contract/schema/`. Run by `deno task contract:schemas`.
 *
 * @module
 */
import { CONTRACT_SCHEMAS, renderJsonSchema } from "./json_schemas.ts";

if (import.meta.main) {
  for (const file of Object.keys(CONTRACT_SCHEMAS) as (keyof typeof CONTRACT_SCHEMAS)[]) {
    const url = new URL(`schema/${file}`, import.meta.url);
    await Deno.mkdir(new URL("schema/", import.meta.url), { recursive: true });
    await Deno.writeTextFile(url, renderJsonSchema(file));
    console.log(`wrote ${url.pathname}`);
  }
}

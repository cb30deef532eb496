/**
 * The contracts as JSON Schema (draft 2020-12), for the Rust side and for editors.
 *
 * @module
 */
import { z } from "zod";
import { ghostDeltaSchema } from "./ghost_delta.ts";
import { ghostJsonSchema } from "./ghost_json.ts";
import { routingJsonSchema } from "./routing_json.ts";
import { routingManifestSchema } from "./routing_shards.ts";

/** File names under `ghost/contract/schema/` and the zod schema each is generated from. */
export const CONTRACT_SCHEMAS = {
  "routing.schema.json": { title: "Lacquer routing.json v1", schema: routingJsonSchema },
  "ghost.schema.json": { title: "Lacquer ghost.json v1 and v2", schema: ghostJsonSchema },
  "routing-shards.schema.json": { title: "Lacquer routing-shards.json v1 and v2", schema: routingManifestSchema },
  "ghost-delta.schema.json": { title: "Lacquer ghost.json.delta v1 and v2", schema: ghostDeltaSchema },
} as const;

/**
 * Renders one contract as JSON Schema text (input shape: fields with defaults are optional).
 *
 * @param file A key of {@linkcode CONTRACT_SCHEMAS}.
 * @returns The schema file's content, with a trailing newline.
 */
export function renderJsonSchema(file: keyof typeof CONTRACT_SCHEMAS): string {
  const { title, schema } = CONTRACT_SCHEMAS[file];
  const json = z.toJSONSchema(schema, { io: "input", target: "draft-2020-12" });
  return JSON.stringify({ title, ...json }, null, 2) + "\n";
}

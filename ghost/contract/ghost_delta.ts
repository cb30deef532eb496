/**
 * ghost.json.delta: what the chaperone hands ghost instead of the whole ghost.json when only vhosts or `backends`
 * entries changed. ghost applies it to the document it serves, known by a revision (`?delta=<base>&revision=<new>` on
 * the reload request, `ghost/README.md`): each vhost or entry named replaces the one of that key (added when new),
 * `null` removes the key, and every document-wide field (listeners, cache policies, requests, cluster) stays as
 * served. A change to one of those is a whole ghost.json. An endpoint change is the entry of its Service port alone,
 * whatever the number of vhosts naming it.
 *
 * @example Usage
 * ```ts
 * import { parseGhostDelta } from "./ghost_delta.ts";
 * const delta = parseGhostDelta('{"version": 1, "vhosts": {"gone.example": null}}');
 * ```
 *
 * @module
 */
import { z } from "zod";
import { backendKeySchema, ghostBackendEntrySchema, ghostBackendSchema } from "./ghost_json.ts";
import { parseContract } from "./parse_contract.ts";
import { versionSchema, vhostKeySchema, vhostSchema } from "./route_parts.ts";

/** The version of ghost.json.delta this code writes. */
export const GHOST_DELTA_VERSION = 1;

/** The versions of ghost.json.delta this code (and ghost) reads: version 2 adds `backends`. */
export const GHOST_DELTA_VERSIONS = [1, 2] as const;

/** The ghost.json.delta schema (versions 1 and 2). */
export const ghostDeltaSchema = z.strictObject({
  version: versionSchema(GHOST_DELTA_VERSIONS),
  /** The vhosts that change, each as in ghost.json, or `null` for a key removed. */
  vhosts: z.record(vhostKeySchema, vhostSchema(ghostBackendSchema).nullable()).default({}),
  /**
   * Version 2: the `backends` entries that change, or `null` for a key removed; the vhosts naming them follow
   * without being named here.
   */
  backends: z.record(backendKeySchema, ghostBackendEntrySchema.nullable()).optional(),
});

/** A parsed ghost.json.delta document, defaults applied. */
export type GhostDelta = z.output<typeof ghostDeltaSchema>;

/**
 * Parses a ghost.json.delta document.
 *
 * @param text The JSON text.
 * @returns The document with defaults applied.
 * @throws {ContractError} When the document is invalid; the message names the JSON path.
 */
export function parseGhostDelta(text: string): GhostDelta {
  return parseContract(ghostDeltaSchema, text, { document: "ghost.json.delta" });
}

/**
 * The body of a routing push: what the operator sends to each gateway pod's chaperone (`POST /routing` on its admin
 * port, with the Gateway's admin token) at the moment it writes a new routing generation, so that a route change
 * reaches traffic without waiting for the ConfigMap write and its watch event. It carries the Gateway's ConfigMap
 * content (main.vcl, and routing.json or the shards' manifest) and the shards the generation rewrote, each as a
 * ConfigMap's `data` and `binaryData`, so both sides decode them with the ConfigMap codec
 * (`routing_config_map.ts`), and the generation's sequence number ({@linkcode ROUTING_SEQUENCE_ANNOTATION}). The
 * ConfigMaps stay the record: a pod that misses a push reads the same generation from them a moment later.
 *
 * @module
 */
import { z } from "zod";
import { describeZodIssues } from "./zod_issues.ts";
import { ROUTING_SEQUENCE_ANNOTATION } from "./names.ts";

export { ROUTING_SEQUENCE_ANNOTATION };

/** A ConfigMap's content. */
export interface ConfigMapContent {
  /** Its `data`. */
  data?: Record<string, string>;
  /** Its `binaryData` (base64). */
  binaryData?: Record<string, string>;
}

/** One routing generation pushed to a gateway pod. */
export interface RoutingPush {
  /** The generation's sequence number, as on the Gateway's ConfigMap. */
  sequence: number;
  /** The Gateway's ConfigMap content. */
  configMap: ConfigMapContent;
  /** The shard ConfigMaps the generation rewrote, by name. */
  shards: Record<string, ConfigMapContent>;
}

/**
 * The largest push body a chaperone reads: a Gateway's first generation at 50,000 routes rewrites every shard, about
 * 10 MiB gzipped and base64-encoded; a route change pushes a few kilobytes.
 */
export const MAX_ROUTING_PUSH_BYTES = 32 << 20;

const content = z.strictObject({
  data: z.record(z.string(), z.string()).optional(),
  binaryData: z.record(z.string(), z.string()).optional(),
});

const pushSchema = z.strictObject({
  sequence: z.number().int().positive(),
  configMap: content,
  shards: z.record(z.string().min(1).max(253), content),
});

/**
 * Checks a push body.
 *
 * @example Usage
 * ```ts
 * import { parseRoutingPush } from "./routing_push.ts";
 * parseRoutingPush({ sequence: 1, configMap: { data: { "main.vcl": "vcl 4.1;\n" } }, shards: {} }).sequence; // 1
 * ```
 *
 * @param body The parsed JSON.
 * @returns The push.
 * @throws {Error} When it is not one, saying why.
 */
export function parseRoutingPush(body: unknown): RoutingPush {
  const parsed = pushSchema.safeParse(body);
  if (!parsed.success) {
    throw new Error(`Cannot take the routing push: ${describeZodIssues(parsed.error, "").join("; ")}`);
  }
  return parsed.data;
}

/**
 * Reads a ConfigMap's routing sequence number ({@linkcode ROUTING_SEQUENCE_ANNOTATION}).
 *
 * @example Usage
 * ```ts
 * import { routingSequenceOf } from "./routing_push.ts";
 * routingSequenceOf({ "lacquer.dev/routing-sequence": "17" }); // 17
 * ```
 *
 * @param annotations The ConfigMap's annotations.
 * @returns The number; undefined when there is none or it is not a positive integer.
 */
export function routingSequenceOf(annotations: Record<string, string> | null | undefined): number | undefined {
  const text = annotations?.[ROUTING_SEQUENCE_ANNOTATION];
  if (text === undefined || !/^[1-9][0-9]{0,15}$/.test(text)) return undefined;
  const n = Number(text);
  return Number.isSafeInteger(n) ? n : undefined;
}

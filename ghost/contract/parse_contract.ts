/**
 * Parsing of contract documents with errors that name the JSON path and what was wrong.
 *
 * @module
 */
import type { z } from "zod";
import { type GhostJson, ghostJsonSchema } from "./ghost_json.ts";
import { type RoutingJson, routingJsonSchema, routingShardSchema } from "./routing_json.ts";

/** One problem found in a document. */
export interface ContractIssue {
  /** Where, as a JSONPath such as `$.vhosts["a.example.com"].routes[0].matches[0].path.type`. */
  path: string;
  /** What was wrong. */
  message: string;
}

/** A document that does not follow its contract. `issues` lists every problem, the first one is in `message`. */
export class ContractError extends SyntaxError {
  /** Every problem found, in document order. */
  readonly issues: readonly ContractIssue[];
  /** Creates the error. */
  constructor(document: string, issues: readonly ContractIssue[], options?: ErrorOptions) {
    const first = issues[0] ?? { path: "$", message: "invalid document" };
    const more = issues.length > 1 ? ` (and ${issues.length - 1} more)` : "";
    super(`Cannot parse ${document}: at ${first.path}: ${first.message}${more}`, options);
    this.name = "ContractError";
    this.issues = issues;
  }
}

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * Formats a path as JSONPath: identifiers with dots, indexes and other keys in brackets.
 *
 * @example Usage
 * ```ts
 * import { formatJsonPath } from "./parse_contract.ts";
 * formatJsonPath(["vhosts", "a.example.com", "routes", 0]); // '$.vhosts["a.example.com"].routes[0]'
 * ```
 *
 * @param path The keys from the document root.
 * @returns The JSONPath.
 */
export function formatJsonPath(path: readonly PropertyKey[]): string {
  let out = "$";
  for (const key of path) {
    if (typeof key === "number") out += `[${key}]`;
    else if (typeof key === "string" && IDENTIFIER.test(key)) out += `.${key}`;
    else out += `[${JSON.stringify(String(key))}]`;
  }
  return out;
}

// A union's issue names no field. When exactly one of its options got past the value's own type (its issues are
// all inside the value), that is the option the document meant, so its first issue is the one to report.
function unwrapUnion(issue: z.core.$ZodIssue): z.core.$ZodIssue {
  if (issue.code !== "invalid_union") return issue;
  const meant = issue.errors.filter((option) => option.length > 0 && option.every((i) => i.path.length > 0));
  if (meant.length !== 1) return issue;
  const inner = unwrapUnion(meant[0][0]);
  return { ...inner, path: [...issue.path, ...inner.path] };
}

function describe(issue: z.core.$ZodIssue): string {
  if (issue.code === "unrecognized_keys") return `unknown field ${issue.keys.map((k) => `"${k}"`).join(", ")}`;
  if (issue.code === "invalid_key" && issue.issues[0]) return issue.issues[0].message;
  return issue.message;
}

/**
 * Parses and validates a document against a schema.
 *
 * @param schema The contract schema.
 * @param text The document's JSON text.
 * @param options `document` names the document in error messages.
 * @returns The parsed document with defaults applied.
 * @throws {ContractError} When the text is not JSON or does not follow the schema.
 */
export function parseContract<S extends z.ZodType>(
  schema: S,
  text: string,
  options: { document: string },
): z.output<S> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new ContractError(options.document, [{ path: "$", message: `not JSON: ${(err as Error).message}` }], {
      cause: err,
    });
  }
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issues = result.error.issues.map(unwrapUnion)
    .map((issue) => ({ path: formatJsonPath(issue.path), message: describe(issue) }));
  throw new ContractError(options.document, issues);
}

/**
 * Parses a routing.json document.
 *
 * @example Usage
 * ```ts
 * import { parseRoutingJson } from "./parse_contract.ts";
 * const routing = parseRoutingJson('{"version": 1, "vhosts": {}}');
 * ```
 *
 * @param text The JSON text.
 * @returns The document with defaults applied.
 * @throws {ContractError} When the document is invalid; the message names the JSON path.
 */
export function parseRoutingJson(text: string): RoutingJson {
  return parseContract(routingJsonSchema, text, { document: "routing.json" });
}

/**
 * Parses one shard of a routing.json stored in shards (`routing_shards.ts`): as {@linkcode parseRoutingJson}, but its
 * backend groups may name CA bundles another shard of the generation holds (`assembleRouting` and the chaperone's
 * reader check those against the generation's).
 *
 * @example Usage
 * ```ts
 * import { parseRoutingShard } from "./parse_contract.ts";
 * const shard = parseRoutingShard('{"version": 1, "vhosts": {}}');
 * ```
 *
 * @param text The JSON text.
 * @returns The document with defaults applied.
 * @throws {ContractError} When the document is invalid; the message names the JSON path.
 */
export function parseRoutingShard(text: string): RoutingJson {
  return parseContract(routingShardSchema, text, { document: "routing.json shard" });
}

/**
 * Parses a ghost.json document.
 *
 * @example Usage
 * ```ts
 * import { parseGhostJson } from "./parse_contract.ts";
 * const ghost = parseGhostJson('{"version": 1, "vhosts": {}}');
 * ```
 *
 * @param text The JSON text.
 * @returns The document with defaults applied.
 * @throws {ContractError} When the document is invalid; the message names the JSON path.
 */
export function parseGhostJson(text: string): GhostJson {
  return parseContract(ghostJsonSchema, text, { document: "ghost.json" });
}

/**
 * Serializes a contract document the one way the product writes it: compact JSON with a trailing newline.
 *
 * Key order is the order in which the producer built the objects, so a deterministic producer gives
 * byte-identical output for identical input.
 *
 * @param document A routing.json or ghost.json document.
 * @returns The file content.
 */
export function stringifyContract(document: RoutingJson | GhostJson): string {
  return JSON.stringify(document) + "\n";
}

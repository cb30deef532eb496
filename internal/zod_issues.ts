/**
 * Turns zod issues into messages for people: one text per problem, naming the field.
 *
 * @module
 */
import type { z } from "zod";

/**
 * Describes each issue of a zod error as `<root><path>: <message>`, with unknown fields listed by name.
 *
 * @example Usage
 * ```ts
 * import { z } from "zod";
 * import { describeZodIssues } from "./zod_issues.ts";
 * const parsed = z.strictObject({ ttl: z.number() }).safeParse({ ttl: "1", x: 1 });
 * if (!parsed.success) console.log(describeZodIssues(parsed.error, "spec"));
 * // [ 'spec.ttl: Invalid input: expected number, received string', 'spec: unknown field "x"' ]
 * ```
 *
 * @param error The failed parse.
 * @param root The name of the parsed value, prefixed to each path (`spec` gives `spec.ttl`); empty for none.
 * @returns One message per issue, in zod's order.
 */
export function describeZodIssues(error: z.ZodError, root: string): string[] {
  return error.issues.map((issue) => {
    const path = issue.path.map((p) => (typeof p === "number" ? `[${p}]` : `.${String(p)}`)).join("");
    const message = issue.code === "unrecognized_keys"
      ? `unknown field${issue.keys.length > 1 ? "s" : ""} ${issue.keys.map((k) => `"${k}"`).join(", ")}`
      : issue.message;
    const where = root === "" ? path.replace(/^\./, "") : `${root}${path}`;
    return where === "" ? message : `${where}: ${message}`;
  });
}

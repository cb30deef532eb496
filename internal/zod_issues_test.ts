import { deepStrictEqual } from "node:assert/strict";
import { z } from "zod";
import { describeZodIssues } from "./zod_issues.ts";

const schema = z.strictObject({ list: z.array(z.string().min(1, "must not be empty")), n: z.number().optional() });

function issues(input: unknown, root: string): string[] {
  const parsed = schema.safeParse(input);
  return parsed.success ? [] : describeZodIssues(parsed.error, root);
}

Deno.test("describeZodIssues() names the field under a root", () => {
  deepStrictEqual(issues({ list: ["a", ""], x: 1, y: 2 }, "spec"), [
    "spec.list[1]: must not be empty",
    'spec: unknown fields "x", "y"',
  ]);
});

Deno.test("describeZodIssues() names the field without a root", () => {
  deepStrictEqual(issues({ list: [""] }, ""), ["list[0]: must not be empty"]);
  deepStrictEqual(issues("text", ""), ["Invalid input: expected object, received string"]);
});

import { equal } from "node:assert/strict";
import { matchesSelector } from "./label_selector.ts";

Deno.test("matchesSelector() applies matchLabels and every expression operator", () => {
  const labels = { env: "prod", team: "a" };
  equal(matchesSelector({}, labels), true);
  equal(matchesSelector({ matchLabels: { env: "prod" } }, labels), true);
  equal(matchesSelector({ matchLabels: { env: "dev" } }, labels), false);
  equal(matchesSelector({ matchExpressions: [{ key: "team", operator: "In", values: ["a", "b"] }] }, labels), true);
  equal(matchesSelector({ matchExpressions: [{ key: "team", operator: "NotIn", values: ["a"] }] }, labels), false);
  equal(matchesSelector({ matchExpressions: [{ key: "x", operator: "Exists" }] }, labels), false);
  equal(matchesSelector({ matchExpressions: [{ key: "x", operator: "DoesNotExist" }] }, labels), true);
  equal(matchesSelector({ matchExpressions: [{ key: "x", operator: "NotIn", values: ["a"] }] }, undefined), true);
});

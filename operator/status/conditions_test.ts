import { deepEqual } from "node:assert/strict";
import { MAX_MESSAGE_LENGTH, mergeConditions, routeAccepted, routeNotAccepted } from "./conditions.ts";

Deno.test("mergeConditions() keeps lastTransitionTime unless the status flips", () => {
  const old = [{ ...routeAccepted(1), lastTransitionTime: "2025-01-01T00:00:00Z" }];
  deepEqual(mergeConditions(old, [routeAccepted(2)], "2026-01-01T00:00:00Z"), [
    { ...routeAccepted(2), lastTransitionTime: "2025-01-01T00:00:00Z" },
  ]);
  const flipped = routeNotAccepted("NoMatchingParent", "no", 2);
  deepEqual(mergeConditions(old, [flipped], "2026-01-01T00:00:00Z"), [
    { ...flipped, lastTransitionTime: "2026-01-01T00:00:00Z" },
  ]);
});

Deno.test("routeNotAccepted() truncates messages to the API limit", () => {
  const long = routeNotAccepted("UnsupportedValue", "x".repeat(MAX_MESSAGE_LENGTH + 10));
  deepEqual(long.message.length, MAX_MESSAGE_LENGTH);
});

import { equal } from "node:assert/strict";
import { namespacedPath, watchesNamespace } from "./watch_scope.ts";

Deno.test("namespacedPath() puts the namespace before the resource of core and group paths", () => {
  equal(namespacedPath("/api/v1/services", "a"), "/api/v1/namespaces/a/services");
  equal(
    namespacedPath("/apis/lacquer.dev/v1alpha1/cacheinvalidations", "team-b"),
    "/apis/lacquer.dev/v1alpha1/namespaces/team-b/cacheinvalidations",
  );
});

Deno.test("watchesNamespace() admits every namespace without a list and only the listed ones with one", () => {
  equal(watchesNamespace(undefined, "x"), true);
  equal(watchesNamespace(["a", "b"], "b"), true);
  equal(watchesNamespace(["a", "b"], "x"), false);
});

import { deepEqual } from "node:assert/strict";
import { snapshotNamespaces } from "./cluster_watcher.ts";
import type { Snapshot } from "./snapshot.ts";

const objects = (...namespaces: string[]) => namespaces.map((namespace) => ({ metadata: { namespace } }));
const s = {
  gateways: objects("gw"),
  httpRoutes: objects("a", "b", "a"),
  ingresses: objects("ing"),
  listenerSets: objects("ls"),
} as unknown as Pick<Snapshot, "gateways" | "httpRoutes" | "ingresses" | "listenerSets">;

Deno.test("snapshotNamespaces() reads the routes' Namespaces from them unless they are given", () => {
  deepEqual([...snapshotNamespaces(s)].sort(), ["a", "b", "gw", "ing", "ls"]);
  // given (kept by the controller's route index): the routes are not read
  deepEqual([...snapshotNamespaces(s, ["kept"])].sort(), ["gw", "ing", "kept", "ls"]);
  deepEqual([...snapshotNamespaces(s, [])].sort(), ["gw", "ing", "ls"]);
});

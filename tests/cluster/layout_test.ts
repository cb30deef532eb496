import { strictEqual, throws } from "node:assert/strict";
import { clusterLayout, lacquerCacheDir } from "./layout.ts";

Deno.test("clusterLayout() derives namespace names and paths from the cluster name", () => {
  const l = clusterLayout("tabc123", { root: "/r" });
  strictEqual(l.netns, "lacquer-tabc123");
  strictEqual(l.kubeconfig, "/r/tabc123/kubeconfig");
  strictEqual(clusterLayout("lacquer").netns, "lacquer");
  strictEqual(l.nodeDir, "/r/tabc123/node");
  strictEqual(l.cgroupName, "lacquer-tabc123");
});

Deno.test("clusterLayout() rejects names unusable in interface names", () => {
  throws(() => clusterLayout("Bad-Name"), RangeError);
  throws(() => clusterLayout("waytoolongname1"), RangeError);
});

Deno.test("lacquerCacheDir() takes $LACQUER_CACHE, else ~/.cache/lacquer, as scripts/lib.sh does", () => {
  strictEqual(lacquerCacheDir(new Map([["LACQUER_CACHE", "/c"], ["HOME", "/h"]])), "/c");
  strictEqual(lacquerCacheDir(new Map([["LACQUER_CACHE", ""], ["HOME", "/h"]])), "/h/.cache/lacquer");
  strictEqual(lacquerCacheDir(new Map([["HOME", "/h"]])), "/h/.cache/lacquer");
});

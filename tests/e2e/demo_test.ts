/**
 * `deno task demo` end to end, as a user runs it on a fresh machine after set-up: a real-node cluster of its own,
 * Lacquer installed by `helm install` (operator and gateway pods from their images), the demo app, a Programmed
 * Gateway whose traffic follows the route's 80/20 split and its /green rule (`scripts/demo.ts --check`).
 */
import { ok, strictEqual } from "node:assert/strict";
import { clusterAvailable } from "../cluster/mod.ts";
import { clusterLayout, lacquerCacheDir } from "../cluster/layout.ts";
import { nodeImageArchives } from "../cluster/node/node_images.ts";

const DEMO = new URL("../../scripts/demo.ts", import.meta.url).pathname;
const imagesMissing = await nodeImageArchives(lacquerCacheDir(Deno.env)).then(() => false, () => true);

Deno.test({
  name: "the demo installs Lacquer with the chart on a real node and its Gateway serves the split",
  ignore: !clusterAvailable() || imagesMissing,
}, async () => {
  const cluster = "d" + Array.from(crypto.getRandomValues(new Uint8Array(6)), (b) => (b % 36).toString(36)).join("");
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", DEMO, "--check", "--cluster", cluster],
    stdin: "null",
  }).output();
  const [stdout, stderr] = [new TextDecoder().decode(out.stdout), new TextDecoder().decode(out.stderr)];
  strictEqual(out.code, 0, `${stdout}\n${stderr}`);
  ok(stderr.includes("operator running in-cluster from ghcr.io/lacquer/lacquer-operator:"), stderr);
  ok(stdout.includes("demo: PASSED"), stdout);
  ok(
    !(await Deno.stat(`/run/netns/${clusterLayout(cluster).netns}`).then(() => true, () => false)),
    "the demo's cluster is gone",
  );
});

import { strictEqual, throws } from "node:assert/strict";
import { loadKubeConfig } from "./kubeconfig.ts";

Deno.test("loadKubeConfig() loads the named kubeconfig file", async () => {
  const file = await Deno.makeTempFile({ suffix: ".yaml" });
  try {
    await Deno.writeTextFile(
      file,
      [
        "apiVersion: v1",
        "kind: Config",
        "clusters: [{name: c, cluster: {server: 'https://10.0.0.1:6443'}}]",
        "users: [{name: u, user: {token: t}}]",
        "contexts: [{name: x, context: {cluster: c, user: u}}]",
        "current-context: x",
      ].join("\n"),
    );
    const kc = loadKubeConfig({ kubeconfig: file, env: () => undefined });
    strictEqual(kc.getCurrentCluster()?.server, "https://10.0.0.1:6443");
  } finally {
    await Deno.remove(file);
  }
});

Deno.test("loadKubeConfig() refuses to guess when neither a kubeconfig nor a cluster is configured", () => {
  throws(() => loadKubeConfig({ env: () => undefined }), TypeError);
});

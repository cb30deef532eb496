import { strictEqual, throws } from "node:assert/strict";
import { loadKubeConfig } from "./kubeconfig.ts";
import { withKubeconfigFile } from "./_test_kubeconfig.ts";

Deno.test("loadKubeConfig() loads the named kubeconfig file", async () => {
  await withKubeconfigFile("https://10.0.0.1:6443", (file) => {
    const kc = loadKubeConfig({ kubeconfig: file, env: () => undefined });
    strictEqual(kc.getCurrentCluster()?.server, "https://10.0.0.1:6443");
  });
});

Deno.test("loadKubeConfig() refuses to guess when neither a kubeconfig nor a cluster is configured", () => {
  throws(() => loadKubeConfig({ env: () => undefined }), TypeError);
});

import { deepStrictEqual, rejects, strictEqual } from "node:assert/strict";
import { loadKubeCredentials } from "./credentials.ts";
import { withKubeconfigFile } from "./_test_kubeconfig.ts";

Deno.test("loadKubeCredentials() takes a named kubeconfig file's cluster and user", async () => {
  await withKubeconfigFile("https://10.0.0.1:6443/", async (file) => {
    // The kubeconfig wins over an in-cluster environment.
    const credentials = await loadKubeCredentials({
      kubeconfig: file,
      env: (name) => name === "KUBERNETES_SERVICE_HOST" ? "10.96.0.1" : undefined,
    });
    strictEqual(credentials.server, "https://10.0.0.1:6443");
    deepStrictEqual((await credentials.auth()).headers, { Authorization: "Bearer t" });
  });
});

Deno.test("loadKubeCredentials() refuses to guess when neither a kubeconfig nor a cluster is configured", async () => {
  await rejects(loadKubeCredentials({ env: () => undefined }), TypeError);
});

/**
 * Loads a client-node `KubeConfig` the explicit way: a kubeconfig file when one is
 * named, else the in-cluster service account, else an error. Never `loadFromDefault()`, which silently falls back
 * to `http://localhost:8080`.
 *
 * @module
 */
import * as k8s from "@kubernetes/client-node";

/** Options for {@linkcode loadKubeConfig}. */
export interface LoadKubeConfigOptions {
  /** Path of a kubeconfig file; wins over everything else. @default {the `KUBECONFIG` environment variable} */
  kubeconfig?: string;
  /**
   * Reads an environment variable (for choosing the source). client-node itself reads `KUBERNETES_SERVICE_HOST`
   * and `KUBERNETES_SERVICE_PORT` from the process environment when loading in-cluster. @default {Deno.env.get}
   */
  env?: (name: string) => string | undefined;
}

/**
 * Loads the Kubernetes client configuration: `--kubeconfig`/`KUBECONFIG` first, else the in-cluster service
 * account when `KUBERNETES_SERVICE_HOST` is set.
 *
 * @example Usage
 * ```ts ignore
 * import { loadKubeConfig } from "./kubeconfig.ts";
 * const kc = loadKubeConfig({ kubeconfig: "/tmp/kubeconfig" });
 * ```
 *
 * @param options Where to look.
 * @returns The loaded configuration.
 * @throws {TypeError} When neither a kubeconfig nor an in-cluster environment is available.
 */
export function loadKubeConfig(options: LoadKubeConfigOptions = {}): k8s.KubeConfig {
  const env = options.env ?? ((name: string) => Deno.env.get(name));
  const kc = new k8s.KubeConfig();
  const file = options.kubeconfig ?? env("KUBECONFIG");
  if (file) {
    kc.loadFromFile(file.split(":")[0]);
    return kc;
  }
  if (env("KUBERNETES_SERVICE_HOST")) {
    kc.loadFromCluster();
    return kc;
  }
  throw new TypeError(
    "Cannot load the Kubernetes configuration: neither --kubeconfig, KUBECONFIG nor KUBERNETES_SERVICE_HOST is set",
  );
}

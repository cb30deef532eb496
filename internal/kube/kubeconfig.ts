/**
 * Loads a client-node `KubeConfig` from a kubeconfig file. Only `loadKubeCredentials` (`credentials.ts`, for a
 * named file) and tests import this module: client-node is large, and the pod's service account needs none of it
 * (`in_cluster.ts`).
 *
 * @module
 */
import * as k8s from "@kubernetes/client-node";

/** Options for {@linkcode loadKubeConfig}. */
export interface LoadKubeConfigOptions {
  /** Path of a kubeconfig file (of a `KUBECONFIG` list, the first). @default {the `KUBECONFIG` environment variable} */
  kubeconfig?: string;
  /** Reads an environment variable. @default {Deno.env.get} */
  env?: (name: string) => string | undefined;
}

/**
 * Loads a kubeconfig file: `--kubeconfig`, else `KUBECONFIG`. Never `loadFromDefault()`, which silently falls back to
 * `http://localhost:8080`.
 *
 * @example Usage
 * ```ts ignore
 * import { loadKubeConfig } from "./kubeconfig.ts";
 * const kc = loadKubeConfig({ kubeconfig: "/tmp/kubeconfig" });
 * ```
 *
 * @param options Where to look.
 * @returns The loaded configuration.
 * @throws {TypeError} When no kubeconfig file is named.
 */
export function loadKubeConfig(options: LoadKubeConfigOptions = {}): k8s.KubeConfig {
  const env = options.env ?? ((name: string) => Deno.env.get(name));
  const file = options.kubeconfig ?? env("KUBECONFIG");
  if (!file) throw new TypeError("Cannot load the kubeconfig: neither --kubeconfig nor KUBECONFIG is set");
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(file.split(":")[0]);
  return kc;
}

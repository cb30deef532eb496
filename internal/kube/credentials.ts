/**
 * Where API requests go and how they authenticate, apart from how the client sends them. Two sources: the pod's own
 * service account (`in_cluster.ts`, a few file reads) and a kubeconfig file (client-node's `KubeConfig`, imported only
 * when a kubeconfig is named: loading client-node costs about half a CPU-second, which a restarted gateway pod's
 * clients would wait for).
 *
 * @module
 */
import type * as k8s from "@kubernetes/client-node";
import { inClusterCredentials } from "./in_cluster.ts";

/** What one request carries: headers (the bearer token), and the TLS material for its connection. */
export interface KubeAuth {
  /** Headers added to the request. */
  headers: Record<string, string>;
  /** CA certificates the server's certificate must chain to, PEM; none: the system's. */
  ca?: string;
  /** Client certificate, PEM. */
  cert?: string;
  /** Client key, PEM. */
  key?: string;
}

/** The API server and the credentials for it. */
export interface KubeCredentials {
  /** The API server URL, without a trailing slash. */
  readonly server: string;
  /** The credentials for the next request; rotated files are read again as they need to be. */
  auth(): Promise<KubeAuth>;
  /**
   * Called when the server answered 401: reads the credentials again at once.
   *
   * @returns Whether they changed (then the request is worth one retry).
   */
  refresh?(): Promise<boolean>;
}

function toText(value: unknown): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (Array.isArray(value)) return value.map((v) => toText(v)).join("\n");
  if (value instanceof Uint8Array) return new TextDecoder().decode(value);
  return String(value);
}

/**
 * The credentials of a client-node `KubeConfig`'s current context, taken from `applyToHTTPSOptions` for every request
 * so that its rotated token files and exec plugins apply.
 *
 * @example Usage
 * ```ts ignore
 * import { kubeConfigCredentials } from "./credentials.ts";
 * import { loadKubeConfig } from "./kubeconfig.ts";
 * const credentials = kubeConfigCredentials(loadKubeConfig({ kubeconfig: "/tmp/kubeconfig" }));
 * ```
 *
 * @param kc The loaded configuration.
 * @returns Its credentials.
 * @throws {TypeError} When the configuration has no current cluster.
 */
export function kubeConfigCredentials(kc: k8s.KubeConfig): KubeCredentials {
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new TypeError("Cannot create a Kubernetes client: the kubeconfig has no current cluster");
  return {
    server: cluster.server.replace(/\/$/, ""),
    async auth() {
      // deno-lint-ignore no-explicit-any
      const opts: any = { headers: {} };
      await kc.applyToHTTPSOptions(opts);
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(opts.headers ?? {})) {
        if (v !== undefined) headers[k] = String(v);
      }
      return { headers, ca: toText(opts.ca), cert: toText(opts.cert), key: toText(opts.key) };
    },
  };
}

/** Options for {@linkcode loadKubeCredentials}. */
export interface LoadKubeCredentialsOptions {
  /** Path of a kubeconfig file; wins over everything else. @default {the `KUBECONFIG` environment variable} */
  kubeconfig?: string;
  /** Reads an environment variable. @default {Deno.env.get} */
  env?: (name: string) => string | undefined;
}

/**
 * Loads the credentials the explicit way: `--kubeconfig`/`KUBECONFIG` first (through client-node, imported only
 * then), else the pod's service account when `KUBERNETES_SERVICE_HOST` is set (without client-node), else an error.
 * Never a guess such as `http://localhost:8080`.
 *
 * @example Usage
 * ```ts ignore
 * import { createKubeClient, loadKubeCredentials } from "./mod.ts";
 * const client = createKubeClient(await loadKubeCredentials({ kubeconfig: "/tmp/kubeconfig" }));
 * ```
 *
 * @param options Where to look.
 * @returns The credentials.
 * @throws {TypeError} When neither a kubeconfig nor an in-cluster environment is available, or the service account's
 * files cannot be used.
 */
export async function loadKubeCredentials(options: LoadKubeCredentialsOptions = {}): Promise<KubeCredentials> {
  const env = options.env ?? ((name: string) => Deno.env.get(name));
  const file = options.kubeconfig ?? env("KUBECONFIG");
  if (file) {
    const { loadKubeConfig } = await import("./kubeconfig.ts");
    return kubeConfigCredentials(loadKubeConfig({ kubeconfig: file, env }));
  }
  if (env("KUBERNETES_SERVICE_HOST")) return await inClusterCredentials({ env });
  throw new TypeError(
    "Cannot load the Kubernetes configuration: neither --kubeconfig, KUBECONFIG nor KUBERNETES_SERVICE_HOST is set",
  );
}

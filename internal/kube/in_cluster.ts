/**
 * The pod's own service account as API credentials, without client-node: the server from `KUBERNETES_SERVICE_HOST`
 * and `KUBERNETES_SERVICE_PORT`, the bearer token and the CA from the files the kubelet projects into the pod.
 *
 * Projected tokens rotate (the kubelet rewrites the file well before the token expires), so the files are read again
 * when the last read is a minute old, as client-go and client-node do, and at once after a 401.
 *
 * @module
 */
import type { KubeAuth, KubeCredentials } from "./credentials.ts";

/** Where the kubelet mounts the service account's token, CA certificate and namespace. */
export const SERVICE_ACCOUNT_DIR = "/var/run/secrets/kubernetes.io/serviceaccount";

/** Options for {@linkcode inClusterCredentials}. */
export interface InClusterOptions {
  /** Reads an environment variable. @default {Deno.env.get} */
  env?: (name: string) => string | undefined;
  /** The directory of `token` and `ca.crt`. @default {SERVICE_ACCOUNT_DIR} */
  dir?: string;
  /** How long a read of the files serves requests. @default {60000} */
  maxAgeMs?: number;
  /** Milliseconds on a monotonic clock (tests). @default {performance.now} */
  now?: () => number;
}

/**
 * Reads the service account's credentials; the token and CA files are read now, so a pod without them fails at once.
 *
 * @example Usage
 * ```ts ignore
 * import { createKubeClient, inClusterCredentials } from "./mod.ts";
 * const client = createKubeClient(await inClusterCredentials());
 * ```
 *
 * @param options The environment, the files and the clock.
 * @returns The credentials; a failed later read keeps the last token (and is tried again on the next request).
 * @throws {TypeError} When `KUBERNETES_SERVICE_HOST` or `KUBERNETES_SERVICE_PORT` is unset, or a file cannot be read.
 */
export async function inClusterCredentials(options: InClusterOptions = {}): Promise<KubeCredentials> {
  const env = options.env ?? ((name: string) => Deno.env.get(name));
  const dir = options.dir ?? SERVICE_ACCOUNT_DIR;
  const maxAgeMs = options.maxAgeMs ?? 60_000;
  const now = options.now ?? (() => performance.now());
  const host = env("KUBERNETES_SERVICE_HOST");
  const port = env("KUBERNETES_SERVICE_PORT");
  if (!host || !port) {
    throw new TypeError(
      "Cannot load the in-cluster configuration: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT must be set",
    );
  }
  const server = `https://${host.includes(":") && !host.startsWith("[") ? `[${host}]` : host}:${port}`;
  const read = async (): Promise<KubeAuth> => {
    const [token, ca] = await Promise.all([
      Deno.readTextFile(`${dir}/token`),
      Deno.readTextFile(`${dir}/ca.crt`),
    ]);
    return { headers: { Authorization: `Bearer ${token.trim()}` }, ca };
  };
  let current: KubeAuth;
  try {
    current = await read();
  } catch (err) {
    throw new TypeError(`Cannot load the in-cluster configuration: ${(err as Error).message}`, { cause: err });
  }
  let readAt = now();
  let reading: Promise<KubeAuth> | undefined;
  // One read at a time, whoever asks; a failed read keeps the last credentials and is retried by the next request.
  const reread = () =>
    reading ??= read().then((auth) => {
      current = auth;
      readAt = now();
      return auth;
    }, () => current).finally(() => reading = undefined);
  return {
    server,
    auth: () => now() - readAt < maxAgeMs ? Promise.resolve(current) : reread(),
    async refresh() {
      const before = current.headers.Authorization;
      return (await reread()).headers.Authorization !== before;
    },
  };
}

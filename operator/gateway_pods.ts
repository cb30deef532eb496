/**
 * Reaching the chaperones of gateway pods: the live pods of some Gateways, found in the operator's caches; each
 * Gateway's admin token, read from its Secret and kept while the cached Secret is unchanged; and one POST to a pod's
 * admin port with that token and a deadline. Invalidations (`invalidation/executor.ts`) and routing pushes
 * (`routing_pusher.ts`) go this way.
 *
 * @module
 */
import { KubeApiError, type KubeClient } from "../internal/kube/mod.ts";
import { CHAPERONE_ADMIN_PORT, gatewayNameOf } from "../internal/names.ts";
import { adminTokenFromSecret, adminTokenSecretName } from "./admin_token.ts";
import type { Pod } from "./api_types.ts";
import type { ClusterWatcher } from "./cluster_watcher.ts";
import { keyOf } from "./snapshot_index.ts";

/** A live gateway pod. */
export interface TargetPod {
  /** `namespace/name`. */
  pod: string;
  /** Its Gateway, `namespace/name`. */
  gateway: string;
  /** Its IP. */
  ip: string;
}

/** What is read from the operator's caches: the Pods, and the admin token Secrets' versions. */
export type GatewayPodsCache = Pick<ClusterWatcher, "list" | "raw">;

/** Options of {@linkcode GatewayPods}. */
export interface GatewayPodsOptions {
  /** API client (reads the admin token Secrets). */
  client: KubeClient;
  /** The operator's caches. */
  cache: GatewayPodsCache;
  /** The chaperone admin port (tests). @default {CHAPERONE_ADMIN_PORT} */
  adminPort?: number;
}

/** A pod's answer to a POST. */
export interface PodAnswer {
  /** The HTTP status. */
  status: number;
  /** The body. */
  text: string;
}

/** Finds gateway pods and posts to their chaperones. */
export class GatewayPods {
  #o: GatewayPodsOptions;
  // Admin tokens by Secret key, valid while the cached Secret has the same resourceVersion.
  #tokens = new Map<string, { resourceVersion: string | undefined; token: string }>();

  /** Creates the client. */
  constructor(options: GatewayPodsOptions) {
    this.#o = options;
  }

  /**
   * Returns the live pods of some Gateways: labelled with the Gateway, with an IP, not terminating.
   *
   * @param gateways Gateway keys.
   * @returns The pods, sorted by key.
   */
  live(gateways: readonly string[]): TargetPod[] {
    const wanted = new Set(gateways);
    const out: TargetPod[] = [];
    for (const p of this.#o.cache.list<Pod>("Pod")) {
      const gateway = keyOf(p.metadata.namespace, gatewayNameOf(p.metadata) ?? "");
      const ip = p.status?.podIP;
      if (!wanted.has(gateway) || !ip || p.metadata.deletionTimestamp) continue;
      out.push({ pod: keyOf(p.metadata.namespace, p.metadata.name), gateway, ip });
    }
    return out.sort((a, b) => a.pod.localeCompare(b.pod));
  }

  /**
   * Returns a Gateway's admin token: kept while its cached Secret is unchanged, else read from the API.
   *
   * @param gateway The Gateway's key.
   * @returns The token.
   * @throws {Error} When the Secret is missing, unreadable or holds no token.
   */
  async token(gateway: string): Promise<string> {
    const [namespace, name] = gateway.split("/");
    const secret = keyOf(namespace, adminTokenSecretName(name));
    const cachedVersion = this.#o.cache.raw("Secret", secret)?.metadata.resourceVersion;
    const known = this.#tokens.get(secret);
    if (known && cachedVersion !== undefined && known.resourceVersion === cachedVersion) return known.token;
    let object: { metadata: { resourceVersion?: string }; data?: Record<string, string> };
    try {
      object = await this.#o.client.request(`/api/v1/namespaces/${namespace}/secrets/${adminTokenSecretName(name)}`);
    } catch (err) {
      if (err instanceof KubeApiError && err.code === 404) throw new Error(`admin token Secret ${secret} not found`);
      throw new Error(`admin token Secret ${secret} unreadable: ${(err as Error).message}`);
    }
    const token = adminTokenFromSecret(object);
    if (!token) throw new Error(`admin token Secret ${secret} holds no token`);
    this.#tokens.set(secret, { resourceVersion: object.metadata.resourceVersion, token });
    return token;
  }

  /**
   * POSTs a JSON body to a pod's chaperone with the admin token.
   *
   * @param pod The pod.
   * @param path The admin path.
   * @param token The admin token of the pod's Gateway.
   * @param body The JSON text.
   * @param options The deadline and an abort signal.
   * @returns The pod's answer, whatever its status.
   * @throws {Error} `no answer within <n> ms` past the deadline, `unreachable: <why>` when it cannot be asked.
   */
  async post(
    pod: TargetPod,
    path: string,
    token: string,
    body: string,
    options: { timeoutMs: number; signal?: AbortSignal },
  ): Promise<PodAnswer> {
    const host = pod.ip.includes(":") ? `[${pod.ip}]` : pod.ip;
    const timeout = AbortSignal.timeout(options.timeoutMs);
    try {
      const response = await fetch(`http://${host}:${this.#o.adminPort ?? CHAPERONE_ADMIN_PORT}${path}`, {
        method: "POST",
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
        body,
        signal: options.signal ? AbortSignal.any([timeout, options.signal]) : timeout,
      });
      return { status: response.status, text: await response.text() };
    } catch (err) {
      const e = err as Error;
      throw new Error(
        e.name === "TimeoutError"
          ? `no answer within ${options.timeoutMs} ms`
          : `unreachable: ${e.message.slice(0, 200)}`,
      );
    }
  }
}

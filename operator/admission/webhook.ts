/**
 * The validating webhook the operator serves (every replica, leader or not): HTTPS on its own certificate, which it
 * keeps in a Secret (created by whichever replica comes first, renewed before expiry, `webhook_pki.ts`) and whose CA
 * it keeps current in the ValidatingWebhookConfiguration's `caBundle`. The configuration's `failurePolicy: Ignore`
 * and short timeout mean the cluster never waits on an operator that is down; the status path reports the same
 * problems anyway.
 *
 * @module
 */
import { abortableSleep } from "../../internal/abortable_sleep.ts";
import { KubeApiError, type KubeClient } from "../../internal/kube/mod.ts";
import type { ListenAddress } from "../../internal/listen_address.ts";
import type { Logger } from "../../internal/log.ts";
import { parseReview, reviewResponse } from "./review.ts";
import {
  type GatewayListeners,
  routeParents,
  validateCachePolicy,
  validateHttpRoute,
  type Verdict,
} from "./validate.ts";
import { refreshPki, type ServingNames, type WebhookPki } from "./webhook_pki.ts";

/** The path the ValidatingWebhookConfiguration calls. */
export const WEBHOOK_PATH = "/validate";

/** What {@linkcode runAdmissionWebhook} needs. */
export interface AdmissionWebhookOptions {
  /** API client (Secret, ValidatingWebhookConfiguration, parent Gateways). */
  client: KubeClient;
  /** Logger. */
  log: Logger;
  /** Where to listen. */
  address: ListenAddress;
  /** The Secret `namespace` and `name` that keeps the certificates. */
  secret: { namespace: string; name: string };
  /** The ValidatingWebhookConfiguration whose `caBundle` to keep current. */
  configurationName: string;
  /** The names the serving certificate is valid for. */
  names: ServingNames;
  /** How often the certificates and the CA bundle are checked. @default {60_000} */
  refreshMs?: number;
  /** Stops the webhook. */
  signal: AbortSignal;
  /** Called with the port once serving (tests listen on port 0). */
  onListen?: (port: number) => void;
  /** The time. @default {() => new Date()} */
  now?: () => Date;
}

const KEYS = { caCert: "ca.crt", caKey: "ca.key", caBundle: "ca-bundle.crt", cert: "tls.crt", key: "tls.key" } as const;

function decode(data: Record<string, string> | undefined): WebhookPki | undefined {
  if (!data) return undefined;
  const out: Partial<WebhookPki> = {};
  for (const [field, key] of Object.entries(KEYS) as [keyof WebhookPki, string][]) {
    if (typeof data[key] !== "string") return undefined;
    out[field] = new TextDecoder().decode(Uint8Array.from(atob(data[key]), (c) => c.charCodeAt(0)));
  }
  return out as WebhookPki;
}

function encode(pki: WebhookPki): Record<string, string> {
  return Object.fromEntries(
    (Object.entries(KEYS) as [keyof WebhookPki, string][]).map(([field, key]) => [key, btoa(pki[field])]),
  );
}

/**
 * Reads the certificates from the Secret, renews what is due and writes them back (optimistically: a replica that
 * loses the race reads the winner's), then puts the CA bundle into the ValidatingWebhookConfiguration.
 *
 * @param options The webhook's options.
 * @returns The certificates to serve with.
 */
export async function syncCertificates(options: AdmissionWebhookOptions): Promise<WebhookPki> {
  const { client, secret, log } = options;
  const path = `/api/v1/namespaces/${secret.namespace}/secrets`;
  const now = (options.now ?? (() => new Date()))();
  for (let attempt = 0;; attempt++) {
    const existing = await client.request<{ metadata: { resourceVersion: string }; data?: Record<string, string> }>(
      `${path}/${secret.name}`,
    ).catch((err) => {
      if (err instanceof KubeApiError && err.code === 404) return undefined;
      throw err;
    });
    const { pki, changed } = await refreshPki(decode(existing?.data), options.names, now);
    if (changed) {
      const body = {
        apiVersion: "v1",
        kind: "Secret",
        type: "Opaque",
        metadata: {
          name: secret.name,
          namespace: secret.namespace,
          labels: { "app.kubernetes.io/managed-by": "lacquer", "app.kubernetes.io/component": "admission-webhook" },
          ...(existing ? { resourceVersion: existing.metadata.resourceVersion } : {}),
        },
        data: encode(pki),
      };
      try {
        if (existing) await client.request(`${path}/${secret.name}`, { method: "PUT", body });
        else await client.request(path, { method: "POST", body });
        log.info("webhook certificates written", { secret: `${secret.namespace}/${secret.name}` });
      } catch (err) {
        // Another replica wrote first: use what it wrote.
        if (err instanceof KubeApiError && err.code === 409 && attempt < 3) continue;
        throw err;
      }
    }
    await syncCaBundle(options, pki.caBundle);
    return pki;
  }
}

async function syncCaBundle(options: AdmissionWebhookOptions, bundle: string): Promise<void> {
  const path = `/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations/${options.configurationName}`;
  const caBundle = btoa(bundle);
  for (let attempt = 0; attempt < 3; attempt++) {
    const config = await options.client.request<{ webhooks?: { clientConfig: { caBundle?: string } }[] }>(path)
      .catch((err) => {
        if (err instanceof KubeApiError && err.code === 404) return undefined;
        throw err;
      });
    if (!config) {
      options.log.warn("ValidatingWebhookConfiguration not found: admission checks the webhook makes are off", {
        name: options.configurationName,
      });
      return;
    }
    const webhooks = config.webhooks ?? [];
    if (webhooks.every((w) => w.clientConfig.caBundle === caBundle)) return;
    for (const w of webhooks) w.clientConfig.caBundle = caBundle;
    try {
      await options.client.request(path, { method: "PUT", body: config });
      options.log.info("webhook CA bundle updated", { name: options.configurationName });
      return;
    } catch (err) {
      if (!(err instanceof KubeApiError && err.code === 409)) throw err;
    }
  }
}

async function parentGateways(client: KubeClient, route: Record<string, unknown>): Promise<GatewayListeners[]> {
  const found = await Promise.all(
    routeParents(route).map(async ({ key }) => {
      const [namespace, name] = key.split("/");
      try {
        const gateway = await client.request<{ spec?: { listeners?: { name: string; hostname?: string }[] } }>(
          `/apis/gateway.networking.k8s.io/v1/namespaces/${namespace}/gateways/${name}`,
          { timeoutMs: 1_000 },
        );
        return [{ key, listeners: gateway.spec?.listeners ?? [] }];
      } catch {
        // Absent or unreadable: no warning about it (status says what is wrong once it exists).
        return [];
      }
    }),
  );
  return found.flat();
}

async function namespaceRoutes(client: KubeClient, route: Record<string, unknown>): Promise<Record<string, unknown>[]> {
  const namespace = (route.metadata as { namespace?: string } | undefined)?.namespace ?? "default";
  try {
    const routes = await client.request<{ items?: Record<string, unknown>[] }>(
      `/apis/gateway.networking.k8s.io/v1/namespaces/${namespace}/httproutes`,
      { query: { limit: 500 }, timeoutMs: 1_000 },
    );
    return routes.items ?? [];
  } catch {
    return [];
  }
}

/**
 * Answers one AdmissionReview request.
 *
 * @param client API client (parent Gateways).
 * @param request The HTTP request.
 * @returns The HTTP response.
 */
export async function handleReview(client: KubeClient, request: Request): Promise<Response> {
  const url = new URL(request.url);
  if (request.method !== "POST" || url.pathname !== WEBHOOK_PATH) return new Response("not found\n", { status: 404 });
  const review = parseReview(await request.json().catch(() => undefined));
  if (!review) return new Response("not an AdmissionReview\n", { status: 400 });
  let verdict: Verdict = { allowed: true, warnings: [] };
  if (review.object && review.kind === "gateway.networking.k8s.io/HTTPRoute") {
    const [gateways, others] = await Promise.all([
      parentGateways(client, review.object),
      namespaceRoutes(client, review.object),
    ]);
    verdict = validateHttpRoute(review.object, gateways, others);
  } else if (review.object && review.kind === "lacquer.dev/CachePolicy") {
    verdict = validateCachePolicy(review.object);
  }
  return Response.json(reviewResponse(review.uid, verdict));
}

/**
 * Serves the webhook until `signal` aborts, renewing its certificates every `refreshMs` and switching to a renewed
 * serving certificate by restarting the listener (a moment without a webhook, which the API server ignores).
 *
 * @param options Where and how.
 */
export async function runAdmissionWebhook(options: AdmissionWebhookOptions): Promise<void> {
  const { log, signal, address } = options;
  let pki: WebhookPki | undefined;
  let server: Deno.HttpServer | undefined;
  let port = address.port;
  while (!signal.aborted) {
    try {
      const next = await syncCertificates(options);
      if (signal.aborted) break;
      if (next.cert !== pki?.cert) {
        // The port is free again once the old listener closed; requests in that moment are ignored (failurePolicy).
        await server?.shutdown();
        server = Deno.serve({
          hostname: address.hostname,
          port,
          cert: next.cert,
          key: next.key,
          onListen: (addr) => {
            port = addr.port;
            log.info("admission webhook serving", { address: `${addr.hostname}:${addr.port}` });
            options.onListen?.(addr.port);
          },
          onError: (err) => {
            log.warn("admission webhook request failed", { error: String(err) });
            return new Response("internal error\n", { status: 500 });
          },
        }, (request) => handleReview(options.client, request));
        pki = next;
      }
    } catch (err) {
      log.error("admission webhook certificates not synced; retrying", { error: String(err) });
    }
    await abortableSleep(pki ? options.refreshMs ?? 60_000 : 10_000, signal).catch(() => {});
  }
  await server?.shutdown();
}

/**
 * The DNS names a webhook Service answers to inside the cluster, for the serving certificate.
 *
 * @example Usage
 * ```ts
 * import { webhookDnsNames } from "./webhook.ts";
 * webhookDnsNames("lacquer-operator-webhook", "lacquer-system")[0]; // "lacquer-operator-webhook.lacquer-system.svc"
 * ```
 *
 * @param service The Service's name.
 * @param namespace Its namespace.
 * @returns The names, the one the API server uses first.
 */
export function webhookDnsNames(service: string, namespace: string): string[] {
  return [
    `${service}.${namespace}.svc`,
    `${service}.${namespace}.svc.cluster.local`,
    `${service}.${namespace}`,
    service,
  ];
}

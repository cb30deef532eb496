/**
 * A raw-JSON Kubernetes API client on Deno's own `fetch` (not client-node's API classes). Credentials come from
 * client-node's `KubeConfig.applyToHTTPSOptions`, called for every request so rotated token files and exec plugins
 * apply; the TLS material goes into a `Deno.HttpClient` that is rebuilt only when it changes.
 *
 * @module
 */
import type * as k8s from "@kubernetes/client-node";

/** An error answer of the API server (any non-2xx status). */
export class KubeApiError extends Error {
  /** The HTTP status code. */
  readonly code: number;
  /** The `reason` of the returned `Status` object, when there is one (`NotFound`, `Conflict`, `Expired`, ...). */
  readonly reason: string;
  /** Seconds from the `Retry-After` header, when present. */
  readonly retryAfterSeconds: number | undefined;
  /** Creates the error. */
  constructor(message: string, options: { code: number; reason?: string; retryAfterSeconds?: number }) {
    super(message);
    this.name = "KubeApiError";
    this.code = options.code;
    this.reason = options.reason ?? "";
    this.retryAfterSeconds = options.retryAfterSeconds;
  }
}

/** Options of one {@linkcode KubeClient.request}. */
export interface KubeRequestOptions {
  /** HTTP method. @default {"GET"} */
  method?: string;
  /** Query parameters; undefined values are left out. */
  query?: Record<string, string | number | boolean | undefined>;
  /** A JSON body. */
  body?: unknown;
  /** Content type of the body. @default {"application/json"} (use "application/merge-patch+json" for patches) */
  contentType?: string;
  /** Aborts the request. */
  signal?: AbortSignal;
  /**
   * {@linkcode KubeClient.request} only: fails with a `TimeoutError` when the answer (its body included) has not
   * arrived within this many milliseconds, so a hung connection cannot stall the caller. @default {the client's
   * `requestTimeoutMs`}
   */
  timeoutMs?: number;
}

/** A minimal API client: JSON in, JSON out, errors as {@linkcode KubeApiError}. */
export interface KubeClient {
  /** The API server URL, without a trailing slash. */
  readonly server: string;
  /** Sends a request and returns the raw response, whatever its status (for streams such as watches). */
  fetch(path: string, options?: KubeRequestOptions): Promise<Response>;
  /** Sends a request and returns the parsed JSON body; throws {@linkcode KubeApiError} on a non-2xx answer. */
  request<T = unknown>(path: string, options?: KubeRequestOptions): Promise<T>;
  /** Releases the HTTP client. */
  close(): void;
}

/** A function with the shape of `fetch`, injectable for tests. */
export type FetchLike = (input: string, init: RequestInit & { client?: Deno.HttpClient }) => Promise<Response>;

/** Options for {@linkcode createKubeClient}. */
export interface KubeClientOptions {
  /** Replaces `fetch` (tests). @default {globalThis.fetch} */
  fetch?: FetchLike;
  /**
   * Deadline of each {@linkcode KubeClient.request} without its own `timeoutMs` (the API server ends its own
   * non-watch requests after 60 s; this catches connections that went silent). @default {60000}
   */
  requestTimeoutMs?: number;
}

function toText(value: unknown): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (Array.isArray(value)) return value.map((v) => toText(v)).join("\n");
  if (value instanceof Uint8Array) return new TextDecoder().decode(value);
  return String(value);
}

/**
 * Builds the URL of an API path with query parameters.
 *
 * @example Usage
 * ```ts
 * import { buildUrl } from "./kube_client.ts";
 * buildUrl("https://10.0.0.1:6443", "/api/v1/pods", { watch: 1, labelSelector: undefined });
 * // "https://10.0.0.1:6443/api/v1/pods?watch=1"
 * ```
 *
 * @param server The API server URL.
 * @param path The API path.
 * @param query Query parameters; undefined values are left out.
 * @returns The full URL.
 */
export function buildUrl(
  server: string,
  path: string,
  query: Record<string, string | number | boolean | undefined> = {},
): string {
  const url = new URL(server.replace(/\/$/, "") + path);
  for (const [key, value] of Object.entries(query)) {
    if (value !== undefined) url.searchParams.set(key, String(value));
  }
  return url.toString();
}

/**
 * Reads an error response into a {@linkcode KubeApiError}.
 *
 * @param response The non-2xx response; its body is consumed.
 * @param what The request, for the message.
 * @returns The error.
 */
export async function responseError(response: Response, what: string): Promise<KubeApiError> {
  const text = await response.text().catch(() => "");
  let reason: string | undefined;
  let message = text.slice(0, 500);
  try {
    const status = JSON.parse(text);
    reason = typeof status.reason === "string" ? status.reason : undefined;
    if (typeof status.message === "string") message = status.message;
  } catch {
    // not a Status object; keep the text
  }
  const retryAfter = Number(response.headers.get("retry-after") ?? "");
  return new KubeApiError(`Cannot ${what}: HTTP ${response.status}: ${message}`, {
    code: response.status,
    reason,
    retryAfterSeconds: Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter : undefined,
  });
}

/**
 * Creates a {@linkcode KubeClient} for the current context of a `KubeConfig`.
 *
 * @example Usage
 * ```ts ignore
 * import { createKubeClient, loadKubeConfig } from "./mod.ts";
 * const client = createKubeClient(loadKubeConfig());
 * const pods = await client.request<{ items: unknown[] }>("/api/v1/pods", { query: { limit: 10 } });
 * client.close();
 * ```
 *
 * @param kc The loaded configuration.
 * @param options Test hooks.
 * @returns The client.
 * @throws {TypeError} When the configuration has no current cluster.
 */
export function createKubeClient(kc: k8s.KubeConfig, options: KubeClientOptions = {}): KubeClient {
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new TypeError("Cannot create a Kubernetes client: the kubeconfig has no current cluster");
  const server = cluster.server.replace(/\/$/, "");
  const doFetch: FetchLike = options.fetch ?? ((input, init) => fetch(input, init));
  let httpClient: Deno.HttpClient | undefined;
  let tlsKey = "";

  async function prepare(): Promise<{ headers: Headers; client?: Deno.HttpClient }> {
    // deno-lint-ignore no-explicit-any
    const opts: any = { headers: {} };
    await kc.applyToHTTPSOptions(opts);
    const headers = new Headers();
    for (const [k, v] of Object.entries(opts.headers ?? {})) {
      if (v !== undefined) headers.set(k, String(v));
    }
    if (!server.startsWith("https:")) return { headers };
    const ca = toText(opts.ca);
    const cert = toText(opts.cert);
    const key = toText(opts.key);
    const nextKey = JSON.stringify([ca, cert, key]);
    if (!httpClient || nextKey !== tlsKey) {
      httpClient?.close();
      httpClient = Deno.createHttpClient({
        ...(ca ? { caCerts: [ca] } : {}),
        ...(cert && key ? { cert, key } : {}),
      });
      tlsKey = nextKey;
    }
    return { headers, client: httpClient };
  }

  async function send(path: string, o: KubeRequestOptions = {}): Promise<Response> {
    const { headers, client } = await prepare();
    headers.set("Accept", "application/json");
    let body: string | undefined;
    if (o.body !== undefined) {
      body = JSON.stringify(o.body);
      headers.set("Content-Type", o.contentType ?? "application/json");
    }
    return await doFetch(buildUrl(server, path, o.query), {
      method: o.method ?? "GET",
      headers,
      body,
      signal: o.signal,
      ...(client ? { client } : {}),
    });
  }

  return {
    server,
    fetch: send,
    async request<T>(path: string, o: KubeRequestOptions = {}): Promise<T> {
      const what = `${o.method ?? "GET"} "${path}"`;
      const timeoutMs = o.timeoutMs ?? options.requestTimeoutMs ?? 60_000;
      const deadline = new AbortController();
      const timer = setTimeout(() => {
        const err = new Error(`Cannot ${what}: no answer within ${timeoutMs} ms`);
        err.name = "TimeoutError";
        deadline.abort(err);
      }, timeoutMs);
      const signal = o.signal ? AbortSignal.any([o.signal, deadline.signal]) : deadline.signal;
      try {
        const response = await send(path, { ...o, signal });
        if (!response.ok) throw await responseError(response, what);
        const text = await response.text();
        return (text ? JSON.parse(text) : undefined) as T;
      } finally {
        clearTimeout(timer);
      }
    },
    close() {
      httpClient?.close();
      httpClient = undefined;
    },
  };
}

/**
 * A raw-JSON Kubernetes API client on Deno's own `fetch` (not client-node's API classes). Credentials come from a
 * {@linkcode KubeCredentials} (the service account, or a kubeconfig through client-node), asked for every request so
 * rotated tokens apply; the TLS material goes into a `Deno.HttpClient` that is rebuilt only when it changes.
 *
 * @module
 */
import type * as k8s from "@kubernetes/client-node";
import { kubeConfigCredentials, type KubeCredentials } from "./credentials.ts";

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
 * Creates a {@linkcode KubeClient} for credentials (a client-node `KubeConfig` stands for its current context's). A
 * 401 answer makes the credentials read again, and a request whose credentials changed is sent once more.
 *
 * @example Usage
 * ```ts ignore
 * import { createKubeClient, loadKubeCredentials } from "./mod.ts";
 * const client = createKubeClient(await loadKubeCredentials());
 * const pods = await client.request<{ items: unknown[] }>("/api/v1/pods", { query: { limit: 10 } });
 * client.close();
 * ```
 *
 * @param source The credentials, or a loaded `KubeConfig`.
 * @param options Test hooks and the default deadline.
 * @returns The client.
 * @throws {TypeError} When a `KubeConfig` has no current cluster.
 */
export function createKubeClient(
  source: KubeCredentials | k8s.KubeConfig,
  options: KubeClientOptions = {},
): KubeClient {
  const credentials = "applyToHTTPSOptions" in source ? kubeConfigCredentials(source) : source;
  const server = credentials.server;
  const doFetch: FetchLike = options.fetch ?? ((input, init) => fetch(input, init));
  // Reads and watches share HTTP/2 connections. Requests with a body go over HTTP/1.1: Deno's HTTP/2 client holds
  // a body of more than about 1 KB back for ~40 ms (measured against the apiserver: a 2 KB PUT takes 48 ms over
  // HTTP/2, 5 ms over HTTP/1.1 or from kubectl), which was most of a route change's way through the operator.
  let httpClients: { read: Deno.HttpClient; write: Deno.HttpClient } | undefined;
  let tlsKey = "";

  async function prepare(write: boolean): Promise<{ headers: Headers; client?: Deno.HttpClient }> {
    const auth = await credentials.auth();
    const headers = new Headers(auth.headers);
    if (!server.startsWith("https:")) return { headers };
    const { ca, cert, key } = auth;
    const nextKey = JSON.stringify([ca, cert, key]);
    if (!httpClients || nextKey !== tlsKey) {
      closeClients();
      const tls = { ...(ca ? { caCerts: [ca] } : {}), ...(cert && key ? { cert, key } : {}) };
      httpClients = { read: Deno.createHttpClient(tls), write: Deno.createHttpClient({ ...tls, http2: false }) };
      tlsKey = nextKey;
    }
    return { headers, client: write ? httpClients.write : httpClients.read };
  }

  function closeClients(): void {
    httpClients?.read.close();
    httpClients?.write.close();
    httpClients = undefined;
  }

  async function sendOnce(path: string, o: KubeRequestOptions, body: string | undefined): Promise<Response> {
    const { headers, client } = await prepare(body !== undefined);
    headers.set("Accept", "application/json");
    if (body !== undefined) headers.set("Content-Type", o.contentType ?? "application/json");
    return await doFetch(buildUrl(server, path, o.query), {
      method: o.method ?? "GET",
      headers,
      body,
      signal: o.signal,
      ...(client ? { client } : {}),
    });
  }

  async function send(path: string, o: KubeRequestOptions = {}): Promise<Response> {
    const body = o.body === undefined ? undefined : JSON.stringify(o.body);
    const response = await sendOnce(path, o, body);
    // A rotated token: the server refused before doing anything, so sending again is safe.
    if (response.status !== 401 || !credentials.refresh || !(await credentials.refresh())) return response;
    await response.body?.cancel();
    return await sendOnce(path, o, body);
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
      closeClients();
    },
  };
}

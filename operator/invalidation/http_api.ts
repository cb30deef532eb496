/**
 * The invalidation HTTP API, served by every operator replica (Service `lacquer-invalidation`): authenticates the
 * caller (TokenReview: no or a bad token, 401), limits its rate (429), reads the request (`api_request.ts`, 400),
 * finds the namespace whose routes the invalidation is for, authorises the caller there (SubjectAccessReview for
 * `create cacheinvalidations.lacquer.dev`, 403), validates the request with the shared model (400), fans it out
 * (`executor.ts`) and answers every pod's result as 200 (all confirmed), 207 (some) or 503 (none). Every call is one
 * log line: caller, namespace, hostname, kind, targets and outcome.
 *
 * @module
 */
import { type Invalidation, invalidationKind, parseInvalidation } from "../../internal/invalidation/mod.ts";
import type { Logger } from "../../internal/log.ts";
import type { AccessReviewer, Caller } from "./access_review.ts";
import { MAX_BODY_BYTES, NAMESPACE_HEADER, parseApiRequest } from "./api_request.ts";
import type { InvalidationExecutor } from "./executor.ts";
import type { InvalidationMetrics } from "./metrics.ts";
import type { RateLimiter } from "./rate_limiter.ts";
import { fanOutHttpStatus, summarizeFanOut } from "./results.ts";
import { hostnameNamespaces, targetGateways } from "./scope.ts";

/** What the API needs. */
export interface InvalidationApiOptions {
  executor: InvalidationExecutor;
  reviewer: AccessReviewer;
  /** Limits each authenticated caller. */
  limiter: RateLimiter;
  /**
   * Limits each source address before anything else, so that callers without a valid token cannot make the API
   * server review tokens without end.
   */
  sourceLimiter?: RateLimiter;
  log: Logger;
  metrics?: Pick<InvalidationMetrics, "invalidations">;
  /** Tells whether the caches are synced (before that, 503). */
  ready: () => boolean;
  /** Monotonic clock in milliseconds. @default {performance.now} */
  now?: () => number;
}

/** One call's log fields, filled in as it proceeds, and when it began. */
interface Call {
  fields: Record<string, unknown>;
  began: number;
}

const MAX_LOGGED_TARGETS = 20;

/** The targets of an invalidation for its log line: urls, prefixes or tags, or `*` for the whole hostname. */
function targetsOf(invalidation: Invalidation): string[] {
  return invalidation.urls ?? invalidation.prefixes ?? invalidation.tags ?? ["*"];
}

function json(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body) + "\n", {
    status,
    headers: { "content-type": "application/json", ...headers },
  });
}

async function readBody(request: Request): Promise<string | undefined> {
  if (!request.body) return "";
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  while (true) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.length;
    if (size > MAX_BODY_BYTES) {
      await reader.cancel();
      return undefined;
    }
    chunks.push(value);
  }
  const all = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) {
    all.set(c, at);
    at += c.length;
  }
  return new TextDecoder().decode(all);
}

/**
 * Builds the API's request handler.
 *
 * @param options Executor, reviewer, limiter, logger, metrics and readiness.
 * @returns The handler.
 */
export function invalidationApiHandler(
  options: InvalidationApiOptions,
): (request: Request, info?: Deno.ServeHandlerInfo) => Promise<Response> {
  const { log } = options;
  const now = options.now ?? (() => performance.now());
  const durationMs = (call: Call) => Math.round(now() - call.began);
  const refuse = (call: Call, status: number, error: string, result: string, headers?: Record<string, string>) => {
    options.metrics?.invalidations.inc({ source: "http", kind: String(call.fields.kind ?? "invalid"), result });
    log.info("Invalidation refused", { ...call.fields, status, outcome: result, error, durationMs: durationMs(call) });
    return json(status, { error }, headers);
  };

  const tooMany = (call: Call, waitMs: number) =>
    refuse(call, 429, "too many invalidations, slow down", "rate_limited", {
      "retry-after": String(Math.ceil(waitMs / 1000)),
    });

  async function handle(request: Request, call: Call, source: string | undefined): Promise<Response> {
    const fields = call.fields;
    if (!options.ready()) return refuse(call, 503, "the operator's caches are not synced yet", "unavailable");
    const sourceWaitMs = source === undefined ? 0 : options.sourceLimiter?.take(source, now()) ?? 0;
    if (sourceWaitMs > 0) return tooMany(call, sourceWaitMs);
    const token = /^Bearer\s+(\S+)$/i.exec(request.headers.get("authorization") ?? "")?.[1];
    if (!token) {
      return refuse(call, 401, "a ServiceAccount bearer token is required", "unauthorized", {
        "www-authenticate": "Bearer",
      });
    }
    const caller: Caller | undefined = await options.reviewer.authenticate(token);
    if (!caller) return refuse(call, 401, "the token is not valid", "unauthorized", { "www-authenticate": "Bearer" });
    fields.caller = caller.username;
    const waitMs = options.limiter.take(caller.username, now());
    if (waitMs > 0) return tooMany(call, waitMs);
    const text = await readBody(request);
    if (text === undefined) return refuse(call, 400, `body larger than ${MAX_BODY_BYTES} bytes`, "invalid");
    const parsed = parseApiRequest(request.method, new URL(request.url), request.headers, text);
    if (!parsed.ok) return refuse(call, parsed.status, parsed.error, "invalid");
    const { hostname, gatewayRefs } = parsed.request;
    fields.hostname = hostname;
    const scope = options.executor.scope();
    let namespace = parsed.request.namespace;
    if (namespace === undefined) {
      const owners = hostnameNamespaces(hostname, scope);
      if (owners.length === 0) {
        return refuse(call, 400, `no HTTPRoute of a Lacquer Gateway serves "${hostname}"`, "invalid");
      }
      // Which namespaces share it is not told: that would tell one tenant about the others.
      if (owners.length > 1) {
        const how = `the ${NAMESPACE_HEADER} header or the "namespace" field`;
        return refuse(
          call,
          400,
          `HTTPRoutes of several namespaces serve "${hostname}": name yours with ${how}`,
          "invalid",
        );
      }
      namespace = owners[0];
    }
    fields.namespace = namespace;
    const valid = parseInvalidation({ ...parsed.request.invalidation, namespace });
    if (!valid.ok) return refuse(call, 400, valid.error, "invalid");
    const invalidation = valid.value;
    fields.kind = invalidationKind(invalidation);
    const targets = targetsOf(invalidation);
    fields.targets = targets.slice(0, MAX_LOGGED_TARGETS);
    if (targets.length > MAX_LOGGED_TARGETS) fields.targetCount = targets.length;
    fields.soft = invalidation.soft;
    if (!(await options.reviewer.mayInvalidate(caller, namespace))) {
      return refuse(call, 403, `${caller.username} may not invalidate in namespace "${namespace}"`, "forbidden");
    }
    const gateways = targetGateways(hostname, namespace, gatewayRefs, scope);
    if (!gateways.ok) return refuse(call, 400, gateways.error, "invalid");
    const attempts = await options.executor.fanOut(invalidation, options.executor.livePods(gateways.gateways));
    const summary = summarizeFanOut(attempts);
    options.metrics?.invalidations.inc({ source: "http", kind: String(fields.kind), result: summary.status });
    const failed = summary.results.filter((r) => r.result === "failed");
    log.info("Invalidation", {
      ...fields,
      gateways: gateways.gateways,
      outcome: summary.status,
      succeeded: summary.succeeded,
      total: summary.total,
      ...(failed.length > 0 ? { failed: failed.map((r) => `${r.pod}: ${r.error}`) } : {}),
      durationMs: durationMs(call),
    });
    return json(fanOutHttpStatus(summary), summary);
  }

  return async (request, info) => {
    const source = (info?.remoteAddr as Deno.NetAddr | undefined)?.hostname;
    const call = { fields: { method: request.method, path: new URL(request.url).pathname, source }, began: now() };
    try {
      return await handle(request, call, source);
    } catch (err) {
      // The API server did not answer a review: the caller may retry.
      log.warn("Invalidation failed", { ...call.fields, err, durationMs: durationMs(call) });
      return json(503, { error: `cannot review the caller now: ${(err as Error).message}` });
    }
  };
}

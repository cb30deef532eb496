import { deepEqual, equal, ok } from "node:assert/strict";
import { createLogger } from "../../internal/log.ts";
import { clusterAvailable, freePort } from "../../tests/cluster/mod.ts";
import { getWithHost } from "../../chaperone/_test_varnish.ts";
import { AccessReviewer } from "./access_review.ts";
import { invalidationApiHandler } from "./http_api.ts";
import { RateLimiter } from "./rate_limiter.ts";
import {
  HOSTNAME,
  type InvalidationFixture,
  serviceAccountToken,
  startInvalidationFixture,
} from "./_test_invalidation.ts";

/** Sends a PURGE with a Host header (which fetch cannot set). */
async function purgeCall(port: number, path: string, headers: Record<string, string>) {
  const answer = await getWithHost(port, HOSTNAME, path, { method: "PURGE", headers });
  const space = answer.indexOf(" ");
  return { status: Number(answer.slice(0, space)), body: JSON.parse(answer.slice(space + 1)) };
}

/** Serves the API over real HTTP on a free port; returns its base URL and the log lines. */
function serveApi(f: InvalidationFixture, limiter: RateLimiter, sourceLimiter?: RateLimiter) {
  const lines: Record<string, unknown>[] = [];
  const log = createLogger({ level: "info", sink: (line) => lines.push(JSON.parse(line)) });
  const handler = invalidationApiHandler({
    executor: f.executor,
    reviewer: new AccessReviewer({ client: f.client }),
    limiter,
    sourceLimiter,
    log,
    ready: () => true,
  });
  const port = freePort();
  const server = Deno.serve({ hostname: "127.0.0.1", port, onListen: () => {} }, handler);
  return { base: `http://127.0.0.1:${port}`, port, lines, server };
}

async function call(url: string, init: RequestInit): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(url, init);
  return { status: response.status, body: await response.json() };
}

Deno.test({
  name: "invalidation API: TokenReview and SubjectAccessReview decide 401/403; results per pod as 200/207/503",
  ignore: !clusterAvailable(),
  async fn() {
    await using f = await startInvalidationFixture();
    const allowed = await serviceAccountToken(f.client, f.ns.name, "purger", true);
    const stranger = await serviceAccountToken(f.client, f.ns.name, "stranger", false);
    const api = serveApi(f, new RateLimiter({ perSecond: 100, burst: 100 }));
    try {
      const purge = (token: string | undefined, path = "/catalog/item", headers: Record<string, string> = {}) =>
        purgeCall(api.port, path, { ...(token ? { authorization: `Bearer ${token}` } : {}), ...headers });
      deepEqual(await purge(undefined), { status: 401, body: { error: "a ServiceAccount bearer token is required" } });
      deepEqual(await purge("not-a-token"), { status: 401, body: { error: "the token is not valid" } });
      const forbidden = await purge(stranger);
      equal(forbidden.status, 403);
      equal(
        forbidden.body.error,
        `system:serviceaccount:${f.ns.name}:stranger may not invalidate in namespace "${f.ns.name}"`,
      );
      const query = await purge(allowed, "/catalog/item?page=2");
      equal(query.status, 400);
      ok(/must not carry a query string/.test(String(query.body.error)), String(query.body.error));
      equal(f.pods.reduce((n, p) => n + p.received.length, 0), 0, "nothing refused reached a pod");

      const done = await purge(allowed, "/catalog/item", { "lacquer-purge-mode": "hard" });
      equal(done.status, 200);
      deepEqual(done.body, {
        status: "ok",
        total: 3,
        succeeded: 3,
        results: f.pods.map((p) => ({ pod: p.key, result: "ok", affected: 2 })),
      });
      for (const p of f.pods) {
        deepEqual(p.received, [{ namespace: f.ns.name, hostname: HOSTNAME, soft: false, urls: ["/catalog/item"] }]);
      }

      f.pods[1].behaviour = "fail";
      const json = (body: unknown) =>
        call(`${api.base}/invalidate`, {
          method: "POST",
          headers: { authorization: `Bearer ${allowed}`, "content-type": "application/json" },
          body: JSON.stringify(body),
        });
      const partial = await json({ hostname: HOSTNAME, tags: ["t1"] });
      equal(partial.status, 207);
      equal(partial.body.status, "partial");
      deepEqual((partial.body.results as unknown[])[1], {
        pod: f.pods[1].key,
        result: "failed",
        error: "HTTP 503: varnishd is not running",
      });
      for (const p of f.pods) p.behaviour = "fail";
      const failed = await json({ hostname: HOSTNAME, all: true });
      equal(failed.status, 503);
      equal(failed.body.status, "failed");
      equal(failed.body.succeeded, 0);
      const malformed = await json({ hostname: HOSTNAME, tags: Array.from({ length: 257 }, (_, i) => `k${i}`) });
      equal(malformed.status, 400);
      ok(/at most 256/.test(String(malformed.body.error)), String(malformed.body.error));

      // one log line per call, with caller, namespace, targets and outcome
      const last = api.lines.filter((l) => l.msg === "Invalidation").at(-1)!;
      equal(last.caller, `system:serviceaccount:${f.ns.name}:purger`);
      equal(last.namespace, f.ns.name);
      deepEqual(last.targets, ["*"]);
      equal(last.outcome, "failed");
      equal(api.lines.filter((l) => String(l.msg).startsWith("Invalidation")).length, 8);
    } finally {
      await api.server.shutdown();
    }
  },
});

Deno.test({
  name: "invalidation API: a hostname shared by two namespaces needs the caller's namespace; tenants stay apart; 429s",
  ignore: !clusterAvailable(),
  async fn() {
    await using f = await startInvalidationFixture();
    const other = await f.addTenant();
    const tenantA = await serviceAccountToken(f.client, f.ns.name, "a", true);
    const tenantB = await serviceAccountToken(f.client, other.name, "b", true);
    const api = serveApi(f, new RateLimiter({ perSecond: 0.1, burst: 3 }));
    try {
      const purge = (token: string, namespace?: string) =>
        purgeCall(api.port, "/p", {
          authorization: `Bearer ${token}`,
          ...(namespace ? { "lacquer-namespace": namespace } : {}),
        });
      const ambiguous = await purge(tenantB);
      equal(ambiguous.status, 400);
      ok(/several namespaces/.test(String(ambiguous.body.error)), String(ambiguous.body.error));
      ok(!String(ambiguous.body.error).includes(f.ns.name), "the other tenant's namespace is not told");
      equal((await purge(tenantB, f.ns.name)).status, 403);
      const own = await purge(tenantB, other.name);
      equal(own.status, 200);
      for (const p of f.pods) deepEqual(p.received.map((r) => r.namespace), [other.name]);
      // tenant B spent its burst of 3; tenant A has its own
      const limited = await purge(tenantB, other.name);
      equal(limited.status, 429);
      equal((await purge(tenantA, f.ns.name)).status, 200);
    } finally {
      await api.server.shutdown();
    }
    // Before any TokenReview, each source address is limited: bad tokens cannot make the API server review forever.
    const guarded = serveApi(
      f,
      new RateLimiter({ perSecond: 100, burst: 100 }),
      new RateLimiter({ perSecond: 0.1, burst: 2 }),
    );
    try {
      const statuses = [];
      for (let i = 0; i < 3; i++) {
        statuses.push((await purgeCall(guarded.port, "/p", { authorization: "Bearer bad" })).status);
      }
      deepEqual(statuses, [401, 401, 429]);
      equal(guarded.lines.at(-1)?.source, "127.0.0.1");
    } finally {
      await guarded.server.shutdown();
    }
  },
});

import { deepStrictEqual, equal, match } from "node:assert/strict";
import type { Invalidation } from "../internal/invalidation/mod.ts";
import type { RoutingPush } from "../internal/routing_push.ts";
import { type AdminBackend, AdminHttpError, createAdminHandler, type InvalidationOutcome } from "./admin_handler.ts";

function backend(overrides: Partial<AdminBackend> = {}) {
  const state = {
    drained: 0,
    applied: [] as Invalidation[],
    outcomes: [] as InvalidationOutcome[],
    pushes: [] as RoutingPush[],
  };
  const b: AdminBackend = {
    healthy: () => Promise.resolve(true),
    readiness: () => ({ ready: true, vclHash: "sha256:ab" }),
    metrics: () => Promise.resolve("lacquer_chaperone_ready 1\n"),
    drain: () => state.drained++,
    adminToken: () => Promise.resolve<string | undefined>("secret-token"),
    invalidate: (invalidation) => {
      state.applied.push(invalidation);
      return Promise.resolve({ affected: 3, durationMs: 1.5 });
    },
    invalidationDone: (outcome) => state.outcomes.push(outcome),
    pushRouting: (push) => {
      state.pushes.push(push);
      const taken = push.sequence > 5;
      return Promise.resolve({ result: taken ? "taken" : "stale", applied: taken });
    },
    ...overrides,
  };
  return { handle: createAdminHandler(b), state };
}

async function call(handle: (r: Request) => Promise<Response>, path: string, init?: RequestInit) {
  const response = await handle(new Request(`http://admin${path}`, init));
  return { status: response.status, type: response.headers.get("content-type"), text: await response.text() };
}

Deno.test("handleAdmin() answers /healthz from the CLI check", async () => {
  equal((await call(backend().handle, "/healthz")).status, 200);
  equal((await call(backend({ healthy: () => Promise.resolve(false) }).handle, "/healthz")).status, 503);
  equal((await call(backend({ healthy: () => Promise.reject(new Error("down")) }).handle, "/healthz")).status, 503);
});

Deno.test("handleAdmin() answers /readyz with a JSON body and 503 when not ready", async () => {
  const ok = await call(backend().handle, "/readyz");
  equal(ok.status, 200);
  deepStrictEqual(JSON.parse(ok.text), { ready: true, vclHash: "sha256:ab" });
  const notReady = await call(backend({ readiness: () => ({ ready: false, vclError: "bad" }) }).handle, "/readyz");
  equal(notReady.status, 503);
  deepStrictEqual(JSON.parse(notReady.text), { ready: false, vclError: "bad" });
});

Deno.test("handleAdmin() serves Prometheus text on /metrics", async () => {
  const metrics = await call(backend().handle, "/metrics");
  equal(metrics.status, 200);
  match(metrics.type!, /^text\/plain; version=0\.0\.4/);
  equal(metrics.text, "lacquer_chaperone_ready 1\n");
});

Deno.test("handleAdmin() drains only with the admin token as bearer token", async () => {
  const { handle, state } = backend();
  const refused = await call(handle, "/drain", { method: "POST" });
  equal(refused.status, 401);
  deepStrictEqual(JSON.parse(refused.text), { error: "unauthorized" });
  for (const authorization of ["Bearer nope", "Bearer secret-toke", "Bearer secret-token2", "secret-token"]) {
    equal((await call(handle, "/drain", { method: "POST", headers: { authorization } })).status, 401, authorization);
  }
  equal((await call(handle, "/drain", { headers: { authorization: "Bearer secret-token" } })).status, 405);
  equal(state.drained, 0);
  equal(
    (await call(handle, "/drain", { method: "POST", headers: { authorization: "Bearer secret-token" } })).status,
    202,
  );
  equal(state.drained, 1);
  const noToken = backend({ adminToken: () => Promise.resolve(undefined) });
  equal((await call(noToken.handle, "/drain", { method: "POST", headers: { authorization: "Bearer x" } })).status, 401);
  equal(noToken.state.drained, 0);
});

Deno.test("handleAdmin() maps unknown paths, wrong methods, HEAD and failures", async () => {
  const { handle } = backend();
  equal((await call(handle, "/nope")).status, 404);
  equal((await call(handle, "/readyz", { method: "DELETE" })).status, 405);
  const head = await call(handle, "/readyz", { method: "HEAD" });
  equal(head.status, 200);
  equal(head.text, "");
  const failing = backend({ metrics: () => Promise.reject(new Error("boom")) });
  const failed = await call(failing.handle, "/metrics");
  equal(failed.status, 500);
  match(failed.text, /boom/);
});

const AUTH = { authorization: "Bearer secret-token" };
const VALID = { namespace: "shop", hostname: "Shop.Example.com", urls: ["/a"] };

function post(body: unknown, headers: Record<string, string> = AUTH): RequestInit {
  return { method: "POST", headers, body: typeof body === "string" ? body : JSON.stringify(body) };
}

Deno.test("handleAdmin() applies a valid invalidation and answers what it affected", async () => {
  const { handle, state } = backend();
  const answer = await call(handle, "/invalidate", post(VALID));
  equal(answer.status, 200);
  deepStrictEqual(JSON.parse(answer.text), { result: "ok", affected: 3, durationMs: 1.5 });
  const applied = { namespace: "shop", hostname: "shop.example.com", soft: true, urls: ["/a"] };
  deepStrictEqual(state.applied, [applied]);
  deepStrictEqual(state.outcomes, [{ kind: "url", result: "ok", invalidation: applied, affected: 3, durationMs: 1.5 }]);
});

Deno.test("handleAdmin() refuses an invalidation without the admin token, before reading it", async () => {
  const refused: Record<string, string>[] = [{}, { authorization: "Bearer nope" }, {
    authorization: "Basic c2VjcmV0LXRva2Vu",
  }];
  for (const headers of refused) {
    const { handle, state } = backend();
    const answer = await call(handle, "/invalidate", post(VALID, headers));
    equal(answer.status, 401);
    deepStrictEqual(JSON.parse(answer.text), { error: "unauthorized" });
    deepStrictEqual(state.applied, []);
    deepStrictEqual(state.outcomes.map((o) => [o.kind, o.result]), [["unknown", "unauthorized"]]);
  }
  const noToken = backend({ adminToken: () => Promise.resolve(undefined) });
  equal((await call(noToken.handle, "/invalidate", post(VALID))).status, 401);
  deepStrictEqual(noToken.state.applied, []);
});

Deno.test("handleAdmin() refuses bad invalidations with 400 and the reason", async (t) => {
  const cases: [string, unknown, RegExp][] = [
    ["not JSON", "{urls:", /the body is not a JSON object/],
    ["query", { ...VALID, urls: ["/a?b=1"] }, /urls\[0\]: a URL must not carry a query string/],
    ["two kinds", { ...VALID, tags: ["t"] }, /exactly one target/],
    ["no namespace", { hostname: "a.example", all: true }, /namespace/],
  ];
  for (const [name, body, message] of cases) {
    await t.step(name, async () => {
      const { handle, state } = backend();
      const answer = await call(handle, "/invalidate", post(body));
      equal(answer.status, 400);
      match(JSON.parse(answer.text).error, message);
      deepStrictEqual(state.applied, []);
      deepStrictEqual(state.outcomes.map((o) => [o.kind, o.result]), [["unknown", "invalid"]]);
    });
  }
});

Deno.test("handleAdmin() answers 503 while varnishd cannot take an invalidation, and only POST", async () => {
  const { handle, state } = backend({
    invalidate: () => Promise.reject(new AdminHttpError(503, "Cannot invalidate: varnishd is starting")),
  });
  const answer = await call(handle, "/invalidate", post({ ...VALID, urls: undefined, all: true, soft: false }));
  equal(answer.status, 503);
  deepStrictEqual(JSON.parse(answer.text), { error: "Cannot invalidate: varnishd is starting" });
  deepStrictEqual(state.outcomes.map((o) => [o.kind, o.result, o.error]), [
    ["all", "unavailable", "Cannot invalidate: varnishd is starting"],
  ]);
  equal((await call(handle, "/invalidate", { headers: AUTH })).status, 405);
});

Deno.test("handleAdmin() takes a routing push only with the admin token, and only a valid one", async () => {
  const { handle, state } = backend();
  const push = { sequence: 7, configMap: { data: { "main.vcl": "vcl 4.1;\n" } }, shards: {} };
  const post = (body: string, token = "secret-token") =>
    call(handle, "/routing", { method: "POST", headers: { authorization: `Bearer ${token}` }, body });
  deepStrictEqual((await post(JSON.stringify(push))).text, '{"result":"taken","applied":true}\n');
  equal((await post(JSON.stringify(push))).status, 202);
  deepStrictEqual((await post(JSON.stringify({ ...push, sequence: 5 }))).text, '{"result":"stale","applied":false}\n');
  equal((await post(JSON.stringify(push), "other")).status, 401);
  equal((await call(handle, "/routing", { method: "POST", body: JSON.stringify(push) })).status, 401);
  const notJson = await post("{");
  equal(notJson.status, 400);
  const invalid = await post(JSON.stringify({ ...push, shards: { r0: { data: { "routing.json": 1 } } } }));
  equal(invalid.status, 400);
  match(invalid.text, /shards\.r0\.data\.routing\.json/);
  equal((await call(handle, "/routing")).status, 405);
  deepStrictEqual(state.pushes.map((p) => p.sequence), [7, 7, 5]);
});

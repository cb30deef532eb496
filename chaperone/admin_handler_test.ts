import { deepStrictEqual, equal, match } from "node:assert/strict";
import { type AdminBackend, createAdminHandler } from "./admin_handler.ts";

function backend(overrides: Partial<AdminBackend> = {}) {
  const state = { drained: 0 };
  const b: AdminBackend = {
    healthy: () => Promise.resolve(true),
    readiness: () => ({ ready: true, vclHash: "sha256:ab" }),
    metrics: () => Promise.resolve("lacquer_chaperone_ready 1\n"),
    drain: () => state.drained++,
    adminToken: () => Promise.resolve<string | undefined>("secret-token"),
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

import { deepStrictEqual, ok, rejects, strictEqual } from "node:assert/strict";
import * as k8s from "@kubernetes/client-node";
import { buildUrl, createKubeClient, type FetchLike, KubeApiError } from "./kube_client.ts";
import type { KubeCredentials } from "./credentials.ts";

function config(): k8s.KubeConfig {
  const kc = new k8s.KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: "c", server: "http://127.0.0.1:1", skipTLSVerify: true }],
    users: [{ name: "u", token: "tok" }],
    contexts: [{ name: "x", cluster: "c", user: "u" }],
    currentContext: "x",
  });
  return kc;
}

Deno.test("buildUrl() joins server, path and defined query parameters", () => {
  strictEqual(
    buildUrl("https://h:6443/", "/api/v1/pods", { a: 1, b: undefined, c: "x y" }),
    "https://h:6443/api/v1/pods?a=1&c=x+y",
  );
});

Deno.test("createKubeClient() sends the bearer token, JSON body and content type", async () => {
  const seen: { url: string; method?: string; auth: string | null; type: string | null; body?: unknown }[] = [];
  const fetch: FetchLike = (url, init) => {
    const headers = new Headers(init.headers);
    seen.push({
      url,
      method: init.method,
      auth: headers.get("authorization"),
      type: headers.get("content-type"),
      body: init.body,
    });
    return Promise.resolve(new Response('{"ok":true}'));
  };
  const client = createKubeClient(config(), { fetch });
  const out = await client.request("/api/v1/namespaces/n/pods/p/status", {
    method: "PATCH",
    contentType: "application/merge-patch+json",
    body: { status: {} },
    query: { fieldManager: "m" },
  });
  client.close();
  deepStrictEqual(out, { ok: true });
  deepStrictEqual(seen, [{
    url: "http://127.0.0.1:1/api/v1/namespaces/n/pods/p/status?fieldManager=m",
    method: "PATCH",
    auth: "Bearer tok",
    type: "application/merge-patch+json",
    body: '{"status":{}}',
  }]);
});

Deno.test("createKubeClient() turns error answers into KubeApiError with code, reason and Retry-After", async () => {
  const fetch: FetchLike = () =>
    Promise.resolve(
      new Response(JSON.stringify({ kind: "Status", reason: "TooManyRequests", message: "slow down" }), {
        status: 429,
        headers: { "retry-after": "3" },
      }),
    );
  const client = createKubeClient(config(), { fetch });
  await rejects(client.request("/api/v1/pods"), (err) => {
    strictEqual(err instanceof KubeApiError, true);
    const e = err as KubeApiError;
    deepStrictEqual([e.code, e.reason, e.retryAfterSeconds], [429, "TooManyRequests", 3]);
    strictEqual(e.message, 'Cannot GET "/api/v1/pods": HTTP 429: slow down');
    return true;
  });
  client.close();
});

Deno.test("createKubeClient() request() fails after its deadline when the server never answers", async () => {
  // answers nothing until the request is aborted, like a half-open connection
  const fetch: FetchLike = (_url, init) =>
    new Promise((_, reject) => {
      if (init.signal?.aborted) reject(init.signal.reason);
      init.signal?.addEventListener("abort", () => reject(init.signal!.reason));
    });
  const client = createKubeClient(config(), { fetch, requestTimeoutMs: 50 });
  await rejects(
    client.request("/api/v1/pods"),
    (err: Error) => err.name === "TimeoutError" && /50 ms/.test(err.message),
  );
  await rejects(client.request("/api/v1/pods", { timeoutMs: 20 }), /no answer within 20 ms/);
  const caller = new AbortController();
  const pending = client.request("/api/v1/pods", { signal: caller.signal, timeoutMs: 60_000 });
  caller.abort(new Error("caller gave up"));
  await rejects(pending, /caller gave up/);
  client.close();
});

Deno.test("createKubeClient() reads rotated credentials after a 401 and sends the request once more", async () => {
  let token = "old";
  let refreshes = 0;
  const credentials: KubeCredentials = {
    server: "http://127.0.0.1:1",
    auth: () => Promise.resolve({ headers: { Authorization: `Bearer ${token}` } }),
    refresh: () => {
      refreshes++;
      return Promise.resolve(false);
    },
  };
  const sent: (string | null)[] = [];
  const fetch: FetchLike = (_url, init) => {
    const auth = new Headers(init.headers).get("authorization");
    sent.push(auth);
    return Promise.resolve(new Response("{}", { status: auth === "Bearer new" ? 200 : 401 }));
  };
  const client = createKubeClient(credentials, { fetch });
  // Unchanged credentials: the 401 stands, without a second request.
  await rejects(client.request("/api/v1/pods"), (err: KubeApiError) => err.code === 401);
  deepStrictEqual([sent, refreshes], [["Bearer old"], 1]);
  credentials.refresh = () => {
    token = "new";
    return Promise.resolve(true);
  };
  deepStrictEqual(await client.request("/api/v1/pods", { method: "POST", body: { a: 1 } }), {});
  deepStrictEqual(sent, ["Bearer old", "Bearer old", "Bearer new"]);
  client.close();
});

Deno.test("createKubeClient() sends requests with a body over their own (HTTP/1.1) client, reads over the shared one", async () => {
  const credentials: KubeCredentials = { server: "https://127.0.0.1:1", auth: () => Promise.resolve({ headers: {} }) };
  const clients: unknown[] = [];
  const fetch: FetchLike = (_url, init) => {
    clients.push((init as { client?: unknown }).client);
    return Promise.resolve(new Response("{}"));
  };
  const client = createKubeClient(credentials, { fetch });
  await client.request("/api/v1/pods");
  await client.request("/api/v1/namespaces/n/configmaps/c", { method: "PUT", body: { data: { a: "1" } } });
  await client.request("/api/v1/pods/x");
  await client.request("/api/v1/namespaces/n/configmaps/c", { method: "DELETE", body: {} });
  const [read, write, read2, write2] = clients;
  ok(read !== undefined && write !== undefined);
  strictEqual(read, read2);
  strictEqual(write, write2);
  ok(read !== write);
  client.close();
});

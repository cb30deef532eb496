/**
 * End to end on the local cluster: Ingresses of an IngressClass of Lacquer served by the Gateway its parameters name,
 * through the real gateway pod: hosts, the default backend, a canary by header, the ingress-nginx rewrite idiom, TLS
 * from `spec.tls` with the HTTP listener redirecting to HTTPS, CORS, `status.loadBalancer`, an Event for an
 * annotation Lacquer does not support, and one for an Ingress whose class names no Gateway.
 */
import { deepEqual, equal, match, ok } from "node:assert/strict";
import { lacquerIngressClass } from "../../operator/ingress/_test_ingress_class.ts";
import { clusterAvailable, eventually, selfSignedCertificate } from "../cluster/mod.ts";
import { apply, applyApp, curl, echoApp, httpsGet, podOf, startE2eGateway, tlsSecret } from "./_e2e_gateway.ts";

const NETWORKING = "/apis/networking.k8s.io/v1";

/** An Ingress of `cls` whose backends are Service ports named "http". */
function ingress(
  namespace: string,
  name: string,
  spec: Record<string, unknown>,
  annotations: Record<string, string> = {},
): Record<string, unknown> {
  return { apiVersion: "networking.k8s.io/v1", kind: "Ingress", metadata: { name, namespace, annotations }, spec };
}

/** A backend on the Service's port named "http". */
function backend(service: string) {
  return { service: { name: service, port: { name: "http" } } };
}

/**
 * GET http://<host><path> sent to the gateway address, without following redirects (curl: fetch cannot set Host).
 */
async function hostGet(address: string, host: string, path: string, headers: Record<string, string> = {}) {
  const text = await curl(
    ["--resolve", `${host}:80:${address}`, "-w", "\n%{http_code} %{redirect_url}"]
      .concat(Object.entries(headers).flatMap(([name, value]) => ["-H", `${name}: ${value}`]))
      .concat([`http://${host}${path}`]),
  );
  const cut = text.lastIndexOf("\n");
  const [status, location] = text.slice(cut + 1).split(" ");
  return { status: Number(status), body: text.slice(0, cut), location };
}

/** A CORS preflight for http://<host><path> from `origin`, sent to the gateway address: status and response headers. */
async function preflight(address: string, host: string, path: string, origin: string) {
  const text = await curl(["--resolve", `${host}:80:${address}`, "-X", "OPTIONS", "-o", "/dev/null", "-D", "-"]
    .concat(["-H", `Origin: ${origin}`, "-H", "Access-Control-Request-Method: POST", `http://${host}${path}`]));
  const [status, ...lines] = text.split("\r\n");
  const headers = new Headers(
    lines.filter((l) => l.includes(":")).map((l) => [l.slice(0, l.indexOf(":")), l.slice(l.indexOf(":") + 1).trim()]),
  );
  return { status: Number(status.split(" ")[1]), headers };
}

Deno.test({
  name: "Ingresses of a Lacquer IngressClass route through the Gateway the class names",
  ignore: !clusterAvailable(),
}, async (t) => {
  const certDir = await Deno.makeTempDir({ prefix: "lacquer-e2e-certs-" });
  const cert = await selfSignedCertificate(certDir, "secure", ["secure.example.com"]);
  let cls = "";
  await using gw = await startE2eGateway({
    setup: async ({ client, name }) => {
      cls = `lacquer-ingress-${name}`;
      await applyApp(client, [...echoApp(name, "echo", 1), ...echoApp(name, "canary", 1)]);
      await apply(client, `/api/v1/namespaces/${name}/secrets`, tlsSecret(name, cert));
      await apply(client, `${NETWORKING}/ingressclasses`, lacquerIngressClass(cls, { namespace: name, name: "gw" }));
      const ingresses = `${NETWORKING}/namespaces/${name}/ingresses`;
      await apply(
        client,
        ingresses,
        ingress(name, "web", {
          ingressClassName: cls,
          defaultBackend: backend("echo"),
          tls: [{ hosts: ["secure.example.com"], secretName: "site-cert" }],
          rules: [
            {
              host: "secure.example.com",
              http: { paths: [{ path: "/", pathType: "Prefix", backend: backend("echo") }] },
            },
            { host: "www.example.com", http: { paths: [{ path: "/", pathType: "Prefix", backend: backend("echo") }] } },
          ],
        }, {
          "nginx.ingress.kubernetes.io/enable-cors": "true",
          "nginx.ingress.kubernetes.io/cors-allow-origin": "https://app.example.com",
          "nginx.ingress.kubernetes.io/proxy-read-timeout": "120",
          "nginx.ingress.kubernetes.io/proxy-send-timeout": "120",
        }),
      );
      await apply(
        client,
        ingresses,
        ingress(name, "web-canary", {
          ingressClassName: cls,
          rules: [{
            host: "www.example.com",
            http: { paths: [{ path: "/", pathType: "Prefix", backend: backend("canary") }] },
          }],
        }, {
          "nginx.ingress.kubernetes.io/canary": "true",
          "nginx.ingress.kubernetes.io/canary-by-header": "X-Canary",
        }),
      );
      await apply(
        client,
        ingresses,
        ingress(name, "app", {
          ingressClassName: cls,
          rules: [{
            host: "www.example.com",
            http: { paths: [{ path: "/app(/|$)(.*)", pathType: "ImplementationSpecific", backend: backend("echo") }] },
          }],
        }, { "nginx.ingress.kubernetes.io/use-regex": "true", "nginx.ingress.kubernetes.io/rewrite-target": "/$2" }),
      );
    },
  });
  const { client, address } = gw;
  const ns = gw.ns.name;
  let failed = true;
  try {
    await t.step("status.loadBalancer carries the Gateway's address", async () => {
      await eventually(async () => {
        const web = await client.request<{ status?: { loadBalancer?: { ingress?: { ip?: string }[] } } }>(
          `${NETWORKING}/namespaces/${ns}/ingresses/web`,
        );
        deepEqual(web.status?.loadBalancer?.ingress, [{ ip: address }]);
      }, { timeoutMs: 30_000 });
    });
    await t.step("a host's rule, the canary by header and the default backend answer", async () => {
      const main = await eventually(async () => {
        const r = await hostGet(address, "www.example.com", "/shop");
        equal(r.status, 200, r.body);
        return r;
      }, { timeoutMs: 30_000 });
      ok(podOf(main.body)?.startsWith("echo-"), main.body);
      const canary = await hostGet(address, "www.example.com", "/shop", { "X-Canary": "always" });
      ok(podOf(canary.body)?.startsWith("canary-"), canary.body);
      const never = await hostGet(address, "www.example.com", "/shop", { "X-Canary": "never" });
      ok(podOf(never.body)?.startsWith("echo-"), never.body);
      const fallback = await hostGet(address, "unknown.example.com", "/anything");
      equal(fallback.status, 200);
      ok(podOf(fallback.body)?.startsWith("echo-"), fallback.body);
    });
    await t.step("the ingress-nginx rewrite idiom sends the rest of the path", async () => {
      const r = await hostGet(address, "www.example.com", "/app/hello/world");
      equal(r.status, 200, r.body);
      equal((JSON.parse(r.body) as { path: string }).path, "/hello/world");
    });
    await t.step("a TLS host redirects HTTP to HTTPS and serves the Ingress's certificate", async () => {
      const redirect = await hostGet(address, "secure.example.com", "/cart?x=1");
      equal(redirect.status, 308);
      equal(redirect.location, "https://secure.example.com/cart?x=1");
      const answer = await eventually(() => httpsGet(address, "secure.example.com", "/cart", cert.certFile), {
        timeoutMs: 30_000,
      });
      match(answer, /^200 /);
      ok(podOf(answer.slice(4))?.startsWith("echo-"));
    });
    await t.step("enable-cors answers preflights for the allowed origin only", async () => {
      const allowed = await preflight(address, "www.example.com", "/shop", "https://app.example.com");
      equal(allowed.status, 204);
      equal(allowed.headers.get("access-control-allow-origin"), "https://app.example.com");
      const other = await preflight(address, "www.example.com", "/shop", "https://evil.example.com");
      equal(other.headers.get("access-control-allow-origin"), null);
    });
    const eventsOf = async (name: string) =>
      (await client.request<{
        items: { regarding: { kind: string; name: string }; type: string; reason: string; note: string }[];
      }>(`/apis/events.k8s.io/v1/namespaces/${ns}/events`)).items
        .filter((e) => e.regarding.kind === "Ingress" && e.regarding.name === name);
    await t.step("an unsupported annotation is a Warning Event on the Ingress", async () => {
      await eventually(async () => {
        const events = await eventsOf("web");
        const timeout = events.find((e) => e.reason === "UnsupportedAnnotation");
        equal(timeout?.type, "Warning", JSON.stringify(events));
        match(timeout!.note, /proxy-send-timeout/);
        ok(!timeout!.note.includes('"nginx.ingress.kubernetes.io/proxy-read-timeout"'), "it is the rules' timeout");
      }, { timeoutMs: 30_000 });
    });
    await t.step("an Ingress whose class names no Gateway hears what to set", async () => {
      await apply(client, `${NETWORKING}/ingressclasses`, {
        apiVersion: "networking.k8s.io/v1",
        kind: "IngressClass",
        metadata: { name: `${cls}-bare` },
        spec: { controller: "lacquer.dev/ingress-controller" },
      });
      await apply(
        client,
        `${NETWORKING}/namespaces/${ns}/ingresses`,
        ingress(ns, "orphan", { ingressClassName: `${cls}-bare`, defaultBackend: backend("echo") }),
      );
      await eventually(async () => {
        const events = await eventsOf("orphan");
        const none = events.find((e) => e.reason === "NoGateway");
        equal(none?.type, "Warning", JSON.stringify(events));
        match(none!.note, /has no spec\.parameters.*set spec\.parameters to a Gateway/);
      }, { timeoutMs: 30_000 });
    });
    failed = false;
  } finally {
    if (failed) console.error(await gw.readOperatorLog());
    for (const name of [cls, `${cls}-bare`]) {
      await client.request(`${NETWORKING}/ingressclasses/${name}`, { method: "DELETE" }).catch(() => {});
    }
    await Deno.remove(certDir, { recursive: true });
  }
});

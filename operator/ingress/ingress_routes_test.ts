import { deepEqual, equal } from "node:assert/strict";
import { gatewaySchema } from "../api_types.ts";
import { readAnnotations } from "./annotations.ts";
import { ingressRoutes, type IngressRoutesContext } from "./ingress_routes.ts";
import { type IngressPath, ingressSchema } from "./ingress_schema.ts";

const GATEWAY = gatewaySchema.parse({
  metadata: { name: "gw", namespace: "infra" },
  spec: {
    gatewayClassName: "lacquer",
    listeners: [
      { name: "http", port: 80, protocol: "HTTP" },
      { name: "https", port: 8443, protocol: "HTTPS", hostname: "*.example.com" },
    ],
  },
});

function translate(paths: Partial<IngressPath>[], annotations: Record<string, string> = {}, tls = false) {
  const ingress = ingressSchema.parse({
    metadata: { name: "web", namespace: "shop", annotations },
    spec: {
      ...(tls ? { tls: [{ hosts: ["shop.example.com"], secretName: "cert" }] } : {}),
      rules: [{
        host: "shop.example.com",
        http: { paths: paths.map((p) => ({ backend: { service: { name: "web", port: { number: 80 } } }, ...p })) },
      }],
    },
  });
  const context: IngressRoutesContext = {
    gateway: GATEWAY,
    annotations: readAnnotations(annotations),
    services: new Map(),
    canaries: () => [],
  };
  return ingressRoutes(ingress, context);
}

Deno.test("ingressRoutes maps each pathType to a route match", () => {
  const { routes, problems } = translate([
    { path: "/exact", pathType: "Exact" },
    { path: "/prefix", pathType: "Prefix" },
    { path: "/impl", pathType: "ImplementationSpecific" },
    { path: "/odd", pathType: "Glob" },
  ]);
  deepEqual(routes[0].spec.rules.map((r) => r.matches[0].path), [
    { type: "Exact", value: "/exact" },
    { type: "PathPrefix", value: "/prefix" },
    { type: "PathPrefix", value: "/impl" },
  ]);
  deepEqual(problems.map((p) => p.reason), ["UnsupportedPathType"]);
  deepEqual(routes[0].spec.parentRefs.map((p) => p.sectionName), [undefined], "no TLS: every listener");
});

Deno.test("ingressRoutes reads ImplementationSpecific paths as regular expressions anchored at the start with use-regex", () => {
  const { routes } = translate([{ path: "/item/[0-9]+", pathType: "ImplementationSpecific" }], {
    "nginx.ingress.kubernetes.io/use-regex": "true",
  });
  deepEqual(routes[0].spec.rules[0].matches[0].path, { type: "RegularExpression", value: "(?:/item/[0-9]+).*" });
});

Deno.test("ingressRoutes rewrites the whole path, or the prefix in the ingress-nginx capture idiom", () => {
  const whole = translate([{ path: "/a", pathType: "Prefix" }], { "nginx.ingress.kubernetes.io/rewrite-target": "/" });
  deepEqual(whole.routes[0].spec.rules[0].filters[0].urlRewrite?.path, {
    type: "ReplaceFullPath",
    replaceFullPath: "/",
  });
  const idiom = translate([{ path: "/a(/|$)(.*)", pathType: "ImplementationSpecific" }], {
    "nginx.ingress.kubernetes.io/rewrite-target": "/$2",
  });
  deepEqual(idiom.routes[0].spec.rules[0].matches[0].path, { type: "PathPrefix", value: "/a" });
  deepEqual(idiom.routes[0].spec.rules[0].filters[0].urlRewrite?.path, {
    type: "ReplacePrefixMatch",
    replacePrefixMatch: "/",
  });
  const other = translate([{ path: "/a/(.*)", pathType: "ImplementationSpecific" }], {
    "nginx.ingress.kubernetes.io/rewrite-target": "/$1",
  });
  deepEqual(other.routes, [], "a rewrite it cannot do leaves the path out");
  deepEqual(other.problems.map((p) => p.reason), ["UnsupportedRewrite", "NoRules"]);
});

Deno.test("ingressRoutes serves a TLS host on HTTPS listeners and redirects it on HTTP ones, unless ssl-redirect is false", () => {
  const { routes } = translate([{ path: "/", pathType: "Prefix" }], {}, true);
  deepEqual(routes.map((r) => [r.metadata.name, r.spec.parentRefs.map((p) => p.sectionName)]), [
    ["ingress:web:shop.example.com", ["https"]],
    ["ingress:web:shop.example.com:redirect", ["http"]],
  ]);
  deepEqual(routes[1].spec.rules[0].filters[0].requestRedirect, { scheme: "https", statusCode: 308, port: 8443 });
  const plain = translate(
    [{ path: "/", pathType: "Prefix" }],
    { "nginx.ingress.kubernetes.io/ssl-redirect": "false" },
    true,
  );
  equal(plain.routes.length, 1);
  deepEqual(plain.routes[0].spec.parentRefs.map((p) => p.sectionName), [undefined]);
});

Deno.test("ingressRoutes with force-ssl-redirect redirects a host without TLS of its own that a Gateway HTTPS listener serves", () => {
  const { routes } = translate([{ path: "/", pathType: "Prefix" }], {
    "nginx.ingress.kubernetes.io/force-ssl-redirect": "true",
  });
  deepEqual(routes.map((r) => [r.metadata.name, r.spec.parentRefs.map((p) => p.sectionName)]), [
    ["ingress:web:shop.example.com", ["https"]],
    ["ingress:web:shop.example.com:redirect", ["http"]],
  ]);
});

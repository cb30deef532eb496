import { deepEqual, equal, ok } from "node:assert/strict";
import { gatewayClassSchema, gatewaySchema } from "./api_types.ts";
import { resolveGatewayConfig } from "./gateway_config.ts";
import { gatewayParametersSchema, resolveParameters } from "./gateway_parameters.ts";
import { parseSnapshot } from "./snapshot.ts";
import { indexSnapshot } from "./snapshot_index.ts";

const index = indexSnapshot(
  parseSnapshot([
    {
      apiVersion: "lacquer.dev/v1alpha1",
      kind: "GatewayParameters",
      metadata: { name: "class-params", namespace: "sys" },
      spec: {
        storage: "malloc,1g",
        vcl: { configMapRef: { name: "vcl" } },
        requests: { escapedSlashes: "UnescapeAndRedirect" },
        allowedGatewayOverrides: ["vcl", "storage"],
      },
    },
    {
      apiVersion: "lacquer.dev/v1alpha1",
      kind: "GatewayParameters",
      metadata: { name: "open", namespace: "sys" },
      spec: { allowedGatewayOverrides: ["image", "env", "storage", "varnishdArgs", "vcl"] },
    },
    {
      apiVersion: "lacquer.dev/v1alpha1",
      kind: "GatewayParameters",
      metadata: { name: "own", namespace: "web" },
      spec: { storage: "malloc,2g", requests: { trustedProxies: ["10.0.0.0/8"] } },
    },
    {
      apiVersion: "lacquer.dev/v1alpha1",
      kind: "GatewayParameters",
      metadata: { name: "no-vcl-key", namespace: "web" },
      spec: { vcl: { configMapRef: { name: "vcl", key: "other.vcl" } } },
    },
    ...[
      ["cc-command", { varnishdArgs: ["-p", "cc_command=sh -c id"] }],
      ["inline-c", { varnishdArgs: ["-p", "vcc_allow_inline_c=on"] }],
      ["no-jail", { varnishdArgs: ["-j", "none"] }],
      ["file-storage", { storage: "file,/etc/shadow" }],
      ["path-value", { varnishdArgs: ["-p", "thread_pool_stack=/tmp/x"] }],
      ["bad-proxy", { requests: { trustedProxies: ["10.0.0.0/33"] } }],
      ["preload", { env: [{ name: "TZ", value: "UTC" }, { name: "LD_PRELOAD", value: "/tmp/evil.so" }] }],
      ["kubeconfig", { env: [{ name: "KUBECONFIG", value: "/tmp/other" }] }],
      ["everything", {
        image: "evil:1",
        imagePullPolicy: "Always",
        env: [{ name: "TZ", value: "UTC" }],
        storage: "malloc,64g",
        varnishdArgs: ["-p", "cc_command=sh -c id"],
        vcl: { configMapRef: { name: "vcl" } },
        replicas: 5,
        allowedGatewayOverrides: ["image", "env", "storage", "varnishdArgs", "vcl"],
      }],
      ["tuned", { varnishdArgs: ["-p", "thread_pool_max=500", "-p", "timeout_idle=10"], storage: "main=malloc,1g" }],
    ].map(([name, spec]) => ({
      apiVersion: "lacquer.dev/v1alpha1",
      kind: "GatewayParameters",
      metadata: { name, namespace: "web" },
      spec,
    })),
    {
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: "vcl", namespace: "sys" },
      data: { "user.vcl": "vcl 4.1;\nsub vcl_recv {}\n" },
    },
    { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "vcl", namespace: "web" }, data: { "user.vcl": "" } },
  ]),
  "lacquer.dev/gateway-controller",
);
const LACQUER = { group: "lacquer.dev", kind: "GatewayParameters" };

function resolve(classRef: unknown, gatewaySpec: Record<string, unknown> = {}) {
  const cls = gatewayClassSchema.parse({
    metadata: { name: "c" },
    spec: { controllerName: "lacquer.dev/gateway-controller", ...(classRef ? { parametersRef: classRef } : {}) },
  });
  const gateway = gatewaySchema.parse({
    metadata: { name: "gw", namespace: "web" },
    spec: { gatewayClassName: "c", listeners: [], ...gatewaySpec },
  });
  return resolveGatewayConfig(gateway, cls, { index, defaults: { image: "lacquer:test" } });
}

Deno.test("resolveGatewayConfig() reports what keeps a Gateway from being accepted", async (t) => {
  const classParams = { ...LACQUER, name: "class-params", namespace: "sys" };
  // A class that lets its Gateways set every field, so that their values are checked.
  const open = { ...LACQUER, name: "open", namespace: "sys" };
  const cases: { name: string; classRef?: unknown; spec?: Record<string, unknown>; want?: string }[] = [
    { name: "no parameters" },
    { name: "class parameters with their VCL", classRef: classParams },
    {
      name: "class parametersRef of another kind",
      classRef: { group: "example.com", kind: "Config", name: "x", namespace: "sys" },
      want: 'InvalidParameters: GatewayClass "c": parametersRef must name a lacquer.dev/GatewayParameters, not ' +
        "example.com/Config",
    },
    {
      name: "class parametersRef without a namespace",
      classRef: { ...LACQUER, name: "class-params" },
      want: 'InvalidParameters: GatewayClass "c": parametersRef to GatewayParameters "class-params" needs a namespace',
    },
    {
      name: "missing Gateway parameters",
      spec: { infrastructure: { parametersRef: { ...LACQUER, name: "gone" } } },
      want: 'InvalidParameters: GatewayParameters "web/gone" not found',
    },
    {
      name: "the VCL ConfigMap lacks the key",
      classRef: classParams,
      spec: { infrastructure: { parametersRef: { ...LACQUER, name: "no-vcl-key" } } },
      want: 'InvalidParameters: ConfigMap "web/vcl" has no key "other.vcl"',
    },
    {
      name: "a trusted proxy that is not an address",
      spec: { infrastructure: { parametersRef: { ...LACQUER, name: "bad-proxy" } } },
      want: 'InvalidParameters: requests.trustedProxies: "10.0.0.0/33" is not an IP address or CIDR block',
    },
    {
      name: "varnishd parameters that run code",
      classRef: open,
      spec: { infrastructure: { parametersRef: { ...LACQUER, name: "cc-command" } } },
      want: 'InvalidParameters: varnishdArgs: "-p cc_command" is refused: not one of the allowed varnishd parameters ' +
        "(see the operator's README)",
    },
    {
      name: "inline C",
      classRef: open,
      spec: { infrastructure: { parametersRef: { ...LACQUER, name: "inline-c" } } },
      want: 'InvalidParameters: varnishdArgs: "-p vcc_allow_inline_c" is refused: not one of the allowed varnishd ' +
        "parameters (see the operator's README)",
    },
    {
      name: "no jail",
      classRef: open,
      spec: { infrastructure: { parametersRef: { ...LACQUER, name: "no-jail" } } },
      want: 'InvalidParameters: varnishdArgs: "-j" is refused: only "-p", "<name>=<value>" pairs are allowed',
    },
    {
      name: "file storage",
      classRef: open,
      spec: { infrastructure: { parametersRef: { ...LACQUER, name: "file-storage" } } },
      want: 'InvalidParameters: storage "file,/etc/shadow" is refused: only malloc storage is allowed, for example ' +
        '"malloc,256m"',
    },
    {
      name: "a path as a parameter value",
      classRef: open,
      spec: { infrastructure: { parametersRef: { ...LACQUER, name: "path-value" } } },
      want: 'InvalidParameters: varnishdArgs: "-p thread_pool_stack=/tmp/x" is refused: the value must be a number ' +
        "(with an optional unit) or on/off",
    },
    {
      name: "a variable of the dynamic loader",
      classRef: open,
      spec: { infrastructure: { parametersRef: { ...LACQUER, name: "preload" } } },
      want: 'InvalidParameters: env: "LD_PRELOAD" is refused: variables of the dynamic loader, the C library and ' +
        "OpenSSL load code into the pod's processes (LD_*, GCONV_PATH, GLIBC_TUNABLES, OPENSSL_*)",
    },
    {
      name: "another API server",
      classRef: open,
      spec: { infrastructure: { parametersRef: { ...LACQUER, name: "kubeconfig" } } },
      want: 'InvalidParameters: env: "KUBECONFIG" is refused: it would point the chaperone at another API server or ' +
        "credentials (KUBECONFIG, KUBERNETES_*)",
    },
    {
      name: "allowed tuning",
      classRef: open,
      spec: { infrastructure: { parametersRef: { ...LACQUER, name: "tuned" } } },
    },
    {
      name: "static addresses",
      spec: { addresses: [{ type: "IPAddress", value: "10.0.0.1" }, { type: "IPAddress" }] },
    },
    {
      name: "a hostname address",
      spec: { addresses: [{ type: "IPAddress", value: "10.0.0.1" }, { type: "Hostname", value: "gw.example" }] },
      want: 'UnsupportedAddress: spec.addresses[1]: type "Hostname" is not supported, only IPAddress',
    },
  ];
  for (const c of cases) {
    await t.step(c.name, () => {
      const { problem } = resolve(c.classRef, c.spec);
      equal(problem && `${problem.reason}: ${problem.message}`, c.want);
    });
  }
});

Deno.test("resolveGatewayConfig() lets the Gateway's parameters override the class's field by field", () => {
  const config = resolve({ ...LACQUER, name: "class-params", namespace: "sys" }, {
    infrastructure: { parametersRef: { ...LACQUER, name: "own" } },
  });
  equal(config.problem, undefined);
  deepEqual([config.parameters.storage, config.parameters.image], ["malloc,2g", "lacquer:test"]);
  equal(config.userVcl, "vcl 4.1;\nsub vcl_recv {}\n");
  deepEqual(config.parameters.requests, { escapedSlashes: "UnescapeAndRedirect", trustedProxies: ["10.0.0.0/8"] });
  equal(resolve(undefined).parameters.requests, undefined);
});

Deno.test("resolveGatewayConfig() applies the class-level fields of the Gateway's parameters only if the class allows", async (t) => {
  const everything = { infrastructure: { parametersRef: { ...LACQUER, name: "everything" } } };
  await t.step("a class without GatewayParameters allows none: the defaults apply, the other fields apply", () => {
    const config = resolve(undefined, everything);
    equal(config.problem, undefined, "refused values are not applied, so they cannot make the Gateway invalid");
    const p = config.parameters;
    deepEqual([p.image, p.imagePullPolicy, p.env, p.storage, p.varnishdArgs, p.vcl, config.userVcl], [
      "lacquer:test",
      "IfNotPresent",
      [],
      "malloc,256m",
      [],
      undefined,
      undefined,
    ]);
    equal(p.replicas, 5);
    deepEqual(config.own && { ...config.own, refused: config.own.refused.map((r) => r.field) }, {
      name: "web/everything",
      className: "c",
      classParameters: undefined,
      allowed: [],
      refused: ["image", "imagePullPolicy", "env", "storage", "varnishdArgs", "vcl", "allowedGatewayOverrides"],
    });
    deepEqual(config.sources.map((s) => s.metadata.name), ["everything"], "Events still go to the object");
  });
  await t.step("the class's values apply to the refused fields", () => {
    const config = resolve({ ...LACQUER, name: "class-params", namespace: "sys" }, everything);
    equal(config.problem, undefined);
    equal(config.parameters.image, "lacquer:test");
    equal(config.parameters.storage, "malloc,64g", "allowed by the class");
    deepEqual(config.parameters.vcl, { namespace: "web", name: "vcl", key: "user.vcl" }, "allowed by the class");
    deepEqual(config.own?.refused.map((r) => r.field), [
      "image",
      "imagePullPolicy",
      "env",
      "varnishdArgs",
      "allowedGatewayOverrides",
    ]);
    deepEqual([config.own?.classParameters, config.own?.allowed], ["sys/class-params", ["vcl", "storage"]]);
  });
  await t.step("a class that allows a field checks it as before", () => {
    const config = resolve({ ...LACQUER, name: "open", namespace: "sys" }, everything);
    equal(config.parameters.image, "evil:1");
    equal(config.problem?.reason, "InvalidParameters");
    deepEqual(config.own?.refused.map((r) => r.field), ["allowedGatewayOverrides"]);
  });
  await t.step("the class's own object named by the Gateway refuses nothing", () => {
    const same = resolveGatewayConfig(
      gatewaySchema.parse({
        metadata: { name: "gw", namespace: "sys" },
        spec: {
          gatewayClassName: "c",
          listeners: [],
          infrastructure: { parametersRef: { ...LACQUER, name: "class-params" } },
        },
      }),
      gatewayClassSchema.parse({
        metadata: { name: "c" },
        spec: { controllerName: "x", parametersRef: { ...LACQUER, name: "class-params", namespace: "sys" } },
      }),
      { index, defaults: { image: "lacquer:test" } },
    );
    deepEqual(same.own?.refused, []);
    equal(same.parameters.storage, "malloc,1g");
  });
  await t.step("a Gateway without its own parameters has no own entry", () => {
    equal(resolve({ ...LACQUER, name: "class-params", namespace: "sys" }).own, undefined);
  });
});

Deno.test("resolveParameters() takes replicas from the most specific layer, else the operator's default", () => {
  const layer = (replicas?: number) => gatewayParametersSchema.parse({ metadata: { name: "p" }, spec: { replicas } });
  const replicas = (...layers: (number | undefined)[]) =>
    resolveParameters(layers.map(layer), { image: "i", replicas: 3 }).replicas;
  equal(replicas(), 3);
  equal(replicas(undefined), 3);
  equal(replicas(4), 4);
  equal(replicas(4, 1), 1);
  equal(replicas(4, undefined), 4);
  ok(!gatewayParametersSchema.safeParse({ metadata: { name: "p" }, spec: { replicas: 0 } }).success);
});

Deno.test("resolveParameters() turns the access log settings into a sample share, 0 when turned off", () => {
  const layer = (accessLog: unknown) => gatewayParametersSchema.parse({ metadata: { name: "p" }, spec: { accessLog } });
  const sample = (...layers: unknown[]) => resolveParameters(layers.map(layer), { image: "i" }).accessLogSample;
  equal(sample(), undefined);
  equal(sample({}), undefined);
  equal(sample({ sampleRate: 0.1 }), 0.1);
  equal(sample({ sampleRate: 0.1 }, { enabled: false }), 0);
  equal(sample({ enabled: false }, { enabled: true }), undefined);
  equal(sample({ enabled: false }, { enabled: true, sampleRate: 0.5 }), 0.5);
});

Deno.test("resolveParameters() leaves HTTP/2 off unless a layer turns it on; the Gateway's layer wins", () => {
  const layer = (http2: unknown) => gatewayParametersSchema.parse({ metadata: { name: "p" }, spec: { http2 } });
  const http2 = (...layers: unknown[]) => resolveParameters(layers.map(layer), { image: "i" }).http2;
  equal(http2(), false);
  equal(http2(undefined), false);
  equal(http2(true), true);
  equal(http2(true, false), false);
  equal(http2(true, undefined), true);
  ok(!gatewayParametersSchema.safeParse({ metadata: { name: "p" }, spec: { http2: "yes" } }).success);
});

Deno.test("resolveGatewayConfig() takes any valid Gateway name: children are named to fit (names.ts)", () => {
  const cls = gatewayClassSchema.parse({ metadata: { name: "c" }, spec: { controllerName: "x" } });
  const config = (name: string) =>
    resolveGatewayConfig(
      gatewaySchema.parse({ metadata: { name, namespace: "web" }, spec: { gatewayClassName: "c", listeners: [] } }),
      cls,
      { index, defaults: { image: "lacquer:test" } },
    ).problem;
  for (const name of ["g".repeat(63), "g".repeat(64), "g".repeat(253), "shop.v2", "1gw"]) {
    equal(config(name), undefined);
  }
});

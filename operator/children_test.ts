import { deepStrictEqual, equal, notEqual, ok } from "node:assert/strict";
import {
  ADMIN_TOKEN_DIR,
  CHAPERONE_ADMIN_PORT,
  gatewayNameOf,
  INFRA_HASH_ANNOTATION,
  KEEPER_DIR,
  KEEPER_PROGRAM,
  KEEPER_SOCKET,
  ROUTING_JSON_KEY,
  ROUTING_SHARDS_OF_LABEL,
  routingShardPrefix,
  routingShardsLabelValue,
} from "../internal/names.ts";
import { type ShardedRouting, shardRouting } from "../ghost/contract/mod.ts";
import { manyHostsRouting } from "../ghost/contract/_test_many_hosts.ts";
import { readRoutingConfigMapData, ROUTING_GZIP_THRESHOLD } from "../internal/routing_config_map.ts";
import { adminTokenSecretName } from "./admin_token.ts";
import { gatewaySchema } from "./api_types.ts";
import {
  buildChildren,
  type ChildObject,
  GATEWAY_ADMIN_ACCESS_LABEL,
  KEEPER_CONTAINER,
  remoteRbacName,
} from "./children.ts";
import { resolveParameters } from "./gateway_parameters.ts";
import { validateListeners } from "./listeners.ts";
import { emptySnapshot } from "./snapshot.ts";
import { indexSnapshot } from "./snapshot_index.ts";

interface TestListener {
  name: string;
  port: number;
  protocol: "HTTP";
  hostname?: string;
}

function build(
  options: {
    port?: number;
    listeners?: TestListener[];
    routingJson?: string;
    mainVcl?: string;
    image?: string;
    keeperImage?: string;
    name?: string;
    backendNamespaces?: string[];
    http2?: boolean;
    clusteredCache?: boolean;
    routingShards?: ShardedRouting;
  } = {},
) {
  const gateway = gatewaySchema.parse({
    metadata: { name: options.name ?? "gw", namespace: "ns", uid: "u1" },
    spec: {
      gatewayClassName: "lacquer",
      listeners: options.listeners ?? [{ name: "http", port: options.port ?? 80, protocol: "HTTP" }],
    },
  });
  return buildChildren({
    gateway,
    listeners: validateListeners(gateway, indexSnapshot(emptySnapshot(), "lacquer.dev/gateway-controller")),
    parameters: {
      ...resolveParameters([], { image: options.image ?? "lacquer:1" }),
      ...(options.http2 === undefined ? {} : { http2: options.http2 }),
      ...(options.clusteredCache === undefined ? {} : { clusteredCache: options.clusteredCache }),
    },
    routingJson: options.routingJson ?? "{}\n",
    mainVcl: options.mainVcl ?? "vcl 4.1;\n",
    backendNamespaces: options.backendNamespaces ?? [],
    keeperImage: options.keeperImage,
    routingShards: options.routingShards,
  });
}

function infraHash(children: ChildObject[]): string {
  const deployment = children.find((c) => c.kind === "Deployment")!;
  // deno-lint-ignore no-explicit-any
  return (deployment.spec as any).template.metadata.annotations[INFRA_HASH_ANNOTATION];
}

Deno.test("buildChildren() changes the infra hash only on infrastructure changes", () => {
  const base = infraHash(build());
  equal(infraHash(build({ routingJson: '{"other":1}\n', mainVcl: "vcl 4.1;\n# changed\n" })), base);
  notEqual(infraHash(build({ port: 8080 })), base);
  notEqual(infraHash(build({ image: "lacquer:2" })), base);
});

Deno.test("buildChildren() keeps the infra hash when listeners change but their ports do not (pods and their cache stay)", () => {
  // Rolling the pods empties their caches, so only a new or removed listener port (a varnishd socket, which varnishd
  // cannot open at run time) may roll them; hostnames, names and more listeners on a served port must not.
  const base = infraHash(build());
  const same = [
    [{ name: "http", port: 80, protocol: "HTTP", hostname: "shop.example.com" }],
    [{ name: "web", port: 80, protocol: "HTTP" }],
    [
      { name: "http", port: 80, protocol: "HTTP" },
      { name: "api", port: 80, protocol: "HTTP", hostname: "api.example.com" },
    ],
  ] satisfies TestListener[][];
  for (const listeners of same) equal(infraHash(build({ listeners })), base, JSON.stringify(listeners));
  notEqual(
    infraHash(build({
      listeners: [{ name: "http", port: 80, protocol: "HTTP" }, { name: "alt", port: 8080, protocol: "HTTP" }],
    })),
    base,
  );
});

Deno.test("buildChildren() stores routing.json in the ConfigMap through the codec, gzipped when large", () => {
  const configMap = (routingJson?: string) =>
    build(routingJson === undefined ? {} : { routingJson }).find((c) => c.kind === "ConfigMap")! as unknown as {
      data: Record<string, string>;
      binaryData?: Record<string, string>;
    };
  ok(configMap().data[ROUTING_JSON_KEY]);
  const large = JSON.stringify({ pad: "x".repeat(ROUTING_GZIP_THRESHOLD) }) + "\n";
  equal(configMap(large).data[ROUTING_JSON_KEY], undefined);
  equal(readRoutingConfigMapData(configMap(large)).routingJson, large);
});

Deno.test("buildChildren() names every child after its Gateway", () => {
  const names = build().map((c) => `${c.kind}/${c.metadata.name}`);
  equal(
    names.join(" "),
    "ServiceAccount/gw-lacquer Role/gw-lacquer RoleBinding/gw-lacquer RoleBinding/gw-lacquer-pod ConfigMap/gw-lacquer " +
      "Secret/gw-lacquer-admin " +
      "Service/gw Deployment/gw NetworkPolicy/gw PodDisruptionBudget/gw",
  );
});

Deno.test("buildChildren() names the children of any valid Gateway name validly and apart, short names unchanged", () => {
  const subdomain = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
  const dnsLabel = /^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/;
  const labelValue = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
  const cut = "g".repeat(53);
  const names = [
    "g".repeat(253),
    "g".repeat(252),
    `${"a.".repeat(30)}b`,
    "shop.v2",
    "shop-v2",
    "1gw",
    `${cut}.x${"y".repeat(20)}`,
    `${cut}-x${"y".repeat(20)}`,
  ];
  const seen = new Map<string, string>();
  for (const name of names) {
    const children = build({ name, backendNamespaces: ["other"] });
    for (const child of children) {
      const { name: childName, labels = {} } = child.metadata;
      const where = `${child.kind}/${childName} of ${name}`;
      ok(childName.length <= 253 && subdomain.test(childName), where);
      if (["Service", "Deployment", "NetworkPolicy", "PodDisruptionBudget"].includes(child.kind)) {
        ok(dnsLabel.test(childName), where);
      }
      for (const value of Object.values(labels)) ok(value.length <= 63 && labelValue.test(value), `${where}: ${value}`);
      const key = `${child.kind}/${child.metadata.namespace}/${childName}`;
      equal(seen.get(key) ?? name, name, `${key} is the child of two Gateways`);
      seen.set(key, name);
    }
    // deno-lint-ignore no-explicit-any
    const deployment = children.find((c) => c.kind === "Deployment")!.spec as any;
    deepStrictEqual(
      Object.entries(deployment.selector.matchLabels).every(([k, v]) => deployment.template.metadata.labels[k] === v),
      true,
    );
    equal(gatewayNameOf(deployment.template.metadata), name, "pods name their Gateway");
    equal(gatewayNameOf(children[0].metadata), name);
  }
  // Within the limits nothing changes: the names of existing Gateways' children stay.
  equal(build({ name: "g".repeat(63) }).find((c) => c.kind === "Service")!.metadata.name, "g".repeat(63));
  equal(build({ name: "g".repeat(239) })[0].metadata.name, `${"g".repeat(239)}-lacquer`);
  equal(build({ name: "g".repeat(63) })[0].metadata.annotations, undefined);
});

Deno.test("buildChildren() mounts the admin token Secret read-only and puts no token in the pod spec", () => {
  const children = build();
  const secret = children.find((c) => c.kind === "Secret")!;
  equal(secret.metadata.name, adminTokenSecretName("gw"));
  equal(secret.type, "Opaque");
  // The value is made once by ChildrenWriter, never computed from the Gateway.
  equal(secret.data, undefined);
  equal(secret.stringData, undefined);
  // deno-lint-ignore no-explicit-any
  const pod = (children.find((c) => c.kind === "Deployment")!.spec as any).template.spec;
  deepStrictEqual(pod.volumes.find((v: { name: string }) => v.name === "admin-token"), {
    name: "admin-token",
    secret: { secretName: "gw-lacquer-admin" },
  });
  const [container] = pod.containers;
  deepStrictEqual(container.volumeMounts.find((m: { name: string }) => m.name === "admin-token"), {
    name: "admin-token",
    mountPath: ADMIN_TOKEN_DIR,
    readOnly: true,
  });
  equal(container.lifecycle, undefined);
  ok(!JSON.stringify(pod).match(/token"?\s*:|Bearer|DRAIN/i), JSON.stringify(pod));
});

Deno.test("buildChildren() runs the socket keeper as a restricted native sidecar sharing only its socket's directory", () => {
  // deno-lint-ignore no-explicit-any
  const pod = (build().find((c) => c.kind === "Deployment")!.spec as any).template.spec;
  const [keeper] = pod.initContainers;
  const [gateway] = pod.containers;
  equal(keeper.name, KEEPER_CONTAINER);
  // An init container that keeps running: started before the gateway container, outliving its restarts.
  equal(keeper.restartPolicy, "Always");
  deepStrictEqual([...keeper.command, ...keeper.args], [KEEPER_PROGRAM, KEEPER_SOCKET]);
  equal(keeper.image, gateway.image);
  deepStrictEqual(keeper.securityContext, gateway.securityContext);
  deepStrictEqual(keeper.securityContext.capabilities, { drop: ["ALL"] });
  equal(keeper.securityContext.readOnlyRootFilesystem, true);
  equal(keeper.ports, undefined);
  deepStrictEqual(keeper.volumeMounts, [{ name: "keeper", mountPath: KEEPER_DIR }]);
  deepStrictEqual(pod.volumes.find((v: { name: string }) => v.name === "keeper"), { name: "keeper", emptyDir: {} });
  ok(
    gateway.volumeMounts.some((m: { name: string; mountPath: string }) =>
      m.name === "keeper" && m.mountPath === KEEPER_DIR
    ),
  );
  deepStrictEqual(gateway.env.find((e: { name: string }) => e.name === "LACQUER_KEEPER_SOCKET"), {
    name: "LACQUER_KEEPER_SOCKET",
    value: KEEPER_SOCKET,
  });
});

Deno.test("buildChildren() runs the keeper from the operator's gateway image whatever image the Gateway runs", () => {
  // deno-lint-ignore no-explicit-any
  const pod = (children: ChildObject[]) => (children.find((c) => c.kind === "Deployment")!.spec as any).template.spec;
  // A custom image need not carry the keeper: a sidecar that cannot start would hold the gateway container back.
  const custom = pod(build({ image: "registry.example/my-varnish:2", keeperImage: "lacquer:1" }));
  deepStrictEqual(
    [custom.containers[0].image, custom.initContainers[0].image, custom.initContainers[0].imagePullPolicy],
    ["registry.example/my-varnish:2", "lacquer:1", "IfNotPresent"],
  );
  const same = pod(build({ image: "lacquer:1", keeperImage: "lacquer:1" }));
  equal(same.initContainers[0].image, "lacquer:1");
});

Deno.test("buildChildren() ships a NetworkPolicy: listener ports open, the admin port only to labelled namespaces", () => {
  const children = build();
  // deno-lint-ignore no-explicit-any
  const policy = children.find((c) => c.kind === "NetworkPolicy")!.spec as any;
  const service = children.find((c) => c.kind === "Service")!.spec as { selector: Record<string, string> };
  deepStrictEqual(policy.podSelector.matchLabels, service.selector);
  deepStrictEqual(policy.policyTypes, ["Ingress"]);
  deepStrictEqual(policy.ingress, [
    { ports: [{ protocol: "TCP", port: 80 }] },
    {
      from: [{ namespaceSelector: { matchLabels: { [GATEWAY_ADMIN_ACCESS_LABEL]: "allowed" } } }],
      ports: [{ protocol: "TCP", port: CHAPERONE_ADMIN_PORT }],
    },
  ]);
});

Deno.test("buildChildren() makes no Service for a Gateway without a listener to serve", () => {
  const kinds = build({ port: 8901 }).map((c) => c.kind);
  equal(kinds.includes("Service"), false);
  equal(kinds.includes("Deployment"), true);
});

Deno.test("remoteRbacName() gives Gateways whose namespace and name join alike different names, within 253", () => {
  notEqual(remoteRbacName("a-b", "c"), remoteRbacName("a", "b-c"));
  equal(remoteRbacName("shop", "gw"), "lacquer-gw-shop.gw");
  const long = remoteRbacName("ns", "g".repeat(253));
  equal(long.length, 253);
  notEqual(long, remoteRbacName("ns", "g".repeat(252)));
});

Deno.test("buildChildren() sets LACQUER_HTTP2 on the gateway container only for a Gateway with HTTP/2", () => {
  const env = (http2?: boolean) =>
    // deno-lint-ignore no-explicit-any
    (build({ http2 }).find((c) => c.kind === "Deployment")!.spec as any).template.spec.containers[0].env
      .find((e: { name: string }) => e.name === "LACQUER_HTTP2");
  equal(env(), undefined);
  equal(env(false), undefined);
  deepStrictEqual(env(true), { name: "LACQUER_HTTP2", value: "true" });
});

Deno.test("buildChildren() gives a clustered Gateway's pods the peer listener, reachable only from each other", () => {
  // deno-lint-ignore no-explicit-any
  const parts = (clusteredCache: boolean): any => {
    const children = build({ clusteredCache });
    // deno-lint-ignore no-explicit-any
    const container = (children.find((c) => c.kind === "Deployment")!.spec as any).template.spec.containers[0];
    return {
      listen: container.env.find((e: { name: string }) => e.name === "LACQUER_LISTEN").value,
      podIp: container.env.find((e: { name: string }) => e.name === "POD_IP"),
      ports: container.ports.map((p: { containerPort: number }) => p.containerPort),
      // deno-lint-ignore no-explicit-any
      policy: (children.find((c) => c.kind === "NetworkPolicy")!.spec as any).ingress,
      // deno-lint-ignore no-explicit-any
      service: children.find((c) => c.kind === "Service")!.spec as any,
    };
  };
  const alone = parts(false);
  deepStrictEqual([alone.listen, alone.podIp, alone.ports, alone.policy.length], [
    "port-80=:80",
    undefined,
    [80, 8901],
    2,
  ]);
  const clustered = parts(true);
  equal(clustered.listen, "port-80=:80 peer=:6092");
  deepStrictEqual(clustered.podIp, { name: "POD_IP", valueFrom: { fieldRef: { fieldPath: "status.podIP" } } });
  deepStrictEqual(clustered.ports, [80, 8901, 6092]);
  deepStrictEqual(clustered.service.ports.map((p: { port: number }) => p.port), [80], "no Service exposes the peers");
  deepStrictEqual(clustered.policy[2], {
    from: [{ podSelector: { matchLabels: clustered.service.selector } }],
    ports: [{ protocol: "TCP", port: 6092 }],
  });
});

Deno.test("buildChildren() labels a Gateway's routing.json shards for its pods' watch, which the Role lets them list", () => {
  for (const name of ["gw", `a${"b".repeat(200)}`]) {
    const routingShards = shardRouting(manyHostsRouting(500, (i) => `s${i}`), {
      bytes: 1 << 20,
      prefix: routingShardPrefix(name),
    })!;
    const children = build({ name, routingShards });
    const configMaps = children.filter((c) => c.kind === "ConfigMap");
    const child = configMaps.at(-1)!.metadata.name;
    const value = routingShardsLabelValue(child);
    ok(value.length <= 63);
    deepStrictEqual(
      configMaps.filter((c) => c.metadata.labels[ROUTING_SHARDS_OF_LABEL] === value).map((c) => c.metadata.name),
      routingShards.shards.map((s) => s.name),
      "every shard, and only the shards, carry the label",
    );
    const role = children.find((c) => c.kind === "Role" && c.metadata.namespace === "ns")!;
    const rules = (role.rules as { resources: string[]; resourceNames?: string[]; verbs: string[] }[])
      .filter((r) => r.resources[0] === "configmaps");
    deepStrictEqual(rules.map((r) => [r.resourceNames, r.verbs]), [
      [[child], ["get", "list", "watch"]],
      [undefined, ["list", "watch"]],
      [routingShards.shards.map((s) => s.name), ["get"]],
    ]);
  }
});

Deno.test("buildChildren() keeps the gateway's run directory (ghost.json, VCLs) in memory, within a limit", () => {
  const deployment = build().find((c) => c.kind === "Deployment")!;
  // deno-lint-ignore no-explicit-any
  const volumes = (deployment.spec as any).template.spec.volumes as { name: string; emptyDir?: unknown }[];
  deepStrictEqual(volumes.find((v) => v.name === "run")?.emptyDir, { medium: "Memory", sizeLimit: "256Mi" });
});

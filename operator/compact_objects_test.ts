import { deepEqual } from "node:assert/strict";
import {
  compactMetadata,
  compactNamespace,
  compactPod,
  compactService,
  compactTlsSecret,
  metadataOnly,
} from "./compact_objects.ts";

const metadata = {
  name: "a",
  namespace: "ns",
  resourceVersion: "7",
  labels: { app: "x" },
  annotations: { keep: "1", "kubectl.kubernetes.io/last-applied-configuration": "{...}" },
  managedFields: [{ manager: "kubectl" }],
  ownerReferences: [{ kind: "Gateway" }],
};

Deno.test("compactMetadata() keeps identity, labels and annotations but not managedFields or last-applied", () => {
  deepEqual(compactMetadata(metadata), {
    name: "a",
    namespace: "ns",
    resourceVersion: "7",
    labels: { app: "x" },
    annotations: { keep: "1" },
  });
  deepEqual(compactMetadata({ name: "b", annotations: { "kubectl.kubernetes.io/last-applied-configuration": "" } }), {
    name: "b",
  });
});

Deno.test("compact functions keep only the fields the operator reads", () => {
  const small = compactMetadata(metadata);
  deepEqual(metadataOnly({ apiVersion: "v1", kind: "ConfigMap", metadata, data: { "routing.json": "{}" } }), {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: small,
  });
  deepEqual(
    compactService({
      metadata,
      spec: { type: "ClusterIP", clusterIP: "10.0.0.1", ports: [{ port: 80 }], selector: { app: "x" } },
      status: { loadBalancer: {} },
    }),
    {
      metadata: small,
      spec: { type: "ClusterIP", clusterIP: "10.0.0.1", ports: [{ port: 80 }] },
      status: { loadBalancer: {} },
    },
  );
  deepEqual(
    compactPod({ metadata, spec: { containers: [] }, status: { phase: "Running", conditions: [], podIP: "10.0.0.7" } }),
    { metadata: small, status: { conditions: [], podIP: "10.0.0.7" } },
  );
  deepEqual(compactNamespace({ kind: "Namespace", metadata }), {
    kind: "Namespace",
    metadata: { name: "a", labels: { app: "x" } },
  });
  deepEqual(
    compactTlsSecret({
      metadata,
      type: "kubernetes.io/tls",
      data: { "tls.crt": "C", "tls.key": "K", "ca.crt": "A", other: "O" },
    }),
    {
      metadata: small,
      type: "kubernetes.io/tls",
      data: { "tls.crt": "C", "tls.key": "K", "ca.crt": "A" },
    },
  );
});

import { deepStrictEqual, strictEqual } from "node:assert/strict";
import { buildPodEnv, expandVars, resolveFieldRef } from "./pod_env.ts";
import type { DataObject, Pod } from "./types.ts";

const pod: Pod = {
  metadata: { name: "web-1", namespace: "ns", uid: "u-1", labels: { app: "web" }, annotations: { a: "b" } },
  spec: { nodeName: "node", serviceAccountName: "sa", containers: [] },
};
const ips = { podIp: "10.244.0.9", hostIp: "10.244.0.1" };

function objects(configMaps: Record<string, DataObject>, secrets: Record<string, DataObject> = {}) {
  return {
    configMap: (ns: string, name: string) => configMaps[`${ns}/${name}`],
    secret: (ns: string, name: string) => secrets[`${ns}/${name}`],
  };
}

const context = (o = objects({})) => ({
  ...ips,
  apiHost: "10.244.0.1",
  apiPort: 6443,
  objects: o,
  base: { PATH: "/bin" },
});

Deno.test("resolveFieldRef() resolves the downward API fields", () => {
  strictEqual(resolveFieldRef(pod, "metadata.name", ips), "web-1");
  strictEqual(resolveFieldRef(pod, "metadata.namespace", ips), "ns");
  strictEqual(resolveFieldRef(pod, "metadata.labels['app']", ips), "web");
  strictEqual(resolveFieldRef(pod, "metadata.annotations['a']", ips), "b");
  strictEqual(resolveFieldRef(pod, "status.podIP", ips), "10.244.0.9");
  strictEqual(resolveFieldRef(pod, "spec.serviceAccountName", ips), "sa");
  strictEqual(resolveFieldRef(pod, "metadata.labels", ips), 'app="web"');
  strictEqual(resolveFieldRef(pod, "spec.unknown", ips), undefined);
});

Deno.test("expandVars() expands known references and keeps escapes and unknown ones", () => {
  strictEqual(expandVars("$(A)-$(B)-$$(A)", { A: "1" }), "1-$(B)-$(A)");
});

Deno.test("buildPodEnv() combines API server discovery, envFrom, env and fieldRefs", () => {
  const o = objects({ "ns/cfg": { metadata: { name: "cfg" }, data: { MODE: "fast" } } }, {
    "ns/sec": { metadata: { name: "sec" }, data: { TOKEN: btoa("s3cret") } },
  });
  const r = buildPodEnv(pod, {
    container: {
      name: "c",
      image: "i",
      envFrom: [{ configMapRef: { name: "cfg" }, prefix: "CFG_" }],
      env: [
        { name: "POD", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } },
        { name: "IP", valueFrom: { fieldRef: { fieldPath: "status.podIP" } } },
        { name: "URL", value: "http://$(IP):3000" },
        { name: "TOKEN", valueFrom: { secretKeyRef: { name: "sec", key: "TOKEN" } } },
      ],
    },
    context: context(o),
  });
  deepStrictEqual(r.missing, []);
  strictEqual(r.env.POD, "web-1");
  strictEqual(r.env.URL, "http://10.244.0.9:3000");
  strictEqual(r.env.CFG_MODE, "fast");
  strictEqual(r.env.TOKEN, "s3cret");
  strictEqual(r.env.KUBERNETES_SERVICE_HOST, "10.244.0.1");
  strictEqual(r.env.PATH, "/bin");
});

Deno.test("buildPodEnv() reports missing ConfigMaps and Secrets unless optional", () => {
  const r = buildPodEnv(pod, {
    container: {
      name: "c",
      image: "i",
      env: [
        { name: "A", valueFrom: { configMapKeyRef: { name: "later", key: "k" } } },
        { name: "B", valueFrom: { secretKeyRef: { name: "maybe", key: "k", optional: true } } },
      ],
    },
    context: context(),
  });
  deepStrictEqual(r.missing, ['configmap "ns/later" key "k"']);
  strictEqual("B" in r.env, false);
});

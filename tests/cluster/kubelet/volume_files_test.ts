import { deepStrictEqual } from "node:assert/strict";
import type { DataObject, Pod } from "./types.ts";
import { volumeFiles } from "./volume_files.ts";

const text = (b: Uint8Array | undefined) => b && new TextDecoder().decode(b);

function pod(volumes: Pod["spec"]["volumes"]): Pod {
  return { metadata: { name: "p", namespace: "ns", uid: "u" }, spec: { containers: [], volumes } };
}

function objects(configMaps: Record<string, DataObject>, secrets: Record<string, DataObject> = {}) {
  return {
    configMap: (ns: string, name: string) => configMaps[`${ns}/${name}`],
    secret: (ns: string, name: string) => secrets[`${ns}/${name}`],
  };
}

const ips = { podIp: "10.244.0.2", hostIp: "10.244.0.1" };

Deno.test("volumeFiles() projects ConfigMap keys, Secret keys and items", () => {
  const r = volumeFiles(
    pod([
      { name: "cfg", configMap: { name: "c" } },
      { name: "sec", secret: { secretName: "s", items: [{ key: "tls.crt", path: "certs/tls.crt" }] } },
    ]),
    {
      ...ips,
      objects: objects(
        { "ns/c": { metadata: { name: "c" }, data: { "main.vcl": "vcl 4.1;" } } },
        { "ns/s": { metadata: { name: "s" }, data: { "tls.crt": btoa("CERT"), "tls.key": btoa("KEY") } } },
      ),
    },
  );
  deepStrictEqual(r.missing, []);
  deepStrictEqual(text(r.volumes[0].files["main.vcl"]), "vcl 4.1;");
  deepStrictEqual(Object.keys(r.volumes[1].files), ["certs/tls.crt"]);
  deepStrictEqual(text(r.volumes[1].files["certs/tls.crt"]), "CERT");
});

Deno.test("volumeFiles() builds the service-account volume and waits for the token", () => {
  const volumes = [{
    name: "kube-api-access",
    projected: {
      sources: [
        { serviceAccountToken: { path: "token" } },
        { configMap: { name: "kube-root-ca.crt", items: [{ key: "ca.crt", path: "ca.crt" }] } },
        { downwardAPI: { items: [{ path: "namespace", fieldRef: { fieldPath: "metadata.namespace" } }] } },
      ],
    },
  }];
  const waiting = volumeFiles(pod(volumes), { ...ips, objects: objects({}), caCert: "CA" });
  deepStrictEqual(waiting.missing, ["service account token"]);
  const ready = volumeFiles(pod(volumes), { ...ips, objects: objects({}), caCert: "CA", token: "T" });
  deepStrictEqual(ready.missing, []);
  const files = ready.volumes[0].files;
  deepStrictEqual([text(files.token), text(files["ca.crt"]), text(files.namespace)], ["T", "CA", "ns"]);
});

Deno.test("volumeFiles() reports missing objects unless optional", () => {
  const r = volumeFiles(
    pod([{ name: "a", configMap: { name: "later" } }, { name: "b", secret: { secretName: "x", optional: true } }]),
    { ...ips, objects: objects({}) },
  );
  deepStrictEqual(r.missing, ['configmap "ns/later"']);
});

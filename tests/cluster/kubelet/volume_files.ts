/**
 * Computes the files of a pod's volumes: ConfigMap, Secret, downward API, projected (including the
 * service-account token), emptyDir and hostPath. Pure: the writer puts the result on disk.
 *
 * @module
 */
import { resolveFieldRef } from "./pod_env.ts";
import type { KeyToPath, ObjectLookup, Pod } from "./types.ts";

/** One volume's content. */
export interface VolumeContent {
  name: string;
  /** A host directory used as is (hostPath). */
  hostPath?: string;
  /** Files relative to the volume directory. */
  files: Record<string, Uint8Array>;
}

/** Result of {@linkcode volumeFiles}. */
export interface VolumeFilesResult {
  volumes: VolumeContent[];
  /** Objects that do not exist yet; the pod waits for them. */
  missing: string[];
}

/** Context of {@linkcode volumeFiles}. */
export interface VolumeContext {
  objects: ObjectLookup;
  podIp: string;
  hostIp: string;
  /** The pod's service-account token, when one was issued. */
  token?: string;
  /** The cluster CA (PEM), for `kube-root-ca.crt` before the publisher created it. */
  caCert?: string;
}

const enc = new TextEncoder();

function fromBase64(v: string): Uint8Array {
  const bin = atob(v);
  return Uint8Array.from(bin, (c) => c.charCodeAt(0));
}

function project(
  data: Record<string, Uint8Array>,
  items: KeyToPath[] | undefined,
  out: Record<string, Uint8Array>,
): void {
  if (!items) {
    Object.assign(out, data);
    return;
  }
  for (const item of items) if (data[item.key]) out[item.path] = data[item.key];
}

/**
 * Computes every volume of `pod`.
 *
 * @param pod The pod.
 * @param context Object lookups, IPs and the token.
 * @returns The volume contents and what is missing.
 */
export function volumeFiles(pod: Pod, context: VolumeContext): VolumeFilesResult {
  const ns = pod.metadata.namespace;
  const missing: string[] = [];
  const ips = { podIp: context.podIp, hostIp: context.hostIp };
  const configMapData = (name: string, optional?: boolean) => {
    const cm = context.objects.configMap(ns, name);
    if (!cm && name === "kube-root-ca.crt" && context.caCert) return { "ca.crt": enc.encode(context.caCert) };
    if (!cm) {
      if (!optional) missing.push(`configmap "${ns}/${name}"`);
      return {};
    }
    const data: Record<string, Uint8Array> = {};
    for (const [k, v] of Object.entries(cm.data ?? {})) data[k] = enc.encode(v);
    for (const [k, v] of Object.entries(cm.binaryData ?? {})) data[k] = fromBase64(v);
    return data;
  };
  const secretData = (name: string, optional?: boolean) => {
    const s = context.objects.secret(ns, name);
    if (!s) {
      if (!optional) missing.push(`secret "${ns}/${name}"`);
      return {};
    }
    const data: Record<string, Uint8Array> = {};
    for (const [k, v] of Object.entries(s.data ?? {})) data[k] = fromBase64(v);
    return data;
  };
  const downward = (items: { path: string; fieldRef?: { fieldPath: string } }[], out: Record<string, Uint8Array>) => {
    for (const item of items) {
      if (item.fieldRef) out[item.path] = enc.encode(resolveFieldRef(pod, item.fieldRef.fieldPath, ips) ?? "");
    }
  };
  const volumes: VolumeContent[] = [];
  for (const v of pod.spec.volumes ?? []) {
    const files: Record<string, Uint8Array> = {};
    if (v.hostPath) {
      volumes.push({ name: v.name, hostPath: v.hostPath.path, files });
      continue;
    }
    if (v.configMap) project(configMapData(v.configMap.name, v.configMap.optional), v.configMap.items, files);
    if (v.secret) project(secretData(v.secret.secretName, v.secret.optional), v.secret.items, files);
    if (v.downwardAPI) downward(v.downwardAPI.items, files);
    for (const s of v.projected?.sources ?? []) {
      if (s.configMap) project(configMapData(s.configMap.name, s.configMap.optional), s.configMap.items, files);
      if (s.secret) project(secretData(s.secret.name, s.secret.optional), s.secret.items, files);
      if (s.downwardAPI) downward(s.downwardAPI.items, files);
      if (s.serviceAccountToken) {
        if (context.token === undefined) missing.push("service account token");
        else files[s.serviceAccountToken.path] = enc.encode(context.token);
      }
    }
    volumes.push({ name: v.name, files });
  }
  return { volumes, missing };
}

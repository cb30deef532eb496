/**
 * Builds a container's environment the way the kubelet does: service discovery of the API server, `envFrom`,
 * `env` with `$(VAR)` expansion, downward-API `fieldRef`s, and ConfigMap/Secret keys. Pure.
 *
 * @module
 */
import type { Container, ObjectLookup, Pod } from "./types.ts";

/** The result: the environment, plus references that cannot be resolved yet (the container must wait). */
export interface PodEnvResult {
  env: Record<string, string>;
  /** Human-readable missing references, e.g. `configmap "ns/name"`; empty when the container can start. */
  missing: string[];
}

/** Context of {@linkcode buildPodEnv}. */
export interface PodEnvContext {
  /** The pod's IP. */
  podIp: string;
  /** The node's IP (`status.hostIP`). */
  hostIp: string;
  /** Where in-cluster clients reach the API server. */
  apiHost: string;
  /** Its port. */
  apiPort: number;
  /** Lookups of ConfigMaps and Secrets. */
  objects: ObjectLookup;
  /** Variables from the host, added first (e.g. PATH, HOME). */
  base?: Record<string, string>;
}

/**
 * Resolves a downward-API field path against a pod.
 *
 * @example Usage
 * ```ts
 * import { resolveFieldRef } from "./pod_env.ts";
 * const pod = { metadata: { name: "p", namespace: "n", uid: "u", labels: { app: "a" } }, spec: { containers: [] } };
 * resolveFieldRef(pod, "metadata.labels['app']", { podIp: "10.244.0.2", hostIp: "10.244.0.1" }); // "a"
 * ```
 *
 * @param pod The pod.
 * @param path The field path.
 * @param ips The pod and host IP.
 * @returns The value, or undefined for unsupported paths.
 */
export function resolveFieldRef(pod: Pod, path: string, ips: { podIp: string; hostIp: string }): string | undefined {
  const m = /^metadata\.(labels|annotations)\['(.+)'\]$/.exec(path);
  if (m) return (m[1] === "labels" ? pod.metadata.labels : pod.metadata.annotations)?.[m[2]] ?? "";
  switch (path) {
    case "metadata.name":
      return pod.metadata.name;
    case "metadata.namespace":
      return pod.metadata.namespace;
    case "metadata.uid":
      return pod.metadata.uid;
    case "metadata.labels":
      return Object.entries(pod.metadata.labels ?? {}).map(([k, v]) => `${k}="${v}"`).join("\n");
    case "metadata.annotations":
      return Object.entries(pod.metadata.annotations ?? {}).map(([k, v]) => `${k}="${v}"`).join("\n");
    case "spec.nodeName":
      return pod.spec.nodeName ?? "";
    case "spec.serviceAccountName":
      return pod.spec.serviceAccountName ?? "default";
    case "status.podIP":
    case "status.podIPs":
      return ips.podIp;
    case "status.hostIP":
    case "status.hostIPs":
      return ips.hostIp;
  }
  return undefined;
}

/**
 * Expands `$(VAR)` references the Kubernetes way: `$$(VAR)` escapes, unknown references stay as written.
 *
 * @example Usage
 * ```ts
 * import { expandVars } from "./pod_env.ts";
 * expandVars("http://$(HOST):$(PORT)/$$(X)", { HOST: "h", PORT: "1" }); // "http://h:1/$(X)"
 * ```
 *
 * @param value The text.
 * @param vars Known variables.
 * @returns The expanded text.
 */
export function expandVars(value: string, vars: Record<string, string>): string {
  return value.replace(/\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)/g, (all, name?: string) => {
    if (all === "$$") return "$";
    return name !== undefined && name in vars ? vars[name] : all;
  });
}

function decode(value: string, secret: boolean): string {
  if (!secret) return value;
  const bin = atob(value);
  return new TextDecoder().decode(Uint8Array.from(bin, (c) => c.charCodeAt(0)));
}

/**
 * Builds the environment of one container of a pod.
 *
 * @param pod The pod.
 * @param options The container and the context.
 * @returns The environment and the missing references.
 */
export function buildPodEnv(pod: Pod, options: { container: Container; context: PodEnvContext }): PodEnvResult {
  const { container, context } = options;
  const ns = pod.metadata.namespace;
  const missing: string[] = [];
  const env: Record<string, string> = {
    ...(context.base ?? {}),
    HOSTNAME: pod.spec.hostname ?? pod.metadata.name,
    KUBERNETES_SERVICE_HOST: context.apiHost,
    KUBERNETES_SERVICE_PORT: String(context.apiPort),
    KUBERNETES_SERVICE_PORT_HTTPS: String(context.apiPort),
    KUBERNETES_PORT: `tcp://${context.apiHost}:${context.apiPort}`,
  };
  for (const from of container.envFrom ?? []) {
    const prefix = from.prefix ?? "";
    const ref = from.configMapRef ?? from.secretRef;
    if (!ref) continue;
    const secret = !!from.secretRef;
    const obj = secret ? context.objects.secret(ns, ref.name) : context.objects.configMap(ns, ref.name);
    if (!obj) {
      if (!ref.optional) missing.push(`${secret ? "secret" : "configmap"} "${ns}/${ref.name}"`);
      continue;
    }
    for (const [k, v] of Object.entries(obj.data ?? {})) env[prefix + k] = decode(v, secret);
  }
  const ips = { podIp: context.podIp, hostIp: context.hostIp };
  for (const e of container.env ?? []) {
    if (e.value !== undefined) {
      env[e.name] = expandVars(e.value, env);
      continue;
    }
    const from = e.valueFrom;
    if (!from) {
      env[e.name] = "";
    } else if (from.fieldRef) {
      env[e.name] = resolveFieldRef(pod, from.fieldRef.fieldPath, ips) ?? "";
    } else if (from.resourceFieldRef) {
      env[e.name] = from.resourceFieldRef.resource.includes("cpu") ? "1" : String(1 << 30);
    } else {
      const ref = from.configMapKeyRef ?? from.secretKeyRef!;
      const secret = !!from.secretKeyRef;
      const obj = secret ? context.objects.secret(ns, ref.name) : context.objects.configMap(ns, ref.name);
      const value = obj?.data?.[ref.key];
      if (value === undefined) {
        if (!ref.optional) missing.push(`${secret ? "secret" : "configmap"} "${ns}/${ref.name}" key "${ref.key}"`);
        continue;
      }
      env[e.name] = decode(value, secret);
    }
  }
  return { env, missing };
}

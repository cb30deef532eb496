/**
 * The slices of core/v1 objects the process kubelet reads. Objects come from the API server as raw JSON; these
 * types name only the fields we use.
 *
 * @module
 */
import type { KubeObject } from "../../../internal/kube/mod.ts";

/** An env var source (core/v1 EnvVar). */
export interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: {
    fieldRef?: { fieldPath: string };
    resourceFieldRef?: { resource: string; containerName?: string };
    configMapKeyRef?: { name: string; key: string; optional?: boolean };
    secretKeyRef?: { name: string; key: string; optional?: boolean };
  };
}

/** A probe (core/v1 Probe). */
export interface Probe {
  httpGet?: { path?: string; port: number | string; scheme?: string; host?: string };
  tcpSocket?: { port: number | string };
  exec?: { command: string[] };
  initialDelaySeconds?: number;
  periodSeconds?: number;
  timeoutSeconds?: number;
  successThreshold?: number;
  failureThreshold?: number;
}

/** A container (core/v1 Container). */
export interface Container {
  name: string;
  image: string;
  command?: string[];
  args?: string[];
  workingDir?: string;
  env?: EnvVar[];
  envFrom?: {
    prefix?: string;
    configMapRef?: { name: string; optional?: boolean };
    secretRef?: { name: string; optional?: boolean };
  }[];
  ports?: { name?: string; containerPort: number; protocol?: string }[];
  volumeMounts?: { name: string; mountPath: string; subPath?: string; readOnly?: boolean }[];
  readinessProbe?: Probe;
  livenessProbe?: Probe;
  lifecycle?: { preStop?: LifecycleHandler };
  /** Only on init containers: "Always" makes it a sidecar that keeps running. */
  restartPolicy?: "Always";
}

/** A lifecycle hook (core/v1 LifecycleHandler). */
export interface LifecycleHandler {
  httpGet?: {
    path?: string;
    port: number | string;
    scheme?: string;
    host?: string;
    httpHeaders?: { name: string; value: string }[];
  };
  exec?: { command: string[] };
  sleep?: { seconds: number };
}

/** A key projection of a ConfigMap, Secret or downward API volume. */
export interface KeyToPath {
  key: string;
  path: string;
}

/** A volume (core/v1 Volume), the kinds we materialise. */
export interface Volume {
  name: string;
  emptyDir?: Record<string, unknown>;
  hostPath?: { path: string };
  configMap?: { name: string; items?: KeyToPath[]; optional?: boolean };
  secret?: { secretName: string; items?: KeyToPath[]; optional?: boolean };
  downwardAPI?: { items: { path: string; fieldRef?: { fieldPath: string } }[] };
  projected?: {
    sources: {
      configMap?: { name: string; items?: KeyToPath[]; optional?: boolean };
      secret?: { name: string; items?: KeyToPath[]; optional?: boolean };
      downwardAPI?: { items: { path: string; fieldRef?: { fieldPath: string } }[] };
      serviceAccountToken?: { path: string; audience?: string; expirationSeconds?: number };
    }[];
  };
}

/** A pod (core/v1 Pod), raw JSON. */
export interface Pod extends KubeObject {
  metadata: KubeObject["metadata"] & {
    namespace: string;
    uid: string;
    deletionTimestamp?: string;
    deletionGracePeriodSeconds?: number;
    creationTimestamp?: string;
  };
  spec: {
    nodeName?: string;
    containers: Container[];
    initContainers?: Container[];
    volumes?: Volume[];
    restartPolicy?: "Always" | "OnFailure" | "Never";
    terminationGracePeriodSeconds?: number;
    serviceAccountName?: string;
    hostname?: string;
    hostNetwork?: boolean;
  };
  status?: Record<string, unknown> & { phase?: string; podIP?: string };
}

/** A ConfigMap or Secret: `data` (Secret: base64) and `binaryData`. */
export interface DataObject extends KubeObject {
  data?: Record<string, string>;
  binaryData?: Record<string, string>;
}

/** Looks up ConfigMaps and Secrets by `namespace/name` (from the kubelet's caches). */
export interface ObjectLookup {
  configMap(namespace: string, name: string): DataObject | undefined;
  secret(namespace: string, name: string): DataObject | undefined;
}

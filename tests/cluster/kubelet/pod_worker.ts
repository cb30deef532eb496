/**
 * One pod's life on the process kubelet: network namespace and IP, service-account token, volumes and environment
 * (waiting for ConfigMaps and Secrets created later), container runners, and termination.
 *
 * @module
 */
import type { KubeClient } from "../../../internal/kube/mod.ts";
import type { Logger } from "../../../internal/log.ts";
import { API_PORT, BRIDGE, NODE_IP } from "../layout.ts";
import { ContainerRunner, type ContainerRunnerOptions } from "./container_runner.ts";
import { type ImageHost, type ImageRule, resolveImage } from "./image_table.ts";
import { rewritePath } from "./path_rewrite.ts";
import { buildPodEnv } from "./pod_env.ts";
import { createPodNetwork, deletePodNetwork, type PodNetwork } from "./pod_network.ts";
import type { ContainerRuntime, PodRuntime } from "./pod_status.ts";
import type { Container, ObjectLookup, Pod } from "./types.ts";
import { volumeFiles } from "./volume_files.ts";

/** What a pod worker needs from the kubelet. */
export interface PodWorkerDeps {
  client: KubeClient;
  objects: ObjectLookup;
  imageHost: ImageHost;
  imageTable: readonly ImageRule[];
  /** PEM of the cluster CA. */
  caCert: string;
  /** Directory of this pod's files (volumes, root, logs). */
  podDir: string;
  /** Network namespace name for this pod. */
  netns: string;
  /** Host-side veth name. */
  hostIf: string;
  /** The pod IP. */
  ip: string;
  /** Environment every container gets first (PATH, HOME...). */
  baseEnv: Record<string, string>;
  /** Called when the runtime state changes. */
  onChange: () => void;
  log: Logger;
}

/** Name of a pod's network namespace: prefix plus the first 8 characters of its uid. */
export function podNetnsName(prefix: string, uid: string): string {
  return prefix + uid.replace(/-/g, "").slice(0, 8);
}

/** Runs one pod. */
export class PodWorker {
  #pod: Pod;
  #d: PodWorkerDeps;
  #network: PodNetwork | undefined;
  #runners: ContainerRunner[] = [];
  #initRunners: ContainerRunner[] = [];
  #initialized = false;
  #failed = false;
  #waiting: { reason: string; message?: string } = { reason: "ContainerCreating" };
  #wake: (() => void) | undefined;
  #stopping = false;
  #setup: Promise<void> | undefined;
  #token: string | undefined;
  #startTime = new Date().toISOString();
  #volumeHash = "";

  /** Creates the worker; {@linkcode PodWorker.start} starts it. */
  constructor(pod: Pod, deps: PodWorkerDeps) {
    this.#pod = pod;
    this.#d = deps;
  }

  /** The latest pod object. */
  get pod(): Pod {
    return this.#pod;
  }

  /** The container runners, init containers first (empty until they start). */
  get runners(): readonly ContainerRunner[] {
    return [...this.#initRunners, ...this.#runners];
  }

  /** Records a newer version of the pod. */
  update(pod: Pod): void {
    this.#pod = pod;
  }

  /** Re-checks missing ConfigMaps/Secrets and refreshes volume files (after such an object changed). */
  wake(): void {
    this.#wake?.();
    if (this.#runners.length > 0) this.#writeVolumes().catch(() => {});
  }

  /** The state for the pod status. */
  runtime(): PodRuntime {
    const containers: ContainerRuntime[] = this.#runners.length > 0
      ? this.#runners.map((r) => r.runtime())
      : this.#pod.spec.containers.map((c) => ({
        name: c.name,
        image: c.image,
        state: { waiting: this.#waiting },
        ready: false,
        restartCount: 0,
      }));
    const waiting = (c: Container): ContainerRuntime => ({
      name: c.name,
      image: c.image,
      state: { waiting: this.#waiting },
      ready: false,
      restartCount: 0,
    });
    const inits = this.#pod.spec.initContainers ?? [];
    const initContainers = inits.map((c, i) => this.#initRunners[i]?.runtime() ?? waiting(c));
    return {
      podIp: this.#network?.ip,
      hostIp: NODE_IP,
      startTime: this.#startTime,
      containers,
      ...(inits.length > 0 ? { initContainers, initialized: this.#initialized } : {}),
      ...(this.#failed ? { failed: true } : {}),
    };
  }

  /** Sets the pod up and starts its containers. */
  start(): void {
    this.#setup ??= this.#run().catch((err) => {
      this.#d.log.error("Pod setup failed", { err });
      this.#waiting = { reason: "CreateContainerError", message: String(err?.message ?? err) };
      this.#d.onChange();
    });
  }

  /**
   * Stops every container (SIGTERM, grace period, SIGKILL) and removes the pod's network and files.
   *
   * @param graceMs The grace period.
   */
  async terminate(graceMs: number): Promise<void> {
    this.#stopping = true;
    this.#wake?.();
    await this.#setup;
    await Promise.all(this.runners.map((r) => r.stop(graceMs)));
    this.#d.onChange();
    await deletePodNetwork(this.#d.netns, { hostIf: this.#d.hostIf });
    await Deno.remove(this.#d.podDir, { recursive: true }).catch(() => {});
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(resolve, ms);
      this.#wake = () => {
        clearTimeout(t);
        resolve();
      };
    });
  }

  get #root(): string {
    return `${this.#d.podDir}/root`;
  }

  async #fetchToken(): Promise<void> {
    const needs = (this.#pod.spec.volumes ?? []).some((v) => v.projected?.sources.some((s) => s.serviceAccountToken));
    if (!needs || this.#token) return;
    const p = this.#pod;
    const sa = p.spec.serviceAccountName ?? "default";
    try {
      const tr = await this.#d.client.request<{ status: { token: string } }>(
        `/api/v1/namespaces/${p.metadata.namespace}/serviceaccounts/${sa}/token`,
        {
          method: "POST",
          body: {
            apiVersion: "authentication.k8s.io/v1",
            kind: "TokenRequest",
            spec: {
              expirationSeconds: 86400,
              boundObjectRef: { apiVersion: "v1", kind: "Pod", name: p.metadata.name, uid: p.metadata.uid },
            },
          },
        },
      );
      this.#token = tr.status.token;
    } catch (err) {
      this.#d.log.debug("Service account token not issued yet", { err });
    }
  }

  async #writeVolumes(): Promise<string[]> {
    const result = volumeFiles(this.#pod, {
      objects: this.#d.objects,
      podIp: this.#d.ip,
      hostIp: NODE_IP,
      token: this.#token,
      caCert: this.#d.caCert,
    });
    if (result.missing.length > 0) return result.missing;
    const full = JSON.stringify(
      result.volumes.map((v) => [v.name, v.hostPath, Object.entries(v.files).map(([k, f]) => [k, Array.from(f)])]),
    );
    if (full === this.#volumeHash) return [];
    this.#volumeHash = full;
    const volDir = `${this.#d.podDir}/volumes`;
    for (const v of result.volumes) {
      const dir = `${volDir}/${v.name}`;
      await Deno.mkdir(dir, { recursive: true });
      for (const [rel, data] of Object.entries(v.files)) {
        const path = `${dir}/${rel}`;
        await Deno.mkdir(path.slice(0, path.lastIndexOf("/")), { recursive: true });
        await Deno.writeFile(path + ".tmp", data);
        await Deno.rename(path + ".tmp", path);
      }
    }
    for (const c of [...(this.#pod.spec.initContainers ?? []), ...this.#pod.spec.containers]) {
      for (const m of c.volumeMounts ?? []) {
        const vol = result.volumes.find((v) => v.name === m.name);
        if (!vol) continue;
        const target = (vol.hostPath ?? `${volDir}/${m.name}`) + (m.subPath ? `/${m.subPath}` : "");
        const link = this.#root + m.mountPath.replace(/\/+$/, "");
        await Deno.mkdir(link.slice(0, link.lastIndexOf("/")), { recursive: true });
        const existing = await Deno.readLink(link).catch(() => undefined);
        if (existing === target) continue;
        await Deno.remove(link, { recursive: true }).catch(() => {});
        await Deno.symlink(target, link);
      }
    }
    return [];
  }

  async #run(): Promise<void> {
    const d = this.#d;
    await Deno.mkdir(this.#root, { recursive: true });
    this.#network = await createPodNetwork({
      netns: d.netns,
      hostIf: d.hostIf,
      ip: d.ip,
      prefixLength: 16,
      bridge: BRIDGE,
      gateway: NODE_IP,
    });
    d.log.info("Pod network created", { podIp: d.ip, netns: d.netns });
    d.onChange();
    // wait for the service-account token, ConfigMaps and Secrets
    const envs: Record<string, string>[] = [];
    while (!this.#stopping) {
      await this.#fetchToken();
      const missing = await this.#writeVolumes();
      envs.length = 0;
      for (const c of [...(this.#pod.spec.initContainers ?? []), ...this.#pod.spec.containers]) {
        const r = buildPodEnv(this.#pod, {
          container: c,
          context: {
            podIp: d.ip,
            hostIp: NODE_IP,
            apiHost: NODE_IP,
            apiPort: API_PORT,
            objects: d.objects,
            base: { ...d.baseEnv, LACQUER_POD_ROOT: this.#root },
          },
        });
        missing.push(...r.missing);
        envs.push(r.env);
      }
      if (missing.length === 0) break;
      const message = `waiting for ${[...new Set(missing)].join(", ")}`;
      if (this.#waiting.message !== message) {
        this.#waiting = { reason: "CreateContainerConfigError", message };
        d.log.info("Pod waiting for objects", { missing });
        d.onChange();
      }
      await this.#sleep(2000);
    }
    if (this.#stopping) return;
    const policy = this.#pod.spec.restartPolicy ?? "Always";
    const runner = (
      c: Container,
      env: Record<string, string>,
      restartPolicy: ContainerRunnerOptions["restartPolicy"],
    ) => {
      const mountPaths = (c.volumeMounts ?? []).map((m) => m.mountPath);
      const rewrite = (v: string) => rewritePath(v, { root: this.#root, mountPaths });
      let command = resolveImage(c, { host: d.imageHost, table: d.imageTable });
      if (command.noop && restartPolicy !== "Always") command = { program: "true", args: [], noop: true };
      const rewritten: Record<string, string> = {};
      for (const [k, v] of Object.entries(env)) rewritten[k] = k === "LACQUER_POD_ROOT" ? v : rewrite(v);
      let cwd = this.#root;
      if (c.workingDir) {
        const w = rewrite(c.workingDir);
        cwd = w.startsWith(this.#root) ? w : this.#root + c.workingDir;
        Deno.mkdirSync(cwd, { recursive: true });
      }
      return new ContainerRunner({
        container: c,
        command: { ...command, args: command.args.map(rewrite) },
        env: rewritten,
        cwd,
        netnsPath: this.#network!.netnsPath,
        podIp: d.ip,
        logDir: `${d.podDir}/logs/${c.name}`,
        // the symlink under the pod root points at the volume; bind mounts follow it
        mounts: mountPaths.map((target) => ({ source: this.#root + target.replace(/\/+$/, ""), target })),
        restartPolicy,
        onChange: d.onChange,
        log: d.log.child({ container: c.name }),
      });
    };
    // init containers one after the other (sidecars, restartPolicy Always, keep running), then the containers
    const inits = this.#pod.spec.initContainers ?? [];
    for (const [i, c] of inits.entries()) {
      const sidecar = c.restartPolicy === "Always";
      const r = runner(c, envs[i], sidecar ? "Always" : policy === "Never" ? "Never" : "OnFailure");
      this.#initRunners.push(r);
      r.start();
      d.onChange();
      if (sidecar) continue;
      await r.finished();
      const state = r.runtime().state;
      if (this.#stopping) return;
      if (!("terminated" in state) || state.terminated.exitCode !== 0) {
        this.#failed = true;
        d.onChange();
        return;
      }
    }
    this.#initialized = true;
    this.#runners = this.#pod.spec.containers.map((c, i) => runner(c, envs[inits.length + i], policy));
    for (const r of this.#runners) r.start();
    d.onChange();
  }
}

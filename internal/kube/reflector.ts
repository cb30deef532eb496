/**
 * A list+watch cache of one resource collection, as client-go's reflector keeps one, on {@linkcode KubeClient}.
 *
 * It lists (paged), then watches from the list's resourceVersion with bookmarks and a random server timeout,
 * rewatches after a clean end, relists on 410 Gone or repeated failures, backs off on errors, aborts silent
 * connections with a watchdog, and re-delivers every cached object on a resync timer. Handlers only see
 * `(old, current)` pairs: `(undefined, obj)` added, `(old, obj)` updated or resynced, `(old, undefined)` deleted.
 *
 * @module
 */
import type { Logger } from "../log.ts";
import { backoffDelay, type BackoffPolicy, DEFAULT_BACKOFF } from "../backoff.ts";
import { KubeApiError, type KubeClient, responseError } from "./kube_client.ts";

/** The part of an API object the reflector relies on. */
export interface KubeObject {
  /** API version, e.g. "v1". */
  apiVersion?: string;
  /** Kind, e.g. "Pod". */
  kind?: string;
  /** Object metadata. */
  metadata: {
    name: string;
    namespace?: string;
    uid?: string;
    resourceVersion?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    [key: string]: unknown;
  };
  [key: string]: unknown;
}

/** Receives changes: `(undefined, obj)` added, `(old, obj)` updated or resynced, `(old, undefined)` deleted. */
export type ReflectorHandler<T> = (old: T | undefined, current: T | undefined) => void;

/** Options for {@linkcode createReflector}. */
export interface ReflectorOptions<T> {
  /** Collection path, e.g. `/api/v1/pods` or `/apis/discovery.k8s.io/v1/namespaces/ns/endpointslices`. */
  path: string;
  /** Label selector sent with list and watch. */
  labelSelector?: string;
  /** Field selector sent with list and watch. */
  fieldSelector?: string;
  /** Called for every change; exceptions are caught and logged. */
  onChange?: ReflectorHandler<T>;
  /**
   * Turns each received object into what is cached and handed to `onChange`, for example only the fields the caller
   * reads, so that large unread fields are dropped as each list page or event arrives instead of staying in memory.
   * `undefined` leaves the object out, as if it did not exist. @default {the object as received}
   */
  transform?: (obj: KubeObject) => T | undefined;
  /** Logger for relists, restarts and handler failures. @default {no logging} */
  log?: Logger;
  /** Interval of the cache resync (every object re-delivered as `(obj, obj)`); 0 disables. @default {600000} */
  resyncMs?: number;
  /** Abort a watch after this long without a byte. @default {90000} */
  idleTimeoutMs?: number;
  /** Page size of lists. @default {500} */
  pageSize?: number;
  /** Retry policy. @default {{ initialMs: 800, maxMs: 30000 }} */
  backoff?: BackoffPolicy;
  /** Random source in [0, 1), for jitter and the watch timeout. @default {Math.random} */
  random?: () => number;
}

/** Counters of a reflector. */
export interface ReflectorStats {
  /** Completed lists, the first one included. */
  lists: number;
  /** Watches started. */
  watches: number;
  /** Failed requests (network, HTTP errors, watchdog). */
  errors: number;
}

/** A running list+watch cache. */
export interface Reflector<T> {
  /** Resolves after the first successful list; rejects if the reflector is stopped before that. */
  readonly synced: Promise<void>;
  /** Returns the cached object with key `namespace/name` (or `name` for cluster-scoped objects). */
  get(key: string): T | undefined;
  /** Returns every cached object. */
  list(): T[];
  /** Tells whether the last request succeeded (false after errors such as 401/403 until one succeeds). */
  healthy(): boolean;
  /** `performance.now()` of the last list or watch event, or undefined. */
  lastEventAt(): number | undefined;
  /** The counters. */
  stats(): ReflectorStats;
  /** Stops watching, clears timers and waits for the loop to end. Idempotent. */
  stop(): Promise<void>;
}

/**
 * Returns the cache key of an object: `namespace/name`, or `name` without a namespace.
 *
 * @example Usage
 * ```ts
 * import { objectKey } from "./reflector.ts";
 * objectKey({ metadata: { name: "gw", namespace: "default" } }); // "default/gw"
 * ```
 *
 * @param obj The object.
 * @returns The key.
 */
export function objectKey(obj: KubeObject): string {
  return obj.metadata.namespace ? `${obj.metadata.namespace}/${obj.metadata.name}` : obj.metadata.name;
}

/** Consecutive 401/403 answers retried on the normal back-off before the reflector waits the maximum. */
const FRESH_DENIALS = 3;

class WatchTimeoutError extends Error {
  constructor(what: string) {
    super(`Cannot keep the watch: ${what}`);
  }
}

class GoneError extends Error {
  constructor() {
    super("Cannot continue the watch: the resource version is too old");
  }
}

interface WatchEvent<T> {
  type: "ADDED" | "MODIFIED" | "DELETED" | "BOOKMARK" | "ERROR";
  object: T & { code?: number; reason?: string; message?: string };
}

/**
 * Starts a reflector on a collection. It runs until {@linkcode Reflector.stop}.
 *
 * @example Usage
 * ```ts ignore
 * import { createKubeClient, createReflector, loadKubeCredentials } from "./mod.ts";
 * const client = createKubeClient(await loadKubeCredentials());
 * const pods = createReflector(client, { path: "/api/v1/namespaces/default/pods", onChange: (o, n) => {} });
 * await pods.synced;
 * console.log(pods.list().length);
 * await pods.stop();
 * client.close();
 * ```
 *
 * @param client The API client.
 * @param options What to watch and how.
 * @returns The running reflector.
 */
export function createReflector<T extends KubeObject>(client: KubeClient, options: ReflectorOptions<T>): Reflector<T> {
  if (!options.path.startsWith("/")) {
    throw new TypeError(`Cannot create a reflector for path "${options.path}": the path must start with "/"`);
  }
  return new RunningReflector(client, options);
}

type ListPage = { metadata: { resourceVersion: string; continue?: string }; items: KubeObject[] };

/** The state and loop of one reflector: list, then watch from the list's resource version, again and again. */
class RunningReflector<T extends KubeObject> implements Reflector<T> {
  readonly synced: Promise<void>;
  #client: KubeClient;
  #options: ReflectorOptions<T>;
  #random: () => number;
  #policy: BackoffPolicy;
  #transform: (obj: KubeObject) => T | undefined;
  #store = new Map<string, T>();
  #stats: ReflectorStats = { lists: 0, watches: 0, errors: 0 };
  #stopped = false;
  #ok = true;
  #lastEvent: number | undefined;
  #resourceVersion = "";
  #stopController = new AbortController();
  #resolveSynced!: () => void;
  #rejectSynced!: (err: Error) => void;
  #isSynced = false;
  #needList = true;
  #failures = 0;
  #healthySince = performance.now();
  #sleepTimer: ReturnType<typeof setTimeout> | undefined;
  #resyncTimer: ReturnType<typeof setInterval> | undefined;
  #loop: Promise<unknown>;

  constructor(client: KubeClient, options: ReflectorOptions<T>) {
    this.#client = client;
    this.#options = options;
    this.#random = options.random ?? Math.random;
    this.#policy = options.backoff ?? DEFAULT_BACKOFF;
    this.#transform = options.transform ?? ((obj: KubeObject) => obj as T);
    this.synced = new Promise<void>((resolve, reject) => {
      this.#resolveSynced = resolve;
      this.#rejectSynced = reject;
    });
    this.synced.catch(() => {});
    const resyncMs = options.resyncMs ?? 600_000;
    if (resyncMs > 0) {
      this.#resyncTimer = setInterval(() => {
        for (const item of this.#store.values()) this.#emit(item, item);
      }, resyncMs);
    }
    this.#loop = this.#run().catch((err) => options.log?.error("Reflector loop crashed", { path: options.path, err }));
  }

  get(key: string): T | undefined {
    return this.#store.get(key);
  }

  list(): T[] {
    return [...this.#store.values()];
  }

  healthy(): boolean {
    return this.#ok;
  }

  lastEventAt(): number | undefined {
    return this.#lastEvent;
  }

  stats(): ReflectorStats {
    return { ...this.#stats };
  }

  async stop(): Promise<void> {
    if (!this.#stopped) {
      this.#stopped = true;
      clearInterval(this.#resyncTimer);
      clearTimeout(this.#sleepTimer);
      this.#stopController.abort(new Error("reflector stopped"));
      if (!this.#isSynced) this.#rejectSynced(new Error("Cannot sync the reflector: it was stopped"));
    }
    await this.#loop;
  }

  get #selectors() {
    return { labelSelector: this.#options.labelSelector, fieldSelector: this.#options.fieldSelector };
  }

  #emit(old: T | undefined, current: T | undefined): void {
    if (this.#stopped || !this.#options.onChange) return;
    try {
      this.#options.onChange(old, current);
    } catch (err) {
      this.#options.log?.error("Reflector handler failed", { path: this.#options.path, err });
    }
  }

  /** Lists every page, then replaces the store and reports the differences. */
  async #list(): Promise<void> {
    const items: T[] = [];
    let cont: string | undefined;
    let rv = "";
    do {
      const query = { ...this.#selectors, limit: this.#options.pageSize ?? 500, continue: cont };
      const page = await this.#client.request<ListPage>(this.#options.path, {
        query,
        signal: this.#stopController.signal,
      });
      for (const raw of page.items) {
        const item = this.#transform(raw);
        if (item !== undefined) items.push(item);
      }
      cont = page.metadata.continue || undefined;
      rv = page.metadata.resourceVersion;
    } while (cont);
    this.#stats.lists++;
    this.#lastEvent = performance.now();
    this.#resourceVersion = rv;
    this.#replace(items);
    if (!this.#isSynced) {
      this.#isSynced = true;
      this.#resolveSynced();
    }
  }

  #replace(items: T[]): void {
    const old = new Map(this.#store);
    this.#store.clear();
    for (const item of items) this.#store.set(objectKey(item), item);
    for (const [key, item] of this.#store) this.#emit(old.get(key), item);
    for (const [key, item] of old) if (!this.#store.has(key)) this.#emit(item, undefined);
  }

  #apply(event: WatchEvent<KubeObject>): void {
    const obj = event.object;
    if (event.type === "ERROR") {
      if (obj.code === 410) throw new GoneError();
      throw new KubeApiError(`Cannot watch "${this.#options.path}": ${obj.message ?? "error event"}`, {
        code: obj.code ?? 500,
        reason: obj.reason,
      });
    }
    if (obj.metadata?.resourceVersion) this.#resourceVersion = obj.metadata.resourceVersion;
    if (event.type === "BOOKMARK") return;
    const key = objectKey(obj);
    const old = this.#store.get(key);
    const current = event.type === "DELETED" ? undefined : this.#transform(obj);
    if (current !== undefined) {
      this.#store.set(key, current);
      this.#emit(old, current);
    } else if (old !== undefined) {
      this.#store.delete(key);
      this.#emit(old, undefined);
    }
  }

  /** One watch request, until the server ends it, it goes quiet for the idle timeout, or the reflector stops. */
  async #watch(): Promise<void> {
    const timeoutSeconds = 300 + Math.floor(this.#random() * 300);
    const request = new AbortController();
    const signal = AbortSignal.any([this.#stopController.signal, request.signal]);
    let idle: ReturnType<typeof setTimeout> | undefined;
    const arm = () => {
      clearTimeout(idle);
      idle = setTimeout(
        () => request.abort(new Error("no data within the idle timeout")),
        this.#options.idleTimeoutMs ?? 90_000,
      );
    };
    const deadline = setTimeout(
      () => request.abort(new Error("the server timeout passed")),
      (timeoutSeconds + 30) * 1000,
    );
    this.#stats.watches++;
    try {
      arm();
      const query = { ...this.#selectors, watch: 1, allowWatchBookmarks: true, resourceVersion: this.#resourceVersion };
      const response = await this.#client.fetch(this.#options.path, { query: { ...query, timeoutSeconds }, signal });
      if (response.status === 410) {
        await response.body?.cancel();
        throw new GoneError();
      }
      if (!response.ok) throw await responseError(response, `watch "${this.#options.path}"`);
      this.#ok = true;
      await this.#readEvents(response.body!, arm);
    } catch (err) {
      if (request.signal.aborted && !this.#stopped) {
        throw new WatchTimeoutError(String(request.signal.reason?.message));
      }
      throw err;
    } finally {
      clearTimeout(idle);
      clearTimeout(deadline);
    }
  }

  /** Applies each line of a watch stream; `arm` restarts the idle timer on every chunk. */
  async #readEvents(body: ReadableStream<Uint8Array>, arm: () => void): Promise<void> {
    let buffer = "";
    const reader = body.pipeThrough(new TextDecoderStream()).getReader();
    try {
      while (true) {
        const { value, done } = await reader.read();
        if (done) break;
        arm();
        buffer += value;
        let nl: number;
        while ((nl = buffer.indexOf("\n")) >= 0) {
          const line = buffer.slice(0, nl).trim();
          buffer = buffer.slice(nl + 1);
          if (!line) continue;
          this.#lastEvent = performance.now();
          this.#apply(JSON.parse(line) as WatchEvent<KubeObject>);
        }
      }
    } finally {
      await reader.cancel().catch(() => {});
    }
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      if (this.#stopped) return resolve();
      this.#sleepTimer = setTimeout(resolve, ms);
      this.#stopController.signal.addEventListener("abort", () => {
        clearTimeout(this.#sleepTimer);
        resolve();
      }, { once: true });
    });
  }

  #backoff(): number {
    return backoffDelay(this.#failures, { ...this.#policy, random: this.#random() });
  }

  async #run(): Promise<void> {
    while (!this.#stopped) {
      try {
        await this.#listAndWatch();
      } catch (err) {
        if (this.#stopped) break;
        await this.#recover(err);
      }
    }
  }

  /** Lists when needed, then watches once. */
  async #listAndWatch(): Promise<void> {
    if (this.#needList) {
      await this.#list();
      this.#needList = false;
      this.#ok = true;
    }
    const watchStarted = performance.now();
    await this.#watch();
    if (performance.now() - this.#healthySince > 120_000) this.#failures = 0;
    if (performance.now() - watchStarted < 1000 && this.#lastEvent !== undefined && this.#lastEvent < watchStarted) {
      // a watch that ends at once without a single event: do not spin
      this.#failures++;
      await this.#sleep(this.#backoff());
    }
  }

  /** Decides after a failed request whether to relist, and how long to wait before the next one. */
  async #recover(err: unknown): Promise<void> {
    const path = this.#options.path;
    const log = this.#options.log;
    if (err instanceof WatchTimeoutError) {
      // a quiet resource or a silently dropped connection: open a new watch at once
      this.#stats.errors++;
      log?.debug("Reflector watch timed out", { path, err });
      return;
    }
    if (err instanceof GoneError) {
      log?.info("Reflector relisting after 410", { path });
      this.#needList = true;
      return;
    }
    this.#stats.errors++;
    this.#failures++;
    this.#healthySince = performance.now();
    let delay = this.#backoff();
    if (err instanceof KubeApiError) {
      if (err.code === 401 || err.code === 403) {
        this.#ok = false;
        // A fresh 403 is often RBAC that is being granted right now (a Role applied a moment ago): retry it on
        // the normal schedule; one that persists is a missing grant, retried at the slowest pace.
        if (this.#failures > FRESH_DENIALS) delay = this.#policy.maxMs;
      }
      if (err.retryAfterSeconds) delay = Math.max(delay, err.retryAfterSeconds * 1000);
      if (err.reason === "Expired" || /too large/i.test(err.message)) this.#needList = true;
    }
    if (this.#failures >= 3) this.#needList = true;
    log?.warn("Reflector request failed", { path, failures: this.#failures, delayMs: delay, err });
    await this.#sleep(delay);
  }
}

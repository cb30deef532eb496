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
 * import { createKubeClient, createReflector, loadKubeConfig } from "./mod.ts";
 * const client = createKubeClient(loadKubeConfig());
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
  const log = options.log;
  const random = options.random ?? Math.random;
  const policy = options.backoff ?? DEFAULT_BACKOFF;
  const idleMs = options.idleTimeoutMs ?? 90_000;
  const resyncMs = options.resyncMs ?? 600_000;
  const transform = options.transform ?? ((obj: KubeObject) => obj as T);
  const store = new Map<string, T>();
  const stats: ReflectorStats = { lists: 0, watches: 0, errors: 0 };
  let stopped = false;
  let ok = true;
  let lastEvent: number | undefined;
  let resourceVersion = "";
  const stopController = new AbortController();
  let resolveSynced!: () => void;
  let rejectSynced!: (err: Error) => void;
  const synced = new Promise<void>((resolve, reject) => {
    resolveSynced = resolve;
    rejectSynced = reject;
  });
  synced.catch(() => {});
  let isSynced = false;

  function emit(old: T | undefined, current: T | undefined): void {
    if (stopped || !options.onChange) return;
    try {
      options.onChange(old, current);
    } catch (err) {
      log?.error("Reflector handler failed", { path: options.path, err });
    }
  }

  const selectors = { labelSelector: options.labelSelector, fieldSelector: options.fieldSelector };

  async function list(): Promise<void> {
    const items: T[] = [];
    let cont: string | undefined;
    let rv = "";
    do {
      const page = await client.request<
        { metadata: { resourceVersion: string; continue?: string }; items: KubeObject[] }
      >(
        options.path,
        { query: { ...selectors, limit: options.pageSize ?? 500, continue: cont }, signal: stopController.signal },
      );
      for (const raw of page.items) {
        const item = transform(raw);
        if (item !== undefined) items.push(item);
      }
      cont = page.metadata.continue || undefined;
      rv = page.metadata.resourceVersion;
    } while (cont);
    stats.lists++;
    lastEvent = performance.now();
    resourceVersion = rv;
    const old = new Map(store);
    store.clear();
    for (const item of items) store.set(objectKey(item), item);
    for (const [key, item] of store) emit(old.get(key), item);
    for (const [key, item] of old) if (!store.has(key)) emit(item, undefined);
    if (!isSynced) {
      isSynced = true;
      resolveSynced();
    }
  }

  function apply(event: WatchEvent<KubeObject>): void {
    const obj = event.object;
    if (event.type === "ERROR") {
      if (obj.code === 410) throw new GoneError();
      throw new KubeApiError(`Cannot watch "${options.path}": ${obj.message ?? "error event"}`, {
        code: obj.code ?? 500,
        reason: obj.reason,
      });
    }
    if (obj.metadata?.resourceVersion) resourceVersion = obj.metadata.resourceVersion;
    if (event.type === "BOOKMARK") return;
    const key = objectKey(obj);
    const old = store.get(key);
    const current = event.type === "DELETED" ? undefined : transform(obj);
    if (current !== undefined) {
      store.set(key, current);
      emit(old, current);
    } else if (old !== undefined) {
      store.delete(key);
      emit(old, undefined);
    }
  }

  async function watch(): Promise<void> {
    const timeoutSeconds = 300 + Math.floor(random() * 300);
    const request = new AbortController();
    const signal = AbortSignal.any([stopController.signal, request.signal]);
    let idle: ReturnType<typeof setTimeout> | undefined;
    const arm = () => {
      clearTimeout(idle);
      idle = setTimeout(() => request.abort(new Error("no data within the idle timeout")), idleMs);
    };
    const deadline = setTimeout(
      () => request.abort(new Error("the server timeout passed")),
      (timeoutSeconds + 30) * 1000,
    );
    stats.watches++;
    try {
      arm();
      const response = await client.fetch(options.path, {
        query: {
          ...selectors,
          watch: 1,
          allowWatchBookmarks: true,
          resourceVersion,
          timeoutSeconds,
        },
        signal,
      });
      if (response.status === 410) {
        await response.body?.cancel();
        throw new GoneError();
      }
      if (!response.ok) throw await responseError(response, `watch "${options.path}"`);
      ok = true;
      let buffer = "";
      const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
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
            lastEvent = performance.now();
            apply(JSON.parse(line) as WatchEvent<KubeObject>);
          }
        }
      } finally {
        await reader.cancel().catch(() => {});
      }
    } catch (err) {
      if (request.signal.aborted && !stopped) throw new WatchTimeoutError(String(request.signal.reason?.message));
      throw err;
    } finally {
      clearTimeout(idle);
      clearTimeout(deadline);
    }
  }

  let sleepTimer: ReturnType<typeof setTimeout> | undefined;
  function sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      if (stopped) return resolve();
      sleepTimer = setTimeout(resolve, ms);
      stopController.signal.addEventListener("abort", () => {
        clearTimeout(sleepTimer);
        resolve();
      }, { once: true });
    });
  }

  async function run(): Promise<void> {
    let needList = true;
    let failures = 0;
    let healthySince = performance.now();
    while (!stopped) {
      try {
        if (needList) {
          await list();
          needList = false;
          ok = true;
        }
        const watchStarted = performance.now();
        await watch();
        if (performance.now() - healthySince > 120_000) failures = 0;
        if (performance.now() - watchStarted < 1000 && lastEvent !== undefined && lastEvent < watchStarted) {
          // a watch that ends at once without a single event: do not spin
          failures++;
          await sleep(backoffDelay(failures, { ...policy, random: random() }));
        }
      } catch (err) {
        if (stopped) break;
        if (err instanceof WatchTimeoutError) {
          // a quiet resource or a silently dropped connection: open a new watch at once
          stats.errors++;
          log?.debug("Reflector watch timed out", { path: options.path, err });
          continue;
        }
        if (err instanceof GoneError) {
          log?.info("Reflector relisting after 410", { path: options.path });
          needList = true;
          continue;
        }
        stats.errors++;
        failures++;
        healthySince = performance.now();
        let delay = backoffDelay(failures, { ...policy, random: random() });
        if (err instanceof KubeApiError) {
          if (err.code === 401 || err.code === 403) {
            ok = false;
            // A fresh 403 is often RBAC that is being granted right now (a Role applied a moment ago): retry it on
            // the normal schedule; one that persists is a missing grant, retried at the slowest pace.
            if (failures > FRESH_DENIALS) delay = policy.maxMs;
          }
          if (err.retryAfterSeconds) delay = Math.max(delay, err.retryAfterSeconds * 1000);
          if (err.reason === "Expired" || /too large/i.test(err.message)) needList = true;
        }
        if (failures >= 3) needList = true;
        log?.warn("Reflector request failed", { path: options.path, failures, delayMs: delay, err });
        await sleep(delay);
      }
    }
  }

  let resyncTimer: ReturnType<typeof setInterval> | undefined;
  if (resyncMs > 0) {
    resyncTimer = setInterval(() => {
      for (const item of store.values()) emit(item, item);
    }, resyncMs);
  }
  const loop = run().catch((err) => log?.error("Reflector loop crashed", { path: options.path, err }));

  return {
    synced,
    get: (key) => store.get(key),
    list: () => [...store.values()],
    healthy: () => ok,
    lastEventAt: () => lastEvent,
    stats: () => ({ ...stats }),
    async stop() {
      if (!stopped) {
        stopped = true;
        clearInterval(resyncTimer);
        clearTimeout(sleepTimer);
        stopController.abort(new Error("reflector stopped"));
        if (!isSynced) rejectSynced(new Error("Cannot sync the reflector: it was stopped"));
      }
      await loop;
    },
  };
}

/**
 * One watched collection of the operator: a reflector whose objects are made compact as they arrive
 * (`operator/compact_objects.ts`) and, for the kinds the translator reads, parsed with zod once, where they enter,
 * into a typed cache. Changes go to a handler as `(kind, old, new)`.
 *
 * @module
 */
import type { z } from "zod";
import {
  createReflector,
  type KubeClient,
  type KubeObject,
  mergeReflectors,
  objectKey,
  type Reflector,
} from "../internal/kube/mod.ts";
import type { Logger } from "../internal/log.ts";
import { namespacedPath, type WatchScope } from "./watch_scope.ts";

/** A watched collection and what is kept of its objects. */
export interface WatchedKind {
  /** Kind name. */
  kind: string;
  /** Collection path (cluster-wide for namespaced kinds). */
  path: string;
  /** A cluster-scoped kind, watched cluster-wide even when the operator watches only some namespaces. */
  clusterScoped?: boolean;
  /** Label selector. */
  labelSelector?: string;
  /** Field selector. */
  fieldSelector?: string;
  /** Reduces each object to the fields the operator reads before it is cached. */
  compact: (obj: KubeObject) => KubeObject;
  /** Parses the compact objects for the translator; absent for raw-only caches (our children). */
  schema?: z.ZodType;
  /**
   * The reflector keeps, of an object that parses, only its apiVersion, kind and the parsed object's own metadata and
   * status: the spec lives once, in the parsed object (HTTPRoutes, tens of thousands per Gateway). Nothing may then
   * read the spec of the raw object (the status writer's PUT of `/status` does not need it).
   */
  specOnlyParsed?: boolean;
}

/** What a cache keeps of one received object: the object its reflector stores, and the parse of it. */
export interface CachedForm {
  /** What the reflector stores (`KindCache.reflector`, `ClusterWatcher.raw`). */
  stored: KubeObject;
  /** The parse of the compact object, for a kind the translator reads. */
  parsed?: z.ZodSafeParseResult<unknown>;
}

/**
 * Makes a received object what the cache keeps of it: compact ({@linkcode WatchedKind.compact}), parsed for a parsed
 * kind, and for {@linkcode WatchedKind.specOnlyParsed} a stored object sharing the parsed object's metadata and status.
 * Pure.
 *
 * @example Usage
 * ```ts
 * import { cachedForm } from "./kind_cache.ts";
 * import { httpRouteSchema } from "./api_types.ts";
 * import { withoutManagedFields } from "./compact_objects.ts";
 * const kind = { kind: "HTTPRoute", path: "/", compact: withoutManagedFields, schema: httpRouteSchema, specOnlyParsed: true };
 * const { stored, parsed } = cachedForm(kind, { metadata: { name: "r", namespace: "ns" }, spec: {} });
 * // "spec" in stored === false; parsed.success === true
 * ```
 *
 * @param kind The watched kind.
 * @param received The object as the API server sent it.
 * @returns The stored object and the parse.
 */
export function cachedForm(kind: WatchedKind, received: KubeObject): CachedForm {
  const compact = kind.compact(received);
  if (!kind.schema) return { stored: compact };
  const parsed = kind.schema.safeParse(compact);
  if (!kind.specOnlyParsed || !parsed.success) return { stored: compact, parsed };
  const { metadata, status } = parsed.data as { metadata: KubeObject["metadata"]; status?: unknown };
  const stored: KubeObject = {
    ...(compact.apiVersion ? { apiVersion: compact.apiVersion } : {}),
    ...(compact.kind ? { kind: compact.kind } : {}),
    metadata,
    ...(status !== undefined ? { status } : {}),
  };
  return { stored, parsed };
}

/** Receives every change. Objects are the parsed ones for parsed kinds, the compact raw ones for the others. */
export type ChangeHandler = (kind: string, old: unknown, current: unknown) => void;

/** A running watch of one collection. */
export interface KindCache {
  /** What it watches. */
  readonly kind: WatchedKind;
  /** The reflector; its store holds the compact raw objects. */
  readonly reflector: Reflector<KubeObject>;
  /** Parsed objects by key (empty for raw-only kinds). */
  readonly parsed: Map<string, unknown>;
}

/** Options for {@linkcode watchKind}. */
export interface WatchKindOptions {
  /** Logger. */
  log: Logger;
  /** Receives changes (only enqueue keys here). */
  onChange: ChangeHandler;
  /** Counts objects that failed to parse, by kind. */
  parseErrors: Map<string, number>;
  /** Watch namespaced kinds only in these namespaces, one watch each. @default {the whole cluster} */
  namespaces?: WatchScope;
}

/**
 * Starts watching one collection.
 *
 * @param client The API client.
 * @param kind What to watch.
 * @param options Logger, change handler, parse error counters, watched namespaces.
 * @returns The running cache; stop it with `reflector.stop()`.
 */
export function watchKind(client: KubeClient, kind: WatchedKind, options: WatchKindOptions): KindCache {
  const parsed = new Map<string, unknown>();
  const log = options.log;
  const paths = kind.clusterScoped || options.namespaces === undefined
    ? [kind.path]
    : options.namespaces.map((ns) => namespacedPath(kind.path, ns));
  // each stored object's parse, from the reflector's transform to the change handler
  const parses = new WeakMap<KubeObject, z.ZodSafeParseResult<unknown>>();
  const transform = (obj: KubeObject) => {
    const form = cachedForm(kind, obj);
    if (form.parsed) parses.set(form.stored, form.parsed);
    return form.stored;
  };
  const reflector = mergeReflectors(paths.map((path) => watchPath(path)));
  return { kind, reflector, parsed };

  function watchPath(path: string): Reflector<KubeObject> {
    return createReflector<KubeObject>(client, {
      path,
      labelSelector: kind.labelSelector,
      fieldSelector: kind.fieldSelector,
      transform,
      log: log.child({ watch: kind.kind, path }),
      onChange: (oldRaw, newRaw) => {
        const key = objectKey((newRaw ?? oldRaw)!);
        const schema = kind.schema;
        if (!schema) return options.onChange(kind.kind, oldRaw, newRaw);
        const old = parsed.get(key);
        let current: unknown = undefined;
        if (newRaw && newRaw === oldRaw && parsed.has(key)) {
          // A resync re-delivers the same object: keep its parsed copy, and with it every cache keyed on it.
          current = old;
        } else if (newRaw) {
          const result = parses.get(newRaw) ?? schema.safeParse(newRaw);
          parses.delete(newRaw);
          if (result.success) current = keepUnchangedSpec(old, result.data);
          else {
            options.parseErrors.set(kind.kind, (options.parseErrors.get(kind.kind) ?? 0) + 1);
            log.info("Object ignored: it does not parse", { kind: kind.kind, object: key, err: result.error.message });
          }
        }
        if (current === undefined) parsed.delete(key);
        else parsed.set(key, current);
        options.onChange(kind.kind, old, current);
      },
    });
  }
}

type Specced = { metadata?: { uid?: string }; spec?: unknown };

/**
 * Gives a parsed object the spec object of its previous version when the spec did not change: translation memoises
 * by spec object (`translation_memo.ts`), so a write of the status alone (the operator's own, on every route after
 * its start) keeps the work done for the object. Pure but for the fresh `current`, which is not shared yet.
 *
 * @example Usage
 * ```ts
 * import { keepUnchangedSpec } from "./kind_cache.ts";
 * const old = { metadata: { uid: "u" }, spec: { a: 1 } };
 * keepUnchangedSpec(old, { metadata: { uid: "u" }, spec: { a: 1 }, status: {} }).spec === old.spec; // true
 * ```
 *
 * @param old The previous parsed version, if any.
 * @param current The new parsed version.
 * @returns `current`, with the old spec object when its spec is equal.
 */
export function keepUnchangedSpec<T>(old: unknown, current: T): T {
  const [before, after] = [old as Specced | undefined, current as Specced];
  if (before?.spec === undefined || after.spec === undefined || before.spec === after.spec) return current;
  if (before.metadata?.uid !== after.metadata?.uid) return current;
  if (JSON.stringify(before.spec) === JSON.stringify(after.spec)) after.spec = before.spec;
  return current;
}

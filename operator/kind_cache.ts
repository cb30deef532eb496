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
  const reflector = mergeReflectors(paths.map((path) => watchPath(path)));
  return { kind, reflector, parsed };

  function watchPath(path: string): Reflector<KubeObject> {
    return createReflector<KubeObject>(client, {
      path,
      labelSelector: kind.labelSelector,
      fieldSelector: kind.fieldSelector,
      transform: kind.compact,
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
          const result = schema.safeParse(newRaw);
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

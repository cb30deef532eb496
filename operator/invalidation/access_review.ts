/**
 * Who calls the invalidation API and what they may do, asked of the API server: a TokenReview authenticates the
 * bearer token, a SubjectAccessReview asks whether that user may `create` `cacheinvalidations.lacquer.dev` in a
 * namespace, exactly what creating a CacheInvalidation there requires. Answers are remembered for a few seconds (as
 * kube-rbac-proxy does), so a burst of purges costs two API requests, not two per purge; a revoked right thus takes
 * effect within that time.
 *
 * @module
 */
import { contentHash } from "../../internal/content_hash.ts";
import type { KubeClient } from "../../internal/kube/mod.ts";
import { LACQUER_GROUP } from "../../internal/names.ts";
import { CACHE_INVALIDATION_RESOURCE } from "./cache_invalidation.ts";

/** An authenticated caller, as the TokenReview names it. */
export interface Caller {
  username: string;
  uid?: string;
  groups?: string[];
  extra?: Record<string, string[]>;
}

/** Options of {@linkcode AccessReviewer}. */
export interface AccessReviewerOptions {
  /** API client (not fenced: every replica reviews). */
  client: KubeClient;
  /** How long an answer is remembered. @default {10000} */
  cacheMs?: number;
  /** Monotonic clock in milliseconds. @default {performance.now} */
  now?: () => number;
}

const MAX_REMEMBERED = 1_000;

/** Authenticates and authorises invalidation callers. */
export class AccessReviewer {
  #o: AccessReviewerOptions;
  #callers = new Map<string, { atMs: number; caller: Caller | undefined }>();
  #decisions = new Map<string, { atMs: number; allowed: boolean }>();

  /** Creates the reviewer. */
  constructor(options: AccessReviewerOptions) {
    this.#o = options;
  }

  #now(): number {
    return this.#o.now ? this.#o.now() : performance.now();
  }

  #fresh<T extends { atMs: number }>(map: Map<string, T>, key: string): T | undefined {
    const entry = map.get(key);
    const now = this.#now();
    if (entry && now - entry.atMs < (this.#o.cacheMs ?? 10_000)) return entry;
    map.delete(key);
    return undefined;
  }

  #remember<T>(map: Map<string, T>, key: string, value: T): void {
    if (map.size >= MAX_REMEMBERED) map.clear();
    map.set(key, value);
  }

  /**
   * Authenticates a bearer token.
   *
   * @param token The token.
   * @returns The caller, or undefined when the API server does not authenticate the token.
   */
  async authenticate(token: string): Promise<Caller | undefined> {
    // Tokens are remembered by digest only, never as themselves.
    const key = contentHash(token);
    const known = this.#fresh(this.#callers, key);
    if (known) return known.caller;
    const review = await this.#o.client.request<{ status?: { authenticated?: boolean; user?: Caller } }>(
      "/apis/authentication.k8s.io/v1/tokenreviews",
      {
        method: "POST",
        body: { apiVersion: "authentication.k8s.io/v1", kind: "TokenReview", spec: { token } },
      },
    );
    const caller = review.status?.authenticated && review.status.user?.username ? review.status.user : undefined;
    this.#remember(this.#callers, key, { atMs: this.#now(), caller });
    return caller;
  }

  /**
   * Tells whether a caller may invalidate in a namespace (`create cacheinvalidations.lacquer.dev` there).
   *
   * @param caller The authenticated caller.
   * @param namespace The namespace.
   * @returns True when allowed.
   */
  async mayInvalidate(caller: Caller, namespace: string): Promise<boolean> {
    const key = JSON.stringify([caller.username, caller.uid, caller.groups, namespace]);
    const known = this.#fresh(this.#decisions, key);
    if (known) return known.allowed;
    const review = await this.#o.client.request<{ status?: { allowed?: boolean } }>(
      "/apis/authorization.k8s.io/v1/subjectaccessreviews",
      {
        method: "POST",
        body: {
          apiVersion: "authorization.k8s.io/v1",
          kind: "SubjectAccessReview",
          spec: {
            user: caller.username,
            ...(caller.uid ? { uid: caller.uid } : {}),
            ...(caller.groups ? { groups: caller.groups } : {}),
            ...(caller.extra ? { extra: caller.extra } : {}),
            resourceAttributes: {
              namespace,
              verb: "create",
              group: LACQUER_GROUP,
              resource: CACHE_INVALIDATION_RESOURCE,
            },
          },
        },
      },
    );
    const allowed = review.status?.allowed === true;
    this.#remember(this.#decisions, key, { atMs: this.#now(), allowed });
    return allowed;
  }
}

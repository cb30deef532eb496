/**
 * Leader election on a `coordination.k8s.io/v1` Lease (after client-go
 * `tools/leaderelection`): GET, CREATE when absent, PUT with the read resourceVersion to take over an expired
 * lease or renew ours. The resourceVersion is the lock; a 409 means someone else won.
 *
 * Expiry is judged on the local monotonic clock from when we last saw the record change, never by comparing the
 * other holder's timestamps with our clock.
 *
 * @module
 */
import { abortableSleep } from "./abortable_sleep.ts";
import { KubeApiError, type KubeClient, type KubeRequestOptions } from "./kube/mod.ts";
import type { Logger } from "./log.ts";

/** Options for {@linkcode LeaderElector}. */
export interface LeaderElectorOptions {
  /** API client. */
  client: KubeClient;
  /** Namespace of the Lease. */
  namespace: string;
  /** Name of the Lease. */
  name: string;
  /** Our identity (`${POD_NAME}_${uuid}`). */
  identity: string;
  /** Logger. */
  log: Logger;
  /** Lease duration. @default {15000} */
  leaseDurationMs?: number;
  /** The leader gives up when no renew succeeded for this long. @default {10000} */
  renewDeadlineMs?: number;
  /** Time between tries. @default {2000} */
  retryPeriodMs?: number;
  /** Random source in [0, 1) for jitter. @default {Math.random} */
  random?: () => number;
}

/** The fields of a coordination.k8s.io/v1 Lease's spec that leader election reads and writes. */
export interface LeaseSpec {
  holderIdentity?: string;
  leaseDurationSeconds?: number;
  acquireTime?: string;
  renewTime?: string;
  leaseTransitions?: number;
}

interface Lease {
  apiVersion?: string;
  kind?: string;
  metadata: { name: string; namespace?: string; resourceVersion?: string };
  spec?: LeaseSpec;
}

/**
 * Formats a time as a Kubernetes MicroTime (six fraction digits), which the apiserver requires for Lease times.
 *
 * @example Usage
 * ```ts
 * import { microTime } from "./leader_elector.ts";
 * microTime(0); // "1970-01-01T00:00:00.000000Z"
 * ```
 *
 * @param ms Milliseconds since the epoch.
 * @returns The MicroTime string.
 */
export function microTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, ".$1000Z");
}

/** Campaigns for and holds a Lease. */
export class LeaderElector {
  #o: Required<Omit<LeaderElectorOptions, "random">> & { random: () => number };
  #path: string;
  #observed: { record: string; at: number } | undefined;
  #leader = false;
  #lastRenew = 0;
  #abort = new AbortController();

  /** Creates an elector; nothing happens until {@linkcode LeaderElector.run}. */
  constructor(options: LeaderElectorOptions) {
    const leaseDurationMs = options.leaseDurationMs ?? 15_000;
    const renewDeadlineMs = options.renewDeadlineMs ?? 10_000;
    const retryPeriodMs = options.retryPeriodMs ?? 2_000;
    if (!(leaseDurationMs > renewDeadlineMs && renewDeadlineMs > 1.2 * retryPeriodMs)) {
      throw new RangeError(
        `Cannot create a leader elector with lease ${leaseDurationMs} ms, deadline ${renewDeadlineMs} ms and retry ${retryPeriodMs} ms: lease > deadline > 1.2 × retry is required`,
      );
    }
    this.#o = { ...options, leaseDurationMs, renewDeadlineMs, retryPeriodMs, random: options.random ?? Math.random };
    this.#path = `/apis/coordination.k8s.io/v1/namespaces/${options.namespace}/leases/${options.name}`;
  }

  /** Tells whether we currently hold the lease. */
  get isLeader(): boolean {
    return this.#leader;
  }

  /**
   * Tells whether we hold the lease by our own clock right now: elected, and renewed within the renew deadline, which
   * is shorter than the lease, so no other replica can have taken it over yet. A leader that was frozen or cut off
   * for longer no longer holds it, even before its renew loop notices.
   */
  get holdsLease(): boolean {
    return this.#leader && performance.now() - this.#lastRenew <= this.#o.renewDeadlineMs;
  }

  /**
   * The deadline of one request: while leading, what is left until the renew deadline, so a hung request cannot keep
   * a leader past its lease (it gives up instead, and a standby takes over).
   */
  #requestTimeoutMs(): number {
    const { renewDeadlineMs } = this.#o;
    return this.#leader ? Math.max(1, renewDeadlineMs - (performance.now() - this.#lastRenew)) : renewDeadlineMs;
  }

  async #tryAcquireOrRenew(): Promise<boolean> {
    const { client, identity, leaseDurationMs } = this.#o;
    const nowMs = Date.now();
    const mine: LeaseSpec = {
      holderIdentity: identity,
      leaseDurationSeconds: Math.ceil(leaseDurationMs / 1000),
      acquireTime: microTime(nowMs),
      renewTime: microTime(nowMs),
      leaseTransitions: 0,
    };
    let lease: Lease;
    try {
      lease = await client.request<Lease>(this.#path, {
        signal: this.#abort.signal,
        timeoutMs: this.#requestTimeoutMs(),
      });
    } catch (err) {
      if (!(err instanceof KubeApiError) || err.code !== 404) throw err;
      try {
        await client.request(this.#path.slice(0, this.#path.lastIndexOf("/")), {
          method: "POST",
          body: {
            apiVersion: "coordination.k8s.io/v1",
            kind: "Lease",
            metadata: { name: this.#o.name, namespace: this.#o.namespace },
            spec: mine,
          },
          signal: this.#abort.signal,
          timeoutMs: this.#requestTimeoutMs(),
        });
        return true;
      } catch (createErr) {
        if (createErr instanceof KubeApiError && createErr.code === 409) return false;
        throw createErr;
      }
    }
    const spec = lease.spec ?? {};
    const record = JSON.stringify(spec);
    if (this.#observed?.record !== record) this.#observed = { record, at: performance.now() };
    const held = spec.holderIdentity === identity;
    const duration = (spec.leaseDurationSeconds ?? 0) * 1000;
    if (!held && spec.holderIdentity && this.#observed.at + duration > performance.now()) return false;
    const next: LeaseSpec = held
      ? { ...mine, acquireTime: spec.acquireTime, leaseTransitions: spec.leaseTransitions ?? 0 }
      : { ...mine, leaseTransitions: (spec.leaseTransitions ?? 0) + 1 };
    try {
      const updated = await client.request<Lease>(this.#path, {
        method: "PUT",
        body: { ...lease, spec: next },
        signal: this.#abort.signal,
        timeoutMs: this.#requestTimeoutMs(),
      });
      this.#observed = { record: JSON.stringify(updated.spec ?? {}), at: performance.now() };
      return true;
    } catch (err) {
      if (err instanceof KubeApiError && err.code === 409) return false;
      throw err;
    }
  }

  /**
   * Campaigns until elected, then renews until stopped or until renewing fails for longer than the deadline.
   *
   * @param callbacks `onStartedLeading` runs once elected; the returned promise then resolves with "lost" when
   *   the lease could not be renewed in time (the caller must stop writing and exit) or "stopped" after
   *   {@linkcode LeaderElector.stop}.
   * @returns Why the elector ended.
   */
  async run(callbacks: { onStartedLeading: () => void }): Promise<"lost" | "stopped"> {
    const { log, retryPeriodMs, renewDeadlineMs } = this.#o;
    const signal = this.#abort.signal;
    while (!signal.aborted && !this.#leader) {
      try {
        if (await this.#tryAcquireOrRenew()) {
          this.#leader = true;
          this.#lastRenew = performance.now();
          log.info("Leader election won", {
            lease: `${this.#o.namespace}/${this.#o.name}`,
            identity: this.#o.identity,
          });
          callbacks.onStartedLeading();
          break;
        }
      } catch (err) {
        if (!signal.aborted) log.warn("Leader election attempt failed", { err });
      }
      await abortableSleep(retryPeriodMs * (1 + 1.2 * this.#o.random()), signal);
    }
    while (!signal.aborted) {
      await abortableSleep(retryPeriodMs, signal);
      if (signal.aborted) break;
      try {
        if (await this.#tryAcquireOrRenew()) this.#lastRenew = performance.now();
        else {
          log.error("Leader election lost: another holder took the lease");
          this.#leader = false;
          return "lost";
        }
      } catch (err) {
        if (!signal.aborted) log.warn("Lease renewal failed", { err });
      }
      if (performance.now() - this.#lastRenew > renewDeadlineMs) {
        log.error("Leader election lost: no renewal within the deadline", { renewDeadlineMs });
        this.#leader = false;
        return "lost";
      }
    }
    return "stopped";
  }

  /**
   * Stops campaigning; when leading, releases the lease (no holder, duration 1 s) so a standby takes over at
   * its next try.
   */
  async stop(): Promise<void> {
    this.#abort.abort();
    if (!this.#leader) return;
    this.#leader = false;
    try {
      // Bounded, like every request here: the release is a courtesy that must not hold up a shutdown.
      const timeoutMs = this.#o.retryPeriodMs;
      const lease = await this.#o.client.request<Lease>(this.#path, { timeoutMs });
      if (lease.spec?.holderIdentity !== this.#o.identity) return;
      await this.#o.client.request(this.#path, {
        method: "PUT",
        body: {
          ...lease,
          spec: { ...lease.spec, holderIdentity: "", leaseDurationSeconds: 1, renewTime: microTime(Date.now()) },
        },
        timeoutMs,
      });
      this.#o.log.info("Lease released");
    } catch (err) {
      this.#o.log.warn("Lease release failed", { err });
    }
  }
}

/** What a client from {@linkcode fenceWrites} throws instead of writing while the lease is not held. */
export class NotLeaderError extends Error {
  override name = "NotLeaderError";
}

/**
 * Wraps a client so that its writes (every method but GET) go out only while `holds()` says this replica holds the
 * leader lease, and fail with {@linkcode NotLeaderError} otherwise; reads and watches pass through. A leader that
 * lost the lease, or that woke up from a freeze with work in flight, thus writes nothing more.
 *
 * @example Usage
 * ```ts
 * import { fenceWrites, NotLeaderError } from "./leader_elector.ts";
 * import type { KubeClient } from "./kube/mod.ts";
 * const client: KubeClient = {
 *   server: "https://api",
 *   fetch: () => Promise.resolve(new Response("{}")),
 *   request: <T>() => Promise.resolve({} as T),
 *   close() {},
 * };
 * let leader = false; // in the operator: () => elector.holdsLease
 * const writer = fenceWrites(client, () => leader);
 * await writer.request("/api/v1/namespaces"); // reads pass
 * await writer.request("/api/v1/namespaces", { method: "POST", body: {} }).catch((e) => e instanceof NotLeaderError);
 * // true
 * ```
 *
 * @param client The client.
 * @param holds Whether the lease is held, asked before each write.
 * @returns The fenced client.
 */
export function fenceWrites(client: KubeClient, holds: () => boolean): KubeClient {
  const refused = (options?: KubeRequestOptions) => {
    const method = (options?.method ?? "GET").toUpperCase();
    if (method === "GET" || holds()) return undefined;
    return new NotLeaderError(`Cannot send ${method}: this replica does not hold the leader lease`);
  };
  return {
    server: client.server,
    fetch: (path, options) => {
      const err = refused(options);
      return err ? Promise.reject(err) : client.fetch(path, options);
    },
    request: <T>(path: string, options?: KubeRequestOptions) => {
      const err = refused(options);
      return err ? Promise.reject(err) : client.request<T>(path, options);
    },
    close: () => client.close(),
  };
}

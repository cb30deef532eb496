/**
 * The chaperone's sync loop: watchers only record state and poke; one serialized `sync` rebuilds
 * ghost.json from the whole current state, writes it only when its bytes change, reloads ghost, loads a changed
 * main.vcl, starts the varnishd child once it has a VCL, and publishes what is live. Failures retry with back-off
 * while the last good configuration keeps serving. A ghost.json that ghost refuses is replaced on disk by the last
 * one it accepted (what every VCL load and varnishd restart reads) and not offered again; the file is written again
 * before each VCL load and child start, so a file changed behind the chaperone's back never starts an empty router.
 *
 * A change costs what it changes: ghost.json is rebuilt for the routing.json shards it rewrote and the Services
 * whose endpoints it changed (`ghost_json_builder.ts`), and when ghost.json's document-wide fields stay the same it
 * reaches ghost as a delta: only the vhosts that differ from the document ghost serves are written
 * (`ghost.json.delta`) and applied to its state, which ghost knows by the revision the chaperone gave it. What ghost
 * serves is kept as an undo log against the built document (each vhost changed since, with its value there), so
 * that neither the delta nor the served document needs a pass over the whole Gateway. The whole ghost.json, what a
 * VCL load or a varnishd restart reads, is written after the swap, off the change's path: coalesced, a moment later,
 * and always the document ghost serves (a crash before it leaves the previous good one, which a delta's 409 then
 * repairs with a whole reload); before a VCL load or a child start it is written first. A delta ghost cannot apply
 * (it serves another revision since a VCL load read the file) falls back to the whole document, with the same
 * keep-last-good handling. Once the whole file is written, ghost is asked which revision it serves: varnishd's manager
 * restarts a crashed child on its own, and a child started before that write read the previous document; when no
 * change follows, nothing else would notice, so a revision other than the one ghost was given reloads the file.
 *
 * @module
 */
import {
  ContractError,
  type GhostClientCertificate,
  parseRoutingJson,
  type RoutingJson,
} from "../ghost/contract/mod.ts";
import { writeFileAtomic, writeFileAtomicSync } from "../internal/atomic_writer.ts";
import { backoffDelay } from "../internal/backoff.ts";
import { contentHash } from "../internal/content_hash.ts";
import { type DataPlaneRejection, encodeRejections, RejectionKind } from "../internal/data_plane_rejections.ts";
import type { Logger } from "../internal/log.ts";
import type { GatewayConfig } from "./config_map_watcher.ts";
import { ghostDelta, type GhostFrame, GhostJsonBuilder, sameFrame } from "./ghost_json_builder.ts";
import { type EndpointsIndex, type PeerIdentity, referencedNamespaces } from "./merge_endpoints.ts";
import { GhostReloadError, type GhostReloadRequest } from "./ghost_reload_client.ts";
import type { ShardedRoutingReader, ShardReadStats } from "./routing_shards_reader.ts";
import { type ChaperoneMetrics, ghostReportCounts, SYNC_STAGES, type SyncStage } from "./metrics.ts";
import type { AppliedConfig } from "./pod_annotation_writer.ts";
import type { VarnishCliClient } from "./varnish_cli_client.ts";
import { VclRejectedError, VclReloader } from "./vcl_reload_client.ts";

/** A routing.json accepted: its hash and its parsed shards (the whole document as one when stored whole). */
interface Routing {
  hash: string;
  shards: readonly RoutingJson[];
}

/**
 * What ghost serves, against the built document: its frame, the value there of each vhost changed since (undefined:
 * absent there), the revision ghost knows it by (none once a router read it from the file) and the routing.json
 * hash it was built from.
 */
interface Served {
  frame: GhostFrame;
  values: Map<string, string | undefined>;
  revision: string | undefined;
  routing: string | undefined;
}

/** Where the configuration comes from (the ConfigMap watcher in production). */
export interface ConfigSource {
  /** The decoded ConfigMap, or undefined while it does not exist. */
  current(): Promise<GatewayConfig | undefined>;
  /** Reads the shards a sharded routing.json's manifest names (`routing_shards_reader.ts`). */
  shards?: ShardedRoutingReader;
}

/** Where the endpoints come from (the endpoints watcher in production). */
export interface EndpointsSource {
  /** Starts and stops namespace watches. */
  setNamespaces(namespaces: readonly string[]): void;
  /** Whether each of these namespaces is watched and has listed once (every watched one when omitted). */
  isSynced(namespaces?: readonly string[]): boolean;
  /**
   * The current Services and EndpointSlices by Service; an entry is replaced when its Service or slices change
   * (`indexEndpoints` makes one from lists).
   */
  index(): EndpointsIndex;
  /**
   * The Services (`namespace/name`) whose entry changed since the last call (absent: every Service in use is
   * compared with the entry it was built from, by identity).
   */
  takeChanged?(): Iterable<string>;
}

/** Options for {@linkcode SyncLoop}. */
export interface SyncLoopOptions {
  /** The configuration. */
  config: ConfigSource;
  /** The endpoints. */
  endpoints: EndpointsSource;
  /** Where ghost.json is written. */
  ghostJsonPath: string;
  /**
   * Reloads ghost (the whole ghost.json, or its delta file); throws when ghost did not take it
   * ({@linkcode GhostReloadError.refused} if ghost refused it, {@linkcode GhostReloadError.stale} for a delta whose base
   * it does not serve).
   */
  reloadGhost: (request?: GhostReloadRequest) => Promise<unknown>;
  /**
   * The revision ghost serves (null: read from ghost.json by a router it created); throws when ghost does not answer.
   * Absent: what ghost serves is never checked.
   */
  servingRevision?: () => Promise<string | null>;
  /** Publishes the applied hashes and the rejections (the Pod annotations); throws on failure, which is retried. */
  publish?: (applied: AppliedConfig) => Promise<void>;
  /** This pod's identity for the clustered cache (absent, or answering undefined: ghost.json gets no cluster). */
  peer?: () => Promise<PeerIdentity | undefined>;
  /** The Gateway's backend client certificate, presented to TLS backends (absent or undefined: none). */
  backendClientCertificate?: () => GhostClientCertificate | undefined;
  /** The counters to update. */
  metrics: ChaperoneMetrics;
  /** Logger. */
  log: Logger;
  /**
   * Time a change waits for others before its sync. A burst is collected anyway: changes that arrive while a sync
   * runs are taken together by the next one, so waiting on an idle loop only delays the change. @default {0}
   */
  coalesceMs?: number;
  /** Inactive VCLs kept. @default {2} */
  keepVcls?: number;
  /** First retry delay after a failed sync; doubles up to 10 s. @default {100} */
  retryMs?: number;
  /** How long after a delta's swap the whole ghost.json is written (the swaps of a burst write it once). @default {100} */
  persistDelayMs?: number;
}

/** What /readyz reports. */
export interface SyncStatus {
  /** Initial configuration applied: a VCL is active, the child runs, ghost has loaded ghost.json. */
  applied: boolean;
  /** Whether the ConfigMap exists. */
  configMapFound: boolean;
  /** A ConfigMap decoding problem. */
  configMapError?: string;
  /** The hash of the accepted routing.json. */
  routingHash?: string;
  /** Why the newest routing.json was rejected (the previous one keeps serving). */
  routingError?: string;
  /** The hash of the active main.vcl. */
  vclHash?: string;
  /** Why the newest main.vcl did not load (the previous one keeps serving). */
  vclError?: string;
  /** The routing.json hash whose ghost.json ghost has loaded. */
  ghostRoutingHash?: string;
  /** Why ghost refused the newest ghost.json (the previous one keeps serving). */
  ghostError?: string;
  /** ghost's answer to the last reload (routes loaded, routes skipped and why), as ghost reports it. */
  ghostReport?: unknown;
  /** The last failure of a sync (retried with back-off). */
  lastSyncError?: string;
  /** The hashes and rejections published on the Pod. */
  published?: AppliedConfig;
  /** Whether endpoints of every referenced namespace are listed. */
  endpointsSynced: boolean;
}

/**
 * Runs the sync loop. Call {@linkcode SyncLoop.poke} on every change and
 * {@linkcode SyncLoop.onVarnishStarted} from the supervisor after each varnishd start.
 *
 * @example Usage
 * ```ts ignore
 * import { SyncLoop } from "./sync_loop.ts";
 * const sync = new SyncLoop({ config, endpoints, ghostJsonPath, reloadGhost, metrics, log });
 * sync.poke();
 * await sync.idle();
 * sync.stop();
 * ```
 */
export class SyncLoop {
  #o: SyncLoopOptions;
  #cli: VarnishCliClient | undefined;
  #reloader: VclReloader | undefined;
  #childStarted = false;
  #routing: Routing | undefined;
  /** The routing.json ghost.json was last built from. */
  #merged: Routing | undefined;
  #routingError: { hash: string; message: string } | undefined;
  #vclError: { hash: string; message: string; output: string; initFailed: boolean } | undefined;
  #configMapFound = false;
  #configMapError: string | undefined;
  #revisions = 0;
  readonly #revisionPrefix = crypto.randomUUID().slice(0, 8);
  /** The built ghost.json: rebuilds only what a change touches. */
  #ghost = new GhostJsonBuilder();
  /** Whether ghost.json was built once. */
  #built = false;
  /** The routing.json hash the built ghost.json was built from. */
  #builtRouting: string | undefined;
  /** What ghost serves; undefined while it serves nothing the chaperone gave it and accepted. */
  #served: Served | undefined;
  /** Why ghost refused the newest ghost.json, and the routing.json hash it was built from. */
  #refused: { message: string; routing: string | undefined } | undefined;
  /** Whether the built ghost.json is the one ghost refused (not offered again until a change). */
  #builtRefused = false;
  /** Whether ghost.json on disk is behind what ghost serves (a delta swapped, the file not written yet). */
  #fileBehind = false;
  #persistTimer: ReturnType<typeof setTimeout> | undefined;
  /** The next check of the revision ghost serves, while it does not answer. */
  #checkTimer: ReturnType<typeof setTimeout> | undefined;
  /** Writes of the whole ghost.json, in order. */
  #fileWrites: Promise<void> = Promise.resolve();
  /** What TLS termination could not use, published with the rest. */
  #tlsRejections: readonly DataPlaneRejection[] = [];
  #ghostDirty = false;
  #ghostRoutingHash: string | undefined;
  #published: AppliedConfig | undefined;
  #toPublish: AppliedConfig | undefined;
  #publishing: Promise<void> | undefined;
  #publishRetry: { timer: ReturnType<typeof setTimeout>; resolve: () => void } | undefined;
  #lastSyncError: string | undefined;
  #ghostReport: unknown;
  #failures = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;
  /** Whether a sync without delay is queued as a microtask. */
  #queued = false;
  #running: Promise<void> | undefined;
  #dirty = false;
  /** When the first change not yet taken by a sync arrived. */
  #pokedAt: number | undefined;
  /** Time of the running sync's ghost reloads, and of its file writes. */
  #ghostMs = 0;
  #writeMs = 0;
  #stopped = false;
  #idleWaiters: (() => void)[] = [];
  /** The highest routing sequence number a sync finished with, and those waiting for a higher one. */
  #syncedSequence = 0;
  #sequenceWaiters = new Set<{ sequence: number; resolve: (synced: boolean) => void }>();
  #namespaces = "";
  #lock: Promise<void> = Promise.resolve();

  /**
   * Creates the controller; nothing runs until {@linkcode SyncLoop.poke}.
   *
   * @param options Sources, sinks and timings.
   */
  constructor(options: SyncLoopOptions) {
    this.#o = options;
  }

  /** Runs `fn` after every earlier varnish-touching job: syncs and post-start re-applies never interleave. */
  #exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#lock.then(fn);
    this.#lock = run.then(() => {}, () => {});
    return run;
  }

  /** Schedules a sync after the coalescing delay (one sync for a burst of pokes). */
  poke(): void {
    if (this.#stopped) return;
    this.#dirty = true;
    this.#pokedAt ??= performance.now();
    if (this.#timer !== undefined || this.#queued || this.#running) return;
    this.#schedule(this.#o.coalesceMs ?? 0);
  }

  /**
   * Runs the loop after `delay`; without one, as a microtask: a timer, even of 0 ms, waits for the event loop's
   * timer phase, and a change on an idle loop should not wait for anything.
   */
  #schedule(delay: number): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    if (delay <= 0) {
      this.#queued = true;
      queueMicrotask(() => {
        this.#queued = false;
        void this.#runLoop();
      });
      return;
    }
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      void this.#runLoop();
    }, delay);
  }

  async #runLoop(): Promise<void> {
    if (this.#running || this.#stopped) return;
    const run = (async () => {
      while (this.#dirty && !this.#stopped) {
        this.#dirty = false;
        const pokedAt = this.#pokedAt;
        this.#pokedAt = undefined;
        try {
          await this.#exclusive(() => this.#syncOnce(pokedAt));
          this.#failures = 0;
          this.#lastSyncError = undefined;
        } catch (err) {
          this.#failures++;
          this.#lastSyncError = (err as Error).message;
          const delay = backoffDelay(this.#failures, { initialMs: this.#o.retryMs ?? 100, maxMs: 10_000 });
          this.#o.log.warn("Sync failed; last good configuration keeps serving", {
            err,
            failures: this.#failures,
            retryMs: delay,
          });
          this.#dirty = true;
          this.#running = undefined;
          this.#schedule(delay);
          return;
        }
      }
    })();
    this.#running = run;
    await run;
    if (this.#running === run) this.#running = undefined;
    if (this.#dirty && this.#timer === undefined && !this.#queued && !this.#stopped) this.#schedule(0);
    if (!this.#dirty && this.#timer === undefined && !this.#queued) {
      for (const resolve of this.#idleWaiters.splice(0)) resolve();
    }
  }

  /** Resolves when no sync is pending or running (tests, start-up). */
  idle(): Promise<void> {
    if (!this.#dirty && !this.#running && this.#timer === undefined && !this.#queued) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  /**
   * Waits until a sync has finished with the routing generation of this sequence number or a later one (whether
   * ghost and varnishd took it or kept the last good configuration), or until `timeoutMs` passed.
   *
   * @param sequence The generation's sequence number (the operator's, `lacquer.dev/routing-sequence`).
   * @param timeoutMs The longest wait.
   * @returns Whether such a sync finished in time.
   */
  synced(sequence: number, timeoutMs: number): Promise<boolean> {
    if (sequence <= this.#syncedSequence) return Promise.resolve(true);
    if (this.#stopped) return Promise.resolve(false);
    return new Promise((resolve) => {
      const waiter = {
        sequence,
        resolve: (synced: boolean) => {
          clearTimeout(timer);
          this.#sequenceWaiters.delete(waiter);
          resolve(synced);
        },
      };
      const timer = setTimeout(() => waiter.resolve(false), timeoutMs);
      this.#sequenceWaiters.add(waiter);
    });
  }

  /** Records that a sync finished with this sequence number and releases those that waited for it. */
  #syncedWith(sequence: number | undefined): void {
    if (sequence === undefined || sequence <= this.#syncedSequence) return;
    this.#syncedSequence = sequence;
    for (const waiter of this.#sequenceWaiters) if (waiter.sequence <= sequence) waiter.resolve(true);
  }

  /**
   * Re-applies everything to a freshly started varnishd: loads the current VCL, starts the child and reloads
   * ghost. Throws only when varnishd is unreachable; a VCL that does not compile leaves the child stopped and
   * /readyz failing until a good VCL arrives.
   *
   * @param cli The CLI client of the new varnishd.
   */
  async onVarnishStarted(cli: VarnishCliClient): Promise<void> {
    await this.#exclusive(async () => {
      this.#cli = cli;
      this.#reloader ??= new VclReloader(cli, { keep: this.#o.keepVcls ?? 2, log: this.#o.log });
      this.#reloader.reset();
      this.#childStarted = false;
      // the new varnishd's router reads the file, the document ghost served: known by no revision
      if (this.#served) this.#served.revision = undefined;
      this.#ghostDirty = this.#built;
      this.#o.metrics.varnishdStarts++;
      const config = await this.#o.config.current();
      if (config) await this.#applyVarnish(cli, config);
    });
    this.poke();
  }

  /** One sync; `pokedAt` is when the first change it takes arrived (for the stage timings). */
  async #syncOnce(pokedAt: number | undefined): Promise<void> {
    const t0 = performance.now();
    this.#ghostMs = 0;
    this.#writeMs = 0;
    const config = await this.#o.config.current();
    this.#configMapFound = config !== undefined;
    this.#configMapError = config?.error;
    if (config === undefined) return;
    /** The shards this sync read, for its log line. */
    let read: ShardReadStats | undefined;
    if (config.routingJson !== undefined) {
      const text = config.routingJson;
      await this.#acceptRouting(contentHash(text), () => [parseRoutingJson(text)]);
    } else if (config.routingShards !== undefined) {
      const [manifest, reader] = [config.routingShards, this.#o.config.shards];
      if (reader === undefined) throw new Error("routing.json is stored in shards, and this source cannot read them");
      // The manifest names every shard's hash: its own hash stands for the whole generation.
      await this.#acceptRouting(contentHash(manifest), async () => {
        const shards = await reader.read(manifest, config.shards);
        read = reader.lastRead;
        this.#o.metrics.routingShards.push += read.delivered;
        this.#o.metrics.routingShards.watch += read.held;
        this.#o.metrics.routingShards.api += read.fetched;
        return shards;
      });
    }
    const t1 = performance.now();
    let t2 = t1;
    if (this.#routing) {
      // A namespace new to routing.json is listed in the background. Until it is, ghost.json keeps being built
      // from the last routing.json whose namespaces are all listed, so endpoint changes keep flowing and no
      // route loses its backends; only the new routing.json waits for its new namespaces.
      const wanted = referencedNamespaces(this.#routing.shards);
      const previous = this.#merged ? referencedNamespaces(this.#merged.shards) : [];
      const watched = [...new Set([...wanted, ...previous])].sort();
      if (watched.join("\n") !== this.#namespaces) {
        this.#namespaces = watched.join("\n");
        this.#o.endpoints.setNamespaces(watched);
      }
      const routing = this.#o.endpoints.isSynced(wanted)
        ? this.#routing
        : this.#o.endpoints.isSynced(previous)
        ? this.#merged
        : undefined;
      if (!routing) return;
      if (routing !== this.#routing) this.#o.log.debug("New backend namespaces not listed yet", { wanted });
      this.#merged = routing;
      await this.#build(routing);
      t2 = performance.now();
    }
    if (this.#cli) await this.#applyVarnish(this.#cli, config);
    const t4 = performance.now();
    this.#publish();
    this.#syncedWith(config.sequence);
    this.#o.metrics.syncs++;
    this.#o.metrics.syncSeconds += (t4 - t0) / 1000;
    const stages: Record<SyncStage, number> = {
      wait: pokedAt === undefined ? 0 : Math.max(0, t0 - pokedAt),
      read: t1 - t0,
      build: t2 - t1,
      write: this.#writeMs,
      ghost: this.#ghostMs,
      vcl: t4 - t2 - this.#ghostMs - this.#writeMs,
    };
    const fields: Record<string, number> = {};
    for (const stage of SYNC_STAGES) {
      this.#o.metrics.syncStageSeconds[stage] += stages[stage] / 1000;
      fields[`${stage}Ms`] = Math.round(stages[stage] * 10) / 10;
    }
    // From the change event to what ghost serves: the chaperone's share of a change's propagation.
    const report = this.#ghostReport as { durationMs?: unknown } | undefined;
    this.#o.log.debug("Sync finished", {
      ...fields,
      ...(this.#ghostMs > 0 && typeof report?.durationMs === "number" ? { ghostOwnMs: report.durationMs } : {}),
      ...(read
        ? {
          shardsPushed: read.delivered,
          shardsHeld: read.held,
          shardsFetched: read.fetched,
          shardWaitMs: Math.round(read.waitMs * 10) / 10,
          fetchMs: Math.round(read.fetchMs * 10) / 10,
          parseMs: Math.round(read.parseMs * 10) / 10,
        }
        : {}),
      totalMs: Math.round((t4 - (pokedAt ?? t0)) * 10) / 10,
    });
  }

  /**
   * Takes a new routing.json (whole, or a generation of shards) unless it is the accepted or the rejected one. A
   * contract error rejects it (the previous one keeps serving); any other error (shards not all written yet) fails
   * the sync, which is retried.
   */
  async #acceptRouting(
    hash: string,
    parse: () => readonly RoutingJson[] | Promise<readonly RoutingJson[]>,
  ): Promise<void> {
    // Back to the accepted document: the error was about one that is no longer wanted.
    if (hash === this.#routing?.hash) this.#routingError = undefined;
    if (hash === this.#routing?.hash || hash === this.#routingError?.hash) return;
    try {
      this.#routing = { hash, shards: await parse() };
      this.#routingError = undefined;
      this.#o.log.info("routing.json accepted", { hash });
    } catch (err) {
      if (!(err instanceof ContractError)) throw err;
      this.#routingError = { hash, message: err.message };
      this.#o.metrics.routingRejected++;
      this.#o.log.info("routing.json rejected; previous one keeps serving", { hash, err });
    }
  }

  /** Rebuilds ghost.json for a routing.json and the current endpoints; marks ghost to be reloaded when it changed. */
  async #build(routing: Routing): Promise<void> {
    const self = routing.shards[0].cluster ? await this.#o.peer?.() : undefined;
    const frame = this.#ghost.frame;
    const changed = this.#ghost.update({
      shards: routing.shards,
      endpoints: this.#o.endpoints.index(),
      changedServices: this.#o.endpoints.takeChanged?.(),
      clientCertificate: this.#o.backendClientCertificate?.(),
      self,
    });
    if (!this.#built || changed.size > 0 || !sameFrame(frame, this.#ghost.frame)) {
      this.#built = true;
      this.#builtRefused = false;
      // the served document's value of each vhost changed since it was loaded, kept once
      const values = this.#served?.values;
      for (const [host, before] of values ? changed : []) if (!values!.has(host)) values!.set(host, before);
      this.#builtRouting = routing.hash;
      this.#ghostDirty = true;
      this.#o.metrics.ghostWrites++;
      Object.assign(this.#o.metrics, this.#ghost.counts);
    } else if (!this.#builtRefused) {
      this.#builtRouting = routing.hash;
      if (!this.#ghostDirty && this.#ghostRoutingHash !== undefined) {
        // A routing.json that changed only in what ghost.json does not carry (rule names, formatting): ghost
        // already serves its document, so this pod applies it as it stands, with no reload to wait for.
        this.#ghostRoutingHash = routing.hash;
        if (this.#served) this.#served.routing = routing.hash;
      }
    }
  }

  async #applyVarnish(cli: VarnishCliClient, config: GatewayConfig): Promise<void> {
    const reloader = this.#reloader!;
    // The running ghost vets a new ghost.json before a new VCL's router reads it in vcl_init.
    await this.#reloadGhost();
    // A VCL failure that is not a rejection (varnishd unreachable) is rethrown only after ghost has its
    // endpoints: user VCL never holds up routing.
    let vclFailure: unknown;
    // The VCL's ghost instance reads ghost.json when it initialises: load no VCL before the file exists.
    if (config.mainVcl !== undefined && this.#built) {
      const hash = contentHash(config.mainVcl);
      if (hash === reloader.activeHash) this.#vclError = undefined;
      if (hash !== reloader.activeHash && hash !== this.#vclError?.hash) {
        const started = performance.now();
        try {
          await this.#rewriteGhostFile();
          await reloader.apply(config.mainVcl, hash);
          // The new VCL's router read ghost.json and knows no revision: the next change reloads it whole.
          if (this.#served) this.#served.revision = undefined;
          this.#vclError = undefined;
          this.#o.metrics.vclReloads.success++;
        } catch (err) {
          this.#o.metrics.vclReloads.failure++;
          if (err instanceof VclRejectedError) {
            this.#vclError = { hash, message: err.message, output: err.output, initFailed: err.initFailed };
            this.#o.log.warn("VCL rejected; previous one keeps serving", { hash, err: err.output.slice(0, 4000) });
          } else vclFailure = err;
        } finally {
          this.#o.metrics.vclReloads.seconds += (performance.now() - started) / 1000;
        }
      }
    }
    if (reloader.activeHash !== undefined && !this.#childStarted) {
      if ((await cli.status()) !== "running") {
        await this.#rewriteGhostFile();
        await cli.start();
      }
      this.#childStarted = true;
      this.#ghostDirty = this.#built;
      this.#o.log.info("varnishd child running");
    }
    await this.#reloadGhost();
    if (vclFailure !== undefined) throw vclFailure;
  }

  /**
   * Writes ghost.json to disk again, the document ghost serves (a refused one never), before a VCL load or a child
   * start makes a new router read it: the file may be behind (written after a delta's swap) or have changed behind
   * the chaperone's back (a corrupted volume, a stray write), and a router that reads a bad file starts empty and
   * answers 404 to everything.
   */
  async #rewriteGhostFile(): Promise<void> {
    if (!this.#built) return;
    clearTimeout(this.#persistTimer);
    this.#persistTimer = undefined;
    this.#fileBehind = false;
    await this.#writeGhostFile(this.#servedText());
  }

  /**
   * The document ghost serves (the built one while it serves nothing the chaperone knows), in pieces: taken now, joined
   * as they are written.
   */
  #servedText(): Iterable<string> {
    return this.#served ? this.#ghost.textPieces(this.#served.values, this.#served.frame) : this.#ghost.textPieces();
  }

  /**
   * Writes the whole ghost.json after the earlier writes, piece by piece: at 50,000 routes it is ~16 MB, whose join and
   * encoding at once held the event loop (and the next change) for tens to hundreds of ms. No flush: the file is
   * written again at every start.
   */
  #writeGhostFile(pieces: Iterable<string>): Promise<void> {
    const write = this.#fileWrites.then(async () => {
      await writeFileAtomic(this.#o.ghostJsonPath, pieces, { skipUnchanged: false, durable: false });
    });
    this.#fileWrites = write.catch(() => {});
    return write;
  }

  /** Writes on the change's path, timed as the sync's write stage. */
  async #timedWrite(write: () => Promise<void>): Promise<void> {
    const started = performance.now();
    try {
      await write();
    } finally {
      this.#writeMs += performance.now() - started;
    }
  }

  /** Writes the whole ghost.json a moment after a delta's swap, once for the swaps of a burst. */
  #schedulePersist(): void {
    this.#fileBehind = true;
    if (this.#persistTimer !== undefined || this.#stopped) return;
    this.#persistTimer = setTimeout(() => {
      this.#persistTimer = undefined;
      // between syncs, so that the document is the one ghost serves; the write itself does not hold them up
      void this.#exclusive(() => {
        if (!this.#fileBehind) return Promise.resolve();
        const started = performance.now();
        const pieces = this.#servedText();
        this.#fileBehind = false;
        this.#writeGhostFile(pieces).then(
          () => {
            this.#o.log.debug("ghost.json written", { ms: Math.round((performance.now() - started) * 10) / 10 });
            void this.#checkServing();
          },
          (err) => {
            this.#fileBehind = true;
            this.#o.log.warn("Cannot write ghost.json; the next change or VCL load writes it", { err });
          },
        );
        return Promise.resolve();
      });
    }, this.#o.persistDelayMs ?? 100);
  }

  /**
   * Asks ghost, once the whole ghost.json is on disk, whether it serves the revision it was given; if not, a child
   * that varnishd's manager restarted read the file while it was behind: ghost is reloaded from the whole document.
   * Asked again with back-off while ghost does not answer (a child restarting), until the revision changes.
   */
  async #checkServing(failures = 0): Promise<void> {
    clearTimeout(this.#checkTimer);
    this.#checkTimer = undefined;
    const ask = this.#o.servingRevision;
    const given = this.#served?.revision;
    if (ask === undefined || given === undefined || this.#fileBehind || this.#stopped) return;
    let serving: string | null;
    try {
      serving = await ask();
    } catch (err) {
      const delay = backoffDelay(failures + 1, { initialMs: this.#o.retryMs ?? 100, maxMs: 10_000 });
      this.#o.log.debug("ghost did not say which revision it serves; asking again", { err, retryMs: delay });
      if (!this.#stopped) this.#checkTimer = setTimeout(() => void this.#checkServing(failures + 1), delay);
      return;
    }
    if (serving === given) return;
    const reload = await this.#exclusive(() => {
      // a sync since has reloaded ghost, or sent a delta that ghost's 409 turned into a whole reload
      if (this.#served?.revision !== given) return Promise.resolve(false);
      this.#o.log.warn("ghost serves another revision than it was given (varnishd restarted its child); reloading", {
        given,
        serving,
      });
      this.#served.revision = undefined;
      this.#ghostDirty = true;
      return Promise.resolve(true);
    });
    if (reload) this.poke();
  }

  #nextRevision(): string {
    return `${this.#revisionPrefix}-${++this.#revisions}`;
  }

  /** ghost now serves the built document, known by `revision`. */
  #servesBuilt(revision: string): void {
    this.#served = { frame: this.#ghost.frame, values: new Map(), revision, routing: this.#builtRouting };
  }

  /**
   * Hands ghost the vhosts that differ from the document it serves. False when it cannot (document-wide fields
   * changed, or ghost serves another revision): the whole document is then reloaded.
   */
  async #reloadDelta(): Promise<boolean> {
    const served = this.#served;
    if (served?.revision === undefined || !sameFrame(served.frame, this.#ghost.frame)) return false;
    const changes = new Map<string, string | undefined>();
    for (const [host, before] of served.values) {
      const now = this.#ghost.value(host);
      if (now !== before) changes.set(host, now);
    }
    if (changes.size === 0) {
      // changed and changed back: ghost serves the built document already
      this.#servesBuilt(served.revision);
      return true;
    }
    const revision = this.#nextRevision();
    // small, and on the change's path: written at once rather than through the runtime's thread pool
    await this.#timedWrite(() =>
      Promise.resolve(writeFileAtomicSync(`${this.#o.ghostJsonPath}.delta`, ghostDelta(changes)))
    );
    try {
      await this.#timedGhostReload({ revision, deltaBase: served.revision });
      // A ghost without deltas reloads the file (still the served document) and names no revision.
      const answered = (this.#ghostReport as { revision?: unknown } | undefined)?.revision;
      if (answered !== revision) throw new Error(`ghost answered revision ${answered}, not ${revision}`);
    } catch (err) {
      this.#o.log.debug("ghost did not apply the delta; reloading the whole ghost.json", { err });
      served.revision = undefined;
      return false;
    }
    this.#servesBuilt(revision);
    this.#schedulePersist();
    return true;
  }

  /** Reloads a changed ghost.json into the running child; a refused one is replaced by the one ghost serves. */
  async #reloadGhost(): Promise<void> {
    if (!this.#childStarted || !this.#ghostDirty) return;
    if (this.#builtRefused && this.#served) {
      // a new varnishd: the document ghost served, not the refused one again
      await this.#reloadServed(this.#served);
      this.#ghostDirty = false;
      return;
    }
    try {
      if (!(await this.#reloadDelta())) {
        const revision = this.#nextRevision();
        await this.#timedWrite(() => this.#writeGhostFile(this.#ghost.textPieces()));
        this.#fileBehind = false;
        await this.#timedGhostReload({ revision });
        this.#servesBuilt(revision);
      }
      this.#refused = undefined;
    } catch (err) {
      if (!(err instanceof GhostReloadError && err.refused)) throw err;
      this.#refused = { message: err.message, routing: this.#builtRouting };
      this.#builtRefused = true;
      this.#o.log.warn("ghost.json refused by ghost; the last good one keeps serving", { err });
      const served = this.#served;
      if (served === undefined) {
        // Nothing good yet: ghost serves an empty router and /readyz stays failing.
        this.#ghostDirty = false;
        return;
      }
      // ghost kept its state, but a router created since (VCL load, varnishd restart) read the refused file.
      await this.#reloadServed(served);
    }
    this.#ghostDirty = false;
    this.#ghostRoutingHash = this.#served?.routing;
  }

  /** Writes the document ghost serves and reloads it whole, under a new revision. */
  async #reloadServed(served: Served): Promise<void> {
    await this.#timedWrite(() => this.#writeGhostFile(this.#servedText()));
    this.#fileBehind = false;
    served.revision = undefined;
    const revision = this.#nextRevision();
    await this.#timedGhostReload({ revision });
    served.revision = revision;
  }

  async #timedGhostReload(request?: GhostReloadRequest): Promise<void> {
    const started = performance.now();
    try {
      this.#ghostReport = await this.#o.reloadGhost(request);
      this.#o.metrics.ghostReloads.success++;
      Object.assign(this.#o.metrics, ghostReportCounts(this.#ghostReport));
    } catch (err) {
      this.#o.metrics.ghostReloads.failure++;
      throw err;
    } finally {
      this.#ghostMs += performance.now() - started;
      this.#o.metrics.ghostReloads.seconds += (performance.now() - started) / 1000;
    }
  }

  /**
   * Sets what TLS termination could not use (bundles left out), to be published with the applied configuration.
   *
   * @param rejections The current TLS rejections (none once every bundle is usable).
   */
  setTlsRejections(rejections: readonly DataPlaneRejection[]): void {
    this.#tlsRejections = rejections;
    this.#publish();
  }

  /** What this pod could not apply of the current configuration, newest concerns first. */
  rejections(): DataPlaneRejection[] {
    const out: DataPlaneRejection[] = [];
    if (this.#vclError) {
      const { hash, output, initFailed } = this.#vclError;
      out.push({ kind: initFailed ? RejectionKind.VclInitFailed : RejectionKind.VclRejected, hash, message: output });
    }
    if (this.#routingError) {
      const { hash, message } = this.#routingError;
      out.push({ kind: RejectionKind.RoutingRejected, hash, message });
    }
    if (this.#refused?.routing) {
      const { routing, message } = this.#refused;
      out.push({ kind: RejectionKind.GhostRefused, hash: routing, message });
    }
    // Rules ghost serves without their cache settings (it could not build them) are told the same way.
    type Part = { route?: string; path?: string; reason?: string };
    const report = this.#ghostReport as { skipped?: Part[]; uncached?: Part[] } | undefined;
    const skipped = Array.isArray(report?.skipped) ? report.skipped : [];
    const uncached = Array.isArray(report?.uncached) ? report.uncached : [];
    if (this.#ghostRoutingHash && skipped.length + uncached.length > 0) {
      const lines = [...skipped, ...uncached].map((s) => `${s.route ?? s.path}: ${s.reason}`);
      const served = uncached.length > 0 ? `, ${uncached.length} served without caching` : "";
      out.push({
        kind: RejectionKind.RoutesSkipped,
        hash: this.#ghostRoutingHash,
        message: `${skipped.length} route(s) skipped${served}\n${lines.join("\n")}`,
      });
    }
    return [...out, ...this.#tlsRejections];
  }

  /**
   * Hands what is live, and what was rejected, to the publisher. Publishing (a Pod PATCH) runs outside the sync: a
   * slow or failing API server delays the annotations, never the next routing or endpoint change.
   */
  #publish(): void {
    if (!this.#o.publish) return;
    const rejected = encodeRejections(this.rejections());
    const applied: AppliedConfig = {
      routing: this.#ghostRoutingHash,
      vcl: this.#reloader?.activeHash,
      ...(rejected === undefined ? {} : { rejected }),
    };
    if (applied.routing === undefined && applied.vcl === undefined && applied.rejected === undefined) return;
    this.#toPublish = applied;
    this.#publishing ??= this.#publishLoop();
  }

  /** Publishes the latest applied configuration until it is published, retrying failures with back-off. */
  async #publishLoop(): Promise<void> {
    try {
      await this.#publishLatest();
    } finally {
      // in the same step as the loop's last check, so a later #publish() starts a new loop
      this.#publishing = undefined;
    }
  }

  async #publishLatest(): Promise<void> {
    for (let failures = 0; !this.#stopped;) {
      const applied = this.#toPublish!;
      const done = this.#published;
      if (done?.routing === applied.routing && done?.vcl === applied.vcl && done?.rejected === applied.rejected) {
        return;
      }
      try {
        await this.#o.publish!(applied);
        this.#published = applied;
        failures = 0;
        this.#o.log.info("Applied configuration published", { ...applied });
      } catch (err) {
        failures++;
        const delay = backoffDelay(failures, { initialMs: this.#o.retryMs ?? 100, maxMs: 10_000 });
        this.#o.log.warn("Publishing the applied configuration failed", { err, failures, retryMs: delay });
        await new Promise<void>((resolve) => {
          this.#publishRetry = { timer: setTimeout(resolve, delay), resolve };
        });
        this.#publishRetry = undefined;
      }
    }
  }

  /** The state /readyz reports. */
  status(): SyncStatus {
    return {
      applied: this.#childStarted && this.#reloader?.activeHash !== undefined &&
        this.#ghostRoutingHash !== undefined && !this.#ghostDirty,
      configMapFound: this.#configMapFound,
      configMapError: this.#configMapError,
      routingHash: this.#routing?.hash,
      routingError: this.#routingError?.message,
      vclHash: this.#reloader?.activeHash,
      vclError: this.#vclError?.message,
      ghostRoutingHash: this.#ghostRoutingHash,
      ghostError: this.#refused?.message,
      ghostReport: this.#ghostReport,
      lastSyncError: this.#lastSyncError,
      published: this.#published,
      endpointsSynced: this.#o.endpoints.isSynced(),
    };
  }

  /** Stops scheduling syncs and waits for a running one. */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    clearTimeout(this.#persistTimer);
    this.#persistTimer = undefined;
    clearTimeout(this.#checkTimer);
    this.#checkTimer = undefined;
    clearTimeout(this.#publishRetry?.timer);
    this.#publishRetry?.resolve();
    for (const waiter of this.#sequenceWaiters) waiter.resolve(false);
    await this.#running?.catch(() => {});
    await this.#publishing;
    await this.#fileWrites;
    for (const resolve of this.#idleWaiters.splice(0)) resolve();
  }
}

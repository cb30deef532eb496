/**
 * The routing generation the operator pushed to this pod (`POST /routing`, `internal/routing_push.ts`), held beside
 * the one the ConfigMap watch sees: the sync takes whichever is newer by sequence number. A push comes before its
 * ConfigMap write and watch event, so for a moment it is ahead of the watch; once the watch shows the same
 * generation or a later one, the push is dropped and the watch is followed again. A push the watch never catches up
 * with (the operator failed to write it and stopped before writing a newer one) is trusted for
 * {@linkcode PUSH_TRUST_MS} at most: the ConfigMaps are the record, a push only a shortcut to them.
 *
 * @module
 */
import { readRoutingConfigMapData } from "../internal/routing_config_map.ts";
import type { RoutingPush } from "../internal/routing_push.ts";
import type { GatewayConfig } from "./config_map_watcher.ts";
import type { HeldShard } from "./routing_shards_reader.ts";
import { heldShard } from "./routing_shards_watcher.ts";

/**
 * How long a push is preferred to a watched generation that has not caught up with it: far longer than the write
 * of a pushed generation (a few shards) takes, even on an API server under load, so that the pod does not go back to
 * the generation before while it is written.
 */
export const PUSH_TRUST_MS = 30_000;

/**
 * How long the answer to a push waits for the sync to apply it. The operator writes the generation's ConfigMaps once
 * the pods have answered (or after a shorter wait of its own), so that the API server's writes and watch events do
 * not compete with the pods' reload for the CPU; under the operator's request deadline, so a slow apply is not taken
 * for an unreachable pod.
 */
export const PUSH_APPLY_WAIT_MS = 1_000;

/** What {@linkcode PushedRouting.take} did with a push. */
export type PushResult = "taken" | "stale";

/** The pushed generation, and the choice between it and the watched one. */
export class PushedRouting {
  #pushed: { config: GatewayConfig & { sequence: number }; at: number } | undefined;
  #now: () => number;
  #trustMs: number;
  #onChange: () => void;
  #timer: ReturnType<typeof setTimeout> | undefined;

  /**
   * Creates the holder.
   *
   * @param onChange Called when a push is taken and when its trust runs out (the sync then looks again).
   * @param options The clock (ms, default `performance.now`) and the trust (default {@linkcode PUSH_TRUST_MS}).
   */
  constructor(onChange: () => void, options: { now?: () => number; trustMs?: number } = {}) {
    this.#onChange = onChange;
    this.#now = options.now ?? (() => performance.now());
    this.#trustMs = options.trustMs ?? PUSH_TRUST_MS;
  }

  /**
   * Takes a push unless it is not newer than the push held or the generation watched.
   *
   * @param push The checked push body.
   * @param watched The generation the watch shows now.
   * @returns Whether it was taken.
   */
  take(push: RoutingPush, watched: GatewayConfig | undefined): PushResult {
    this.#expire();
    const newest = Math.max(this.#pushed?.config.sequence ?? 0, watched?.sequence ?? 0);
    if (push.sequence <= newest) return "stale";
    const shards = new Map<string, HeldShard>();
    for (const [name, content] of Object.entries(push.shards)) {
      const shard = heldShard({ metadata: { name }, ...content });
      if (shard !== undefined) shards.set(name, shard);
    }
    const config = {
      resourceVersion: `push:${push.sequence}`,
      ...readRoutingConfigMapData(push.configMap),
      sequence: push.sequence,
      shards,
    };
    this.#pushed = { config, at: this.#now() };
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => this.#onChange(), this.#trustMs + 1);
    this.#onChange();
    return "taken";
  }

  /**
   * The generation to serve: the push while it is newer than the watched one and trusted, else the watched one.
   *
   * @param watched The generation the watch shows now.
   * @returns The one to serve.
   */
  choose(watched: GatewayConfig | undefined): GatewayConfig | undefined {
    this.#expire();
    const pushed = this.#pushed?.config;
    if (pushed === undefined) return watched;
    if (watched?.sequence !== undefined && watched.sequence >= pushed.sequence) {
      this.#drop();
      return watched;
    }
    return pushed;
  }

  /** Stops the trust timer. */
  stop(): void {
    this.#drop();
  }

  #expire(): void {
    if (this.#pushed !== undefined && this.#now() - this.#pushed.at > this.#trustMs) this.#drop();
  }

  #drop(): void {
    this.#pushed = undefined;
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}

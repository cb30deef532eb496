/**
 * varnishd's and hitch's environment for the socket keeper (`ghost/keeper`): a process of the gateway pod, outside the
 * gateway container, that holds the listening sockets for the pod's lifetime. The keeper's shim, preloaded into
 * varnishd and hitch, makes each one's `bind()` of a listener port take the kept socket, so connections wait in its
 * queue while the process restarts instead of being refused. Pure.
 *
 * @module
 */

/** Where the gateway image installs the shim (`images/recipes.ts`); never configurable: it is preloaded code. */
export const KEEPER_PRELOAD_PATH = "/usr/local/lib/lacquer/libkeeper_preload.so";

/** Inputs of {@linkcode keeperEnv}. */
export interface KeeperEnvOptions {
  /** The keeper's Unix socket; none: no keeper. */
  socket?: string;
  /** The shim library. */
  preload: string;
  /** The ports whose sockets the keeper holds: the listeners', and the loopback ones hitch forwards to. */
  ports: readonly number[];
}

/**
 * The environment varnishd (or hitch) runs with: the shim preloaded and told where the keeper is and which ports it
 * keeps; empty without a keeper socket or ports (the process then binds as usual).
 *
 * @example Usage
 * ```ts
 * import { deepEqual } from "node:assert/strict";
 * import { KEEPER_PRELOAD_PATH, keeperEnv } from "./socket_keeper.ts";
 * deepEqual(keeperEnv({ socket: "/var/run/lacquer-keeper/keeper.sock", preload: KEEPER_PRELOAD_PATH, ports: [80, 8443] }), {
 *   LD_PRELOAD: KEEPER_PRELOAD_PATH,
 *   LACQUER_KEEPER_SOCKET: "/var/run/lacquer-keeper/keeper.sock",
 *   LACQUER_KEEPER_PORTS: "80,8443",
 * });
 * ```
 *
 * @param options The keeper's socket, the shim and the ports.
 * @returns Environment variables to add to the process's.
 */
export function keeperEnv(options: KeeperEnvOptions): Record<string, string> {
  const ports = [...new Set(options.ports)].sort((a, b) => a - b);
  if (!options.socket || ports.length === 0) return {};
  return {
    LD_PRELOAD: options.preload,
    LACQUER_KEEPER_SOCKET: options.socket,
    LACQUER_KEEPER_PORTS: ports.join(","),
  };
}

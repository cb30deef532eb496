/**
 * Runs `lacquer operator` from this checkout as a child process, logging to a file. Used by the demo, the
 * conformance run and the end-to-end tests.
 *
 * @module
 */
import { type LoggedProcess, spawnLogged } from "../cluster/spawn_logged.ts";
import { operatorV8Flags } from "./shipped_v8_flags.ts";

const MOD_TS = new URL("../../mod.ts", import.meta.url).pathname;

/** Options for {@linkcode startOperatorProcess}. */
export interface OperatorProcessOptions {
  /** The cluster's admin kubeconfig. */
  kubeconfig: string;
  /** Where the operator's JSON log lines go (appended). */
  logFile: string;
  /** Run inside this named network namespace (`ip netns`). @default {the current one} */
  netns?: string;
  /** Log level. @default {"info"} */
  logLevel?: "debug" | "info" | "warn" | "error";
  /** Metrics and health ports on 127.0.0.1 (health is `port + 1`). @default {8080} */
  port?: number;
  /** The invalidation API's port on 127.0.0.1. @default {0: any free port, so operators started side by side never collide} */
  invalidationPort?: number;
  /** Further `lacquer operator` flags. @default {[]} */
  args?: string[];
  /** Extra environment. `DENO_V8_FLAGS` defaults to {@linkcode operatorV8Flags} (the chart's). @default {{}} */
  env?: Record<string, string>;
}

/**
 * Starts the operator, under the V8 flags it ships with unless `options.env` says otherwise. Stop it with `stop()`;
 * it exits 0 on SIGTERM.
 *
 * @param options Kubeconfig, log file and flags.
 * @returns The process.
 */
export function startOperatorProcess(options: OperatorProcessOptions): LoggedProcess {
  const port = options.port ?? 8080;
  const operator = [
    Deno.execPath(),
    "run",
    "--allow-all",
    MOD_TS,
    "--log-level",
    options.logLevel ?? "info",
    "operator",
    "--kubeconfig",
    options.kubeconfig,
    "--metrics-address",
    `127.0.0.1:${port}`,
    "--health-address",
    `127.0.0.1:${port + 1}`,
    "--invalidation-address",
    `127.0.0.1:${options.invalidationPort ?? 0}`,
    ...(options.args ?? []),
  ];
  const [program, ...args] = options.netns
    ? ["nsenter", `--net=/run/netns/${options.netns}`, "--", ...operator]
    : operator;
  return spawnLogged(program, {
    args,
    logFile: options.logFile,
    env: { DENO_V8_FLAGS: operatorV8Flags(), ...options.env },
  });
}

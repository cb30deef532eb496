/**
 * Starts a long-running program with its output appended to a log file, and stops it with SIGTERM, a grace period
 * and SIGKILL.
 *
 * @module
 */

/** A started program. */
export interface LoggedProcess {
  /** Process id. */
  readonly pid: number;
  /** Resolves with the exit status. */
  readonly status: Promise<Deno.CommandStatus>;
  /** Sends SIGTERM, waits up to `graceMs`, then SIGKILL; resolves when the process is gone. */
  stop(graceMs?: number): Promise<Deno.CommandStatus>;
}

/** Options for {@linkcode spawnLogged}. */
export interface SpawnLoggedOptions {
  /** Arguments. */
  args: string[];
  /** Log file (appended). */
  logFile: string;
  /** Extra environment. */
  env?: Record<string, string>;
  /** Working directory. */
  cwd?: string;
}

/**
 * Spawns `program` with stdout and stderr appended to `options.logFile`.
 *
 * @param program Program path.
 * @param options Arguments, log file, environment.
 * @returns The handle.
 */
export function spawnLogged(program: string, options: SpawnLoggedOptions): LoggedProcess {
  // the shell redirects and then execs the program, so the pid is the program's and the output never passes
  // through this process
  const child = new Deno.Command("sh", {
    args: ["-c", 'exec "$0" "$@" >>"$LACQUER_LOG_FILE" 2>&1', program, ...options.args],
    env: { ...options.env, LACQUER_LOG_FILE: options.logFile },
    cwd: options.cwd,
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
  const status = child.status;
  return {
    pid: child.pid,
    status,
    async stop(graceMs = 5000) {
      try {
        child.kill("SIGTERM");
      } catch {
        return await status;
      }
      let timer: ReturnType<typeof setTimeout> | undefined;
      const killed = new Promise<void>((resolve) => {
        timer = setTimeout(() => {
          try {
            child.kill("SIGKILL");
          } catch {
            // already gone
          }
          resolve();
        }, graceMs);
      });
      const s = await Promise.race([status, killed.then(() => status)]);
      clearTimeout(timer);
      return s;
    },
  };
}

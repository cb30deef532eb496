/**
 * The duties of PID 1 towards processes it did not start: orphans re-parented to the chaperone are reaped so that they
 * do not stay zombies, while the chaperone's own children (started with {@linkcode spawnTracked}) are left to Deno.
 *
 * @module
 */
import type { Logger } from "../internal/log.ts";

const ownChildren = new Set<number>();

/**
 * Spawns a command and records its pid as one Deno reaps itself, so that {@linkcode startReaper} leaves it alone.
 * Every child process of the chaperone starts here.
 *
 * @param command The command.
 * @returns The running child.
 */
export function spawnTracked(command: Deno.Command): Deno.ChildProcess {
  const child = command.spawn();
  ownChildren.add(child.pid);
  child.status.finally(() => ownChildren.delete(child.pid));
  return child;
}

/** A running zombie reaper. */
export interface Reaper {
  /** Zombies reaped so far. */
  readonly reaped: number;
  /** Reaps what has exited, stops reaping, gives up the subreaper role if it took it, and releases libc. */
  stop(): void;
}

/** Options of {@linkcode startReaper}. */
export interface ReaperOptions {
  /** Ask the kernel for orphans even when this is not PID 1 (`PR_SET_CHILD_SUBREAPER`; tests). @default {false} */
  subreaper?: boolean;
  /** Logs each reaped pid at debug level. */
  log?: Logger;
}

const P_ALL = 0;
const WEXITED = 4;
const WNOHANG = 1;
const WNOWAIT = 0x01000000;
const PR_SET_CHILD_SUBREAPER = 36;
// siginfo_t on 64-bit Linux: si_signo, si_errno, si_code (3 × int32), padding, then si_pid at offset 16.
const SIGINFO_PID_OFFSET = 16;

type Libc = Deno.DynamicLibrary<{
  waitid: { parameters: ["i32", "i32", "buffer", "i32"]; result: "i32" };
  waitpid: { parameters: ["i32", "buffer", "i32"]; result: "i32" };
  prctl: { parameters: ["i32", "u64", "u64", "u64", "u64"]; result: "i32" };
}>;

function openLibc(): Libc {
  return Deno.dlopen("libc.so.6", {
    waitid: { parameters: ["i32", "i32", "buffer", "i32"], result: "i32" },
    waitpid: { parameters: ["i32", "buffer", "i32"], result: "i32" },
    prctl: { parameters: ["i32", "u64", "u64", "u64", "u64"], result: "i32" },
  });
}

/**
 * Collects exited children that are not our own: `waitid(P_ALL, WNOWAIT)` peeks at an exited child without reaping
 * it, and only a pid that Deno does not own is then collected with `waitpid`.
 *
 * @returns How many were reaped.
 */
function reapOrphans(libc: Libc, log: Logger | undefined): number {
  const info = new Uint8Array(128);
  const status = new Uint8Array(4);
  let reaped = 0;
  for (let i = 0; i < 64; i++) {
    info.fill(0);
    if (libc.symbols.waitid(P_ALL, 0, info, WEXITED | WNOHANG | WNOWAIT) !== 0) break;
    const pid = new DataView(info.buffer).getInt32(SIGINFO_PID_OFFSET, true);
    if (pid === 0 || ownChildren.has(pid)) break;
    if (libc.symbols.waitpid(pid, status, WNOHANG) !== pid) break;
    reaped++;
    log?.debug("Orphan process reaped", { pid });
  }
  return reaped;
}

/**
 * Reaps orphaned processes that were re-parented to this process, as PID 1 must (for instance varnishd's cache
 * child when its manager was killed), on each SIGCHLD and every second. Deno has no API for `waitpid(-1)`, so this
 * calls libc through FFI and needs `--allow-ffi`. When this process is not PID 1, `subreaper: true` makes the kernel
 * re-parent orphans to it anyway, which is how the tests exercise it; {@linkcode Reaper.stop} undoes that, so a
 * test's reaper does not change the process for the tests after it.
 *
 * @example Usage
 * ```ts ignore
 * import { startReaper } from "./reaper.ts";
 * const reaper = Deno.pid === 1 ? startReaper() : undefined;
 * reaper?.stop();
 * ```
 *
 * @param options Subreaper role and logger.
 * @returns The reaper.
 */
export function startReaper(options: ReaperOptions = {}): Reaper {
  const libc = openLibc();
  if (options.subreaper) libc.symbols.prctl(PR_SET_CHILD_SUBREAPER, 1n, 0n, 0n, 0n);
  let reaped = 0;
  const reap = () => reaped += reapOrphans(libc, options.log);
  Deno.addSignalListener("SIGCHLD", reap);
  const timer = setInterval(reap, 1000);
  return {
    get reaped() {
      return reaped;
    },
    stop() {
      clearInterval(timer);
      Deno.removeSignalListener("SIGCHLD", reap);
      reap();
      if (options.subreaper) libc.symbols.prctl(PR_SET_CHILD_SUBREAPER, 0n, 0n, 0n, 0n);
      libc.close();
    },
  };
}

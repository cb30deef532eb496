/**
 * Signalling and stopping the child processes the chaperone supervises (varnishd, hitch).
 *
 * @module
 */

/** Sends `signal` to `child`, ignoring a child that has already exited. */
export function signalChild(child: Deno.ChildProcess, signal: Deno.Signal): void {
  try {
    child.kill(signal);
  } catch {
    // Already exited.
  }
}

/** Sends SIGTERM, then SIGKILL if the child is still running after `graceMs`; resolves once it has exited. */
export async function terminateChild(child: Deno.ChildProcess, graceMs: number): Promise<void> {
  signalChild(child, "SIGTERM");
  const timer = setTimeout(() => signalChild(child, "SIGKILL"), graceMs);
  await child.status;
  clearTimeout(timer);
}

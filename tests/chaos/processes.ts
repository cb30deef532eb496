/**
 * Finds the processes the chaos suite kills, on either node: a pod's processes by the `POD_NAME` and
 * `POD_NAMESPACE` their environment carries (the downward API sets both in the gateway container, and varnishd
 * inherits them from the chaperone), and the cluster's API server by the certificate directory on its command line.
 *
 * @module
 */

/** A process: its id, its name (`comm`) and its command line. */
export interface ProcessInfo {
  pid: number;
  comm: string;
  cmdline: string[];
}

async function readProcess(pid: number): Promise<{ info: ProcessInfo; environ: string[] } | undefined> {
  try {
    const [comm, cmdline, environ] = await Promise.all([
      Deno.readTextFile(`/proc/${pid}/comm`),
      Deno.readTextFile(`/proc/${pid}/cmdline`),
      Deno.readTextFile(`/proc/${pid}/environ`),
    ]);
    return {
      info: { pid, comm: comm.trim(), cmdline: cmdline.split("\0").filter(Boolean) },
      environ: environ.split("\0"),
    };
  } catch {
    return undefined; // gone meanwhile, or a kernel thread
  }
}

async function allProcesses(): Promise<{ info: ProcessInfo; environ: string[] }[]> {
  const pids: number[] = [];
  for await (const e of Deno.readDir("/proc")) if (/^\d+$/.test(e.name)) pids.push(Number(e.name));
  return (await Promise.all(pids.map(readProcess))).filter((p) => p !== undefined);
}

/**
 * Lists the processes of a pod.
 *
 * @param namespace The pod's namespace.
 * @param pod The pod's name.
 * @returns Its processes (empty when none runs).
 */
export async function podProcesses(namespace: string, pod: string): Promise<ProcessInfo[]> {
  return (await allProcesses())
    .filter((p) => p.environ.includes(`POD_NAME=${pod}`) && p.environ.includes(`POD_NAMESPACE=${namespace}`))
    .map((p) => p.info);
}

/**
 * Finds the cluster's kube-apiserver by its `--cert-dir`, which lies in the cluster's own directory.
 *
 * @param clusterDir The cluster's state directory (`layout.dir`).
 * @returns Its process id.
 * @throws {Error} When none or several match.
 */
export async function apiServerPid(clusterDir: string): Promise<number> {
  const flag = `--cert-dir=${clusterDir}/apiserver-certs`;
  const found = (await allProcesses()).filter((p) => p.info.comm === "kube-apiserver" && p.info.cmdline.includes(flag));
  if (found.length !== 1) throw new Error(`Cannot find the API server: ${found.length} processes have ${flag}`);
  return found[0].info.pid;
}

/**
 * SIGKILLs processes.
 *
 * @param processes What to kill (one already gone is skipped).
 * @returns How many were killed.
 */
export function killAll(processes: ProcessInfo[]): number {
  let killed = 0;
  for (const p of processes) {
    try {
      Deno.kill(p.pid, "SIGKILL");
      killed++;
    } catch {
      // exited meanwhile
    }
  }
  return killed;
}

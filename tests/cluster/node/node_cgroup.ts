/**
 * The real node's cgroup, one per cluster, in every cgroup hierarchy: the kubelet's `cgroupRoot` (it puts every
 * pod below it and checks that it exists in each hierarchy) and, in the `pids` hierarchy, the node's own processes
 * (containerd, its shims, the kubelet, kube-proxy, the scheduler). Everything a cluster runs is therefore below one
 * cgroup, which is how it is stopped for sure: kill what is listed there, then remove the cgroups.
 *
 * @module
 */

/** Where cgroup v1 hierarchies are mounted. */
const CGROUP_FS = "/sys/fs/cgroup";
/** The hierarchy used to find the node's processes. */
const TRACKING = "pids";
/** The sub-cgroup of the node's own processes. */
const NODE_PROCESSES = "node";

async function hierarchies(): Promise<string[]> {
  const out: string[] = [];
  // `unified`, the v2 tree of a hybrid set-up, included: the kubelet creates its cgroup root there too
  for await (const e of Deno.readDir(CGROUP_FS)) if (e.isDirectory) out.push(`${CGROUP_FS}/${e.name}`);
  return out;
}

/**
 * Creates the cgroup in every hierarchy, and the sub-cgroup for the node's processes. Idempotent.
 *
 * @param name The cgroup name (`layout.cgroupName`).
 */
export async function createNodeCgroup(name: string): Promise<void> {
  for (const h of await hierarchies()) await Deno.mkdir(`${h}/${name}`, { recursive: true });
  await Deno.mkdir(`${CGROUP_FS}/${TRACKING}/${name}/${NODE_PROCESSES}`, { recursive: true });
}

/**
 * Moves a process into the node's sub-cgroup; what it starts later stays there too.
 *
 * @param name The cgroup name.
 * @param pid The process.
 */
export async function joinNodeCgroup(name: string, pid: number): Promise<void> {
  await Deno.writeTextFile(`${CGROUP_FS}/${TRACKING}/${name}/${NODE_PROCESSES}/cgroup.procs`, `${pid}\n`);
}

/** Lists the cgroup directories below `dir` (itself included), deepest first. */
async function cgroupDirs(dir: string): Promise<string[]> {
  const below: string[] = [];
  try {
    for await (const e of Deno.readDir(dir)) if (e.isDirectory) below.push(...await cgroupDirs(`${dir}/${e.name}`));
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return [];
    throw err;
  }
  return [...below, dir];
}

async function processesIn(dir: string): Promise<number[]> {
  const pids: number[] = [];
  for (const d of await cgroupDirs(dir)) {
    const text = await Deno.readTextFile(`${d}/cgroup.procs`).catch(() => "");
    pids.push(...text.split("\n").filter(Boolean).map(Number));
  }
  return pids;
}

/**
 * Lists the processes of one pod (its sandbox and containers): the kubelet names the pod's cgroup `pod<uid>`, below
 * the QoS class's cgroup.
 *
 * @param name The node's cgroup name.
 * @param podUid The pod's `metadata.uid`.
 * @returns The pids; none when the pod runs no process (yet).
 */
export async function podProcesses(name: string, podUid: string): Promise<number[]> {
  const pods = `${CGROUP_FS}/${TRACKING}/${name}/kubepods`;
  for (const dir of [pods, `${pods}/burstable`, `${pods}/besteffort`]) {
    const pids = await processesIn(`${dir}/pod${podUid}`);
    if (pids.length > 0) return pids;
  }
  return [];
}

/**
 * Kills every process in the node's cgroup (SIGKILL, repeated until none is left or `timeoutMs` passes) and removes
 * the cgroup from every hierarchy. Missing is fine.
 *
 * @param name The cgroup name.
 * @param options How long to wait for the processes to go.
 * @returns The number of processes killed.
 * @throws {Error} When processes or cgroups are still there at the end.
 */
export async function removeNodeCgroup(name: string, options: { timeoutMs?: number } = {}): Promise<number> {
  const deadline = performance.now() + (options.timeoutMs ?? 10_000);
  const killed = new Set<number>();
  while (true) {
    const pids = await processesIn(`${CGROUP_FS}/${TRACKING}/${name}`);
    if (pids.length === 0) break;
    if (performance.now() > deadline) {
      throw new Error(`Cannot empty cgroup "${name}": processes ${pids.join(" ")} remain`);
    }
    for (const pid of pids) {
      try {
        Deno.kill(pid, "SIGKILL");
        killed.add(pid);
      } catch {
        // exited meanwhile
      }
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  const left: string[] = [];
  for (const h of await hierarchies()) {
    for (const d of await cgroupDirs(`${h}/${name}`)) {
      // a cgroup whose last process just exited can refuse removal for a moment
      let removed = false;
      while (!removed && performance.now() < deadline) {
        removed = await Deno.remove(d).then(() => true, () => false);
        if (!removed) await new Promise((r) => setTimeout(r, 50));
      }
      if (!removed) left.push(d);
    }
  }
  if (left.length > 0) throw new Error(`Cannot remove cgroups ${left.join(" ")}`);
  return killed.size;
}

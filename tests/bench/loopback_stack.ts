/**
 * The processes of the loopback benchmarks (`bench:cache`, `bench:cluster-cache`): nginx instances, varnishd instances
 * with the ghost VMOD and wrk runs, all on 127.0.0.1, stopped and cleaned up together. Needs root (varnishd drops to
 * its own users), varnishd, the ghost VMOD (`$LACQUER_GHOST_VMOD_DIR` to measure a build of one's own, else the one
 * `scripts/setup.sh` installed), nginx and wrk (`scripts/setup.sh`).
 *
 * varnishd's `-n` directories are on a memory-backed filesystem (`/dev/shm`), as in the gateway pod (its own
 * `medium: Memory` volume): on a disk-backed one the kernel writes the shared-memory log's pages back and faults them
 * in again.
 *
 * @module
 */
import { DEBIAN_VMOD_DIR, stageGhostVmod } from "../../chaperone/_test_varnish.ts";

/** wrk's Lua script for a Zipf workload: `GET <prefix><rank>` over `objects` ranks with the given exponent. */
export const ZIPF_LUA = `
local n, s, prefix = 1000, 1.0, "/zipf/"
local cdf = {}
function init(args)
  n = tonumber(args[1]); s = tonumber(args[2]); prefix = args[3] or prefix
  local total = 0
  for k = 1, n do total = total + 1 / k ^ s end
  local acc = 0
  for k = 1, n do acc = acc + 1 / k ^ s / total; cdf[k] = acc end
  math.randomseed(os.time() + math.floor(os.clock() * 1000000) + tonumber(tostring({}):sub(8), 16))
end
function request()
  local u, lo, hi = math.random(), 1, n
  while lo < hi do
    local mid = math.floor((lo + hi) / 2)
    if cdf[mid] < u then lo = mid + 1 else hi = mid end
  end
  return wrk.format("GET", prefix .. lo)
end
`;

/** Waits until something accepts connections on 127.0.0.1:`port` (`timeoutMs` at most). */
export async function waitForPort(port: number, timeoutMs = 10_000): Promise<void> {
  for (let i = 0; i < timeoutMs / 50; i++) {
    try {
      (await Deno.connect({ hostname: "127.0.0.1", port })).close();
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  throw new Error(`Nothing listens on port ${port} after ${timeoutMs / 1000} s`);
}

/** A running varnishd of {@linkcode LoopbackStack.startVarnish}. */
export interface LoopbackVarnish {
  /** Its `-n` instance directory (for varnishstat). */
  instance: string;
  /** Stops it (SIGTERM) and waits for it. */
  stop(): Promise<void>;
}

/** Options of one wrk run. */
export interface WrkOptions {
  /** Seconds. */
  duration: number;
  /** Connections. */
  connections: number;
  /** Threads. @default {2} */
  threads?: number;
  /** A Lua script's text and its arguments. */
  script?: { text: string; args: string[] };
}

/** Processes on loopback, stopped together by `Symbol.asyncDispose`. */
export class LoopbackStack implements AsyncDisposable {
  #children = new Set<Deno.ChildProcess>();
  #scripts = 0;

  private constructor(
    /** Scratch directory, readable by varnishd's users. */
    readonly dir: string,
    /** Memory-backed directory of the `-n` instances. */
    readonly shm: string,
    /** The staged VMOD directory. */
    readonly vmods: string,
  ) {}

  /**
   * Makes the scratch directories and stages the ghost VMOD.
   *
   * @param name A name for the directories.
   * @returns The stack, with no process yet.
   */
  static async create(name: string): Promise<LoopbackStack> {
    const dir = await Deno.makeTempDir({ prefix: `lacquer-${name}-` });
    await Deno.chmod(dir, 0o755);
    const shm = await Deno.makeTempDir({ dir: "/dev/shm", prefix: `lacquer-${name}-` });
    await Deno.chmod(shm, 0o755);
    return new LoopbackStack(dir, shm, await stageGhostVmod(dir));
  }

  /** Writes a file varnishd's users can read; returns its path. */
  async writeFile(name: string, text: string): Promise<string> {
    const path = `${this.dir}/${name}`;
    await Deno.writeTextFile(path, text);
    await Deno.chmod(path, 0o644);
    return path;
  }

  #spawn(command: string, args: string[]): Deno.ChildProcess {
    const child = new Deno.Command(command, { args, stdout: "null", stderr: "inherit" }).spawn();
    this.#children.add(child);
    return child;
  }

  /**
   * Starts nginx with one `http { ... }` body and waits for `port`.
   *
   * @param name The instance's name (its temporary files and configuration).
   * @param server What goes into `http { }` (server blocks, upstreams).
   * @param port A port it listens on.
   */
  async startNginx(name: string, server: string, port: number): Promise<void> {
    const temp = `${this.dir}/${name}`;
    await Deno.mkdir(temp, { recursive: true });
    const conf = await this.writeFile(
      `${name}.conf`,
      `worker_processes auto;
pid ${temp}/nginx.pid;
error_log ${temp}/error.log;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${temp}; proxy_temp_path ${temp}; fastcgi_temp_path ${temp};
  uwsgi_temp_path ${temp}; scgi_temp_path ${temp};
  ${server}
}
`,
    );
    this.#spawn("nginx", ["-c", conf, "-g", "daemon off;"]);
    await waitForPort(port);
  }

  /**
   * Starts varnishd (instance `name`) with `vcl` on the `-a` sockets `listen`, malloc storage of `storage` and the
   * `params` (`name=value`), and waits for `port`.
   */
  async startVarnish(
    name: string,
    vcl: string,
    listen: string[],
    port: number,
    storage: string,
    params: string[] = [],
  ): Promise<LoopbackVarnish> {
    const instance = `${this.shm}/${name}`;
    const file = await this.writeFile(`${name}.vcl`, vcl);
    const child = this.#spawn("varnishd", [
      "-F",
      "-n",
      instance,
      ...listen.flatMap((socket) => ["-a", socket]),
      "-f",
      file,
      "-s",
      `malloc,${storage}`,
      "-p",
      `vmod_path=${this.vmods}:${DEBIAN_VMOD_DIR}`,
      ...params.flatMap((p) => ["-p", p]),
    ]);
    // Compiling the VCL takes seconds, more when several start at once on a busy machine.
    await waitForPort(port, 120_000);
    return {
      instance,
      stop: async () => {
        if (!this.#children.delete(child)) return;
        await stopChild(child);
      },
    };
  }

  /** Runs wrk against `url`; returns its standard output. */
  async wrk(url: string, options: WrkOptions): Promise<string> {
    const args = [`-t${options.threads ?? 2}`, `-c${options.connections}`, `-d${options.duration}s`, "--latency"];
    if (options.script) args.push("-s", await this.writeFile(`wrk-${++this.#scripts}.lua`, options.script.text));
    args.push(url);
    if (options.script?.args.length) args.push("--", ...options.script.args);
    const out = await new Deno.Command("wrk", { args, stdout: "piped", stderr: "inherit" }).output();
    if (!out.success) throw new Error(`wrk failed for ${url}`);
    return new TextDecoder().decode(out.stdout);
  }

  /** Stops every process and removes the directories. */
  async [Symbol.asyncDispose](): Promise<void> {
    for (const child of this.#children) await stopChild(child);
    this.#children.clear();
    await Deno.remove(this.dir, { recursive: true });
    await Deno.remove(this.shm, { recursive: true });
  }
}

async function stopChild(child: Deno.ChildProcess): Promise<void> {
  try {
    child.kill("SIGTERM");
  } catch {
    // Already gone.
  }
  await child.status;
}

/** varnishd's counters (`varnishstat -j`), by name. */
export async function varnishCounters(instance: string): Promise<Record<string, number>> {
  const out = await new Deno.Command("varnishstat", { args: ["-n", instance, "-j", "-t", "2"], stdout: "piped" })
    .output();
  const counters = JSON.parse(new TextDecoder().decode(out.stdout)).counters as Record<string, { value: number }>;
  return Object.fromEntries(Object.entries(counters).map(([k, v]) => [k, v.value]));
}

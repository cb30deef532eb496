/**
 * Test helpers of the chaperone folder for a local varnishd: free loopback ports, a scratch varnishd, the ghost VMOD,
 * requests with a Host header.
 *
 * @module
 */
import { GHOST_SOCKET_NAME } from "../internal/names.ts";
import { eventually } from "../tests/cluster/eventually.ts";
import { lacquerCacheDir } from "../tests/cluster/layout.ts";
import { freePort } from "../tests/cluster/free_port.ts";

export { freePort };

/** The directory of Debian's VMODs. */
export const DEBIAN_VMOD_DIR = "/usr/lib/x86_64-linux-gnu/varnish/vmods";

/**
 * The directory holding the built ghost VMOD (`libvmod_ghost.so`), when it exists: `$LACQUER_GHOST_VMOD_DIR`, else
 * `$LACQUER_CACHE/vmods` where `scripts/setup.sh` installs it.
 */
export function ghostVmodDir(): string | undefined {
  const dir = Deno.env.get("LACQUER_GHOST_VMOD_DIR") ?? `${lacquerCacheDir(Deno.env)}/vmods`;
  try {
    Deno.statSync(`${dir}/libvmod_ghost.so`);
    return dir;
  } catch {
    return undefined;
  }
}

/**
 * Copies the ghost VMOD (from `source`, by default {@linkcode ghostVmodDir}) into `<dir>/vmods` and returns that
 * directory. varnishd started as root runs its VCL compiler and child as an unprivileged user (jail "unix"), which
 * cannot read below `/root/.cache`.
 */
export async function stageGhostVmod(dir: string, source: string | undefined = ghostVmodDir()): Promise<string> {
  if (source === undefined) throw new Error("Cannot stage the ghost VMOD: it is not built (scripts/setup.sh ghost)");
  await Deno.mkdir(`${dir}/vmods`, { recursive: true, mode: 0o755 });
  await Deno.chmod(`${dir}/vmods`, 0o755);
  await Deno.copyFile(`${source}/libvmod_ghost.so`, `${dir}/vmods/libvmod_ghost.so`);
  await Deno.chmod(`${dir}/vmods/libvmod_ghost.so`, 0o755);
  return `${dir}/vmods`;
}

/** A scratch varnishd started with a CLI secret. */
export interface ScratchVarnish {
  /** Working directory (also holds the secret). */
  dir: string;
  /** The secret bytes. */
  secret: Uint8Array;
  /** CLI port. */
  cliPort: number;
  /** HTTP port. */
  httpPort: number;
  /** The process. */
  child: Deno.ChildProcess;
  /** Stops varnishd and removes the directory. */
  stop(): Promise<void>;
}

/** Starts a varnishd with a plain VCL answering 200 "hello" (or `vcl`), CLI on a free port, `extraArgs` last. */
export async function startScratchVarnish(vcl?: string, extraArgs: readonly string[] = []): Promise<ScratchVarnish> {
  const dir = await Deno.makeTempDir({ prefix: "lacquer-varnish-" });
  // varnishd drops privileges (jail "unix") when started as root: its users must be able to read the files.
  await Deno.chmod(dir, 0o755);
  const secret = crypto.getRandomValues(new Uint8Array(32));
  await Deno.writeFile(`${dir}/secret`, secret);
  await Deno.writeTextFile(
    `${dir}/boot.vcl`,
    vcl ?? 'vcl 4.1;\nbackend default none;\nsub vcl_recv { return (synth(200, "hello")); }\n',
  );
  const cliPort = freePort();
  const httpPort = freePort();
  const child = new Deno.Command("varnishd", {
    args: [
      "-F",
      "-n",
      `${dir}/n`,
      "-a",
      `127.0.0.1:${httpPort}`,
      "-T",
      `127.0.0.1:${cliPort}`,
      "-S",
      `${dir}/secret`,
      "-f",
      `${dir}/boot.vcl`,
      "-s",
      "malloc,16m",
      ...extraArgs,
    ],
    stdout: "null",
    stderr: "null",
  }).spawn();
  const stop = async () => {
    try {
      child.kill("SIGTERM");
    } catch {
      // Already gone.
    }
    await child.status;
    await Deno.remove(dir, { recursive: true });
  };
  try {
    await eventually(async () => {
      const conn = await Deno.connect({ hostname: "127.0.0.1", port: cliPort });
      conn.close();
    });
  } catch (err) {
    await stop();
    throw err;
  }
  return { dir, secret, cliPort, httpPort, child, stop };
}

/** The smallest VCL that wires ghost in, as `ghost/ghost.vcl` does (the operator generates the full one). */
export function ghostTestVcl(ghostJsonPath: string): string {
  return `vcl 4.1;
import ghost;
import proxy;
backend default none;
sub vcl_init {
  new router = ghost.router("${ghostJsonPath}");
}
sub vcl_recv {
  if (local.socket == "${GHOST_SOCKET_NAME}") {
    return (synth(router.control(req.url, client.ip)));
  }
  if (!router.recv(local.socket, client.ip, proxy.authority())) {
    return (synth(router.status()));
  }
  set req.backend_hint = router.backend();
  return (pass);
}
sub vcl_synth {
  if (router.synth()) {
    synthetic(router.body());
    return (deliver);
  }
}
sub vcl_deliver {
  router.deliver(obj.hits);
}
`;
}

/**
 * Sends `GET path` (or `options.method`, with `options.headers`) with a Host header over a fresh HTTP/1.1 connection
 * to `options.address` (default 127.0.0.1) (Deno's fetch does not let a caller set Host) and returns
 * `"<status> <body>"`.
 */
export async function getWithHost(
  port: number,
  host: string,
  path = "/",
  options: { method?: string; headers?: Record<string, string>; address?: string } = {},
): Promise<string> {
  const conn = await Deno.connect({ hostname: options.address ?? "127.0.0.1", port });
  try {
    const extra = Object.entries(options.headers ?? {}).map(([k, v]) => `${k}: ${v}\r\n`).join("");
    const request = `${options.method ?? "GET"} ${path} HTTP/1.1\r\nHost: ${host}\r\n${extra}Connection: close\r\n\r\n`;
    await conn.write(new TextEncoder().encode(request));
    const chunks: Uint8Array[] = [];
    const buffer = new Uint8Array(16 * 1024);
    for (;;) {
      const n = await conn.read(buffer);
      if (n === null) break;
      chunks.push(buffer.slice(0, n));
    }
    const text = new TextDecoder().decode(new Uint8Array(chunks.flatMap((c) => [...c])));
    const [head, ...rest] = text.split("\r\n\r\n");
    const status = head.split(" ")[1];
    let body = rest.join("\r\n\r\n");
    if (/\r\ntransfer-encoding: chunked/i.test(head)) {
      let out = "";
      for (let i = 0; i < body.length;) {
        const eol = body.indexOf("\r\n", i);
        const size = parseInt(body.slice(i, eol), 16);
        if (!size) break;
        out += body.slice(eol + 2, eol + 2 + size);
        i = eol + 2 + size + 2;
      }
      body = out;
    }
    return `${status} ${body}`;
  } finally {
    conn.close();
  }
}

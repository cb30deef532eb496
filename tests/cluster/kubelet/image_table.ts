/**
 * The image → local command table of the process kubelet. Pure.
 *
 * There is no container runtime: a container runs as a host process in its pod's network namespace. Images we can
 * run are mapped to programs; any other image runs as a no-op process that sleeps until it is stopped, so
 * Deployments of unknown images still get Running pods (an init container of an unknown image succeeds at once).
 *
 * The Lacquer images (`lacquer-gateway`, `lacquer-operator`, and `lacquer` for tests that name one image for both;
 * any registry, any tag, e.g. `ghcr.io/lacquer/lacquer-operator:0.1.0`) run the repository's `mod.ts` with Deno,
 * with the container's `command` minus a leading `lacquer` and its `args` — so `args: ["chaperone", ...]` runs
 * `lacquer chaperone ...`; a container with neither runs the image's default subcommand, as the images' entrypoint
 * and Cmd do (images/recipes.ts). The ghost VMOD is where the gateway image has it, in Debian's VMOD directory
 * (scripts/setup.d/50-ghost.sh installs it there). Add or change entries in {@linkcode defaultImageTable}, or pass
 * a table to the kubelet.
 *
 * @module
 */
import type { Container } from "./types.ts";

/** Host paths the table needs. */
export interface ImageHost {
  /** The echo-basic binary. */
  echoBasic: string;
  /** The Deno binary. */
  deno: string;
  /** The repository root (for `mod.ts`). */
  repoRoot: string;
}

/** A program to start for a container. `noop` marks the stand-in for images we cannot run. */
export interface ContainerCommand {
  program: string;
  args: string[];
  noop?: boolean;
}

/** One row of the table: a test on the image name and the command it maps to. */
export interface ImageRule {
  /** Describes the rule in logs. */
  name: string;
  /** Tells whether the rule handles `repository` (the image without registry host, tag and digest). */
  matches(repository: string): boolean;
  /** Returns the command for the container. */
  command(container: Container, host: ImageHost): ContainerCommand;
}

/**
 * Returns the last path segment of an image reference, without tag or digest.
 *
 * @example Usage
 * ```ts
 * import { imageName } from "./image_table.ts";
 * imageName("gcr.io/k8s-staging-gateway-api/echo-basic:v20240412@sha256:00"); // "echo-basic"
 * ```
 *
 * @param image The image reference.
 * @returns The short name.
 */
export function imageName(image: string): string {
  const noDigest = image.split("@")[0];
  const last = noDigest.split("/").pop() ?? noDigest;
  return last.split(":")[0];
}

/** The Lacquer images by name, with the subcommand each runs when the container gives no command or args. */
const LACQUER_IMAGE_DEFAULT_ARGS: Readonly<Record<string, readonly string[]>> = {
  lacquer: [],
  "lacquer-gateway": ["chaperone"],
  "lacquer-operator": ["operator"],
};

/** The built-in table: echo servers and the Lacquer images. */
export const defaultImageTable: readonly ImageRule[] = [
  {
    name: "echo-basic",
    matches: (name) => ["echo-basic", "echo-advanced", "echoserver"].includes(name),
    command: (_c, host) => ({ program: host.echoBasic, args: [] }),
  },
  {
    // test helpers: `busybox` runs its command and args as host programs (e.g. `sh -c "..."`; use
    // `$LACQUER_POD_ROOT` in scripts, which are not path-rewritten)
    name: "busybox",
    matches: (name) => name === "busybox",
    command: (c) => {
      const argv = [...(c.command ?? []), ...(c.args ?? [])];
      return argv.length > 0 ? { program: argv[0], args: argv.slice(1) } : { program: "true", args: [] };
    },
  },
  {
    name: "lacquer",
    matches: (name) => name in LACQUER_IMAGE_DEFAULT_ARGS,
    command: (c, host) => {
      const command = [...(c.command ?? [])];
      if (command[0] && imageName(command[0]) === "lacquer") command.shift();
      const args = command.length === 0 && (c.args ?? []).length === 0
        ? LACQUER_IMAGE_DEFAULT_ARGS[imageName(c.image)]
        : [...command, ...(c.args ?? [])];
      return { program: host.deno, args: ["run", "--allow-all", `${host.repoRoot}/mod.ts`, ...args] };
    },
  },
];

/**
 * Maps a container to the local program that stands in for its image.
 *
 * @example Usage
 * ```ts
 * import { defaultImageTable, resolveImage } from "./image_table.ts";
 * const host = { echoBasic: "/bin/echo-basic", deno: "/bin/deno", repoRoot: "/repo" };
 * resolveImage({ name: "c", image: "nginx:1" }, { host, table: defaultImageTable }).noop; // true
 * ```
 *
 * @param container The container.
 * @param options Host paths and the table.
 * @returns The command.
 */
export function resolveImage(
  container: Container,
  options: { host: ImageHost; table: readonly ImageRule[] },
): ContainerCommand {
  const name = imageName(container.image);
  const rule = options.table.find((r) => r.matches(name));
  if (rule) return rule.command(container, options.host);
  return { program: "sleep", args: ["infinity"], noop: true };
}

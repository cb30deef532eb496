/**
 * Deno's transpile cache (`DENO_DIR/gen`) for the program as the images run it: without it every process start
 * transpiles each TypeScript module again (the image's DENO_DIR is read-only). The emitted files are named by the
 * module's absolute path, so they are made with the program mounted at its image path, in a mount namespace of
 * its own. They depend only on the sources and the Deno version (no times), unlike Deno's SQLite caches, which stay
 * out of the images.
 *
 * @module
 */
import { runCommand } from "../tests/cluster/run_command.ts";

/**
 * Runs `deno cache` on `<appDir>/mod.ts` with the program's files (staged in `stagedApp`) mounted at `appDir`, and
 * moves the emitted `gen` folder to `target`. The npm packages come from the building Deno's own cache, linked in
 * (warm there already, as the npm layer fetched them).
 *
 * @example Usage
 * ```ts ignore
 * import { emitTranspileCache } from "./emit_cache.ts";
 * await emitTranspileCache(`${root}/opt/lacquer/app`, "/opt/lacquer/app", `${root}/opt/lacquer/deno-dir/gen`);
 * ```
 *
 * @param stagedApp Where the program's files are now.
 * @param appDir Where the image has them (an absolute path; a tmpfs hides its first folder in the namespace).
 * @param target Where the `gen` folder goes (must not exist).
 */
export async function emitTranspileCache(stagedApp: string, appDir: string, target: string): Promise<void> {
  const deno = Deno.execPath();
  const { npmCache } = JSON.parse((await runCommand(deno, { args: ["info", "--json"] })).stdout) as {
    npmCache: string;
  };
  // Beside the target, so that the `gen` folder moves by a rename.
  const denoDir = await Deno.makeTempDir({ dir: target.replace(/\/[^/]*$/, ""), prefix: ".emit-" });
  try {
    await Deno.symlink(npmCache, `${denoDir}/npm`);
    const top = `/${appDir.split("/")[1]}`;
    const script = [
      "set -e",
      `mount -t tmpfs tmpfs "${top}"`,
      `mkdir -p "${appDir}"`,
      `mount --bind "$1" "${appDir}"`,
      `exec "$2" cache --frozen --quiet "${appDir}/mod.ts"`,
    ].join("\n");
    await runCommand("unshare", {
      args: ["--mount", "--propagation", "private", "sh", "-c", script, "sh", stagedApp, deno],
      env: { DENO_DIR: denoDir, DENO_NO_UPDATE_CHECK: "1" },
    });
    await Deno.rename(`${denoDir}/gen`, target);
  } finally {
    await Deno.remove(denoDir, { recursive: true });
  }
}

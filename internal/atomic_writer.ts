/**
 * Atomic file replacement: readers see the old bytes or the new bytes, never a partial file.
 *
 * @module
 */

/** Options for {@linkcode writeFileAtomic}. */
export interface WriteFileAtomicOptions {
  /** Permission bits of the file. @default {0o644} */
  mode?: number;
  /** Leave the file alone when it already holds exactly these bytes (never for pieces). @default {true} */
  skipUnchanged?: boolean;
  /**
   * Flush the data to disk before the rename, so the new content also survives a crash of the machine. Readers see
   * whole files either way; files that are rebuilt at start-up can skip the flush. @default {true}
   */
  durable?: boolean;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * Writes a file atomically: the data goes to a temporary file in the same directory, is flushed to disk (unless
 * `durable` is false), and is renamed over the target (rename within one file system is atomic on POSIX).
 *
 * @example Usage
 * ```ts ignore
 * import { writeFileAtomic } from "./atomic_writer.ts";
 * const changed = await writeFileAtomic("/var/run/lacquer/ghost.json", new TextEncoder().encode("{}\n"));
 * ```
 *
 * @param path The target file.
 * @param data The new content: bytes, text (written as UTF-8), or pieces of text, each encoded and written as it
 *   comes (a large document is then never joined nor encoded at once, and other work runs between the writes).
 * @param options Mode and whether unchanged content is skipped.
 * @returns Whether the file was written (false when it already held the same bytes).
 * @throws {Deno.errors.NotFound} When the directory does not exist.
 */
export async function writeFileAtomic(
  path: string,
  data: Uint8Array | string | Iterable<string>,
  options: WriteFileAtomicOptions = {},
): Promise<boolean> {
  const encoder = new TextEncoder();
  const pieces = typeof data === "string" || data instanceof Uint8Array ? undefined : data;
  const bytes = typeof data === "string" ? encoder.encode(data) : data instanceof Uint8Array ? data : undefined;
  if (bytes !== undefined && (options.skipUnchanged ?? true)) {
    try {
      if (sameBytes(await Deno.readFile(path), bytes)) return false;
    } catch (err) {
      if (!(err instanceof Deno.errors.NotFound)) throw err;
    }
  }
  const temp = tempPathOf(path);
  try {
    const file = await Deno.open(temp, { write: true, createNew: true, mode: options.mode ?? 0o644 });
    try {
      const writeAll = async (chunk: Uint8Array) => {
        for (let written = 0; written < chunk.length;) written += await file.write(chunk.subarray(written));
      };
      if (bytes !== undefined) await writeAll(bytes);
      for (const piece of pieces ?? []) await writeAll(encoder.encode(piece));
      if (options.durable ?? true) await file.sync();
    } finally {
      file.close();
    }
    // The mode passed to open is filtered by the umask; make it exact.
    await Deno.chmod(temp, options.mode ?? 0o644);
    await Deno.rename(temp, path);
  } catch (err) {
    await Deno.remove(temp).catch(() => {});
    throw err;
  }
  return true;
}

/** A new temporary file's path beside `path` (hidden, unique). */
function tempPathOf(path: string): string {
  const slash = path.lastIndexOf("/");
  const dir = slash >= 0 ? path.slice(0, slash + 1) : "";
  return `${dir}.${path.slice(slash + 1)}.${crypto.randomUUID().slice(0, 8)}.tmp`;
}

/**
 * Writes a small file atomically without leaving the calling thread: the same temporary file and rename as
 * {@linkcode writeFileAtomic} (not flushed to disk, always written), in a few system calls made at once. For a file on
 * a latency path (ghost.json's delta): each call of the asynchronous one waits for a thread of the runtime's pool and
 * then for the event loop, which costs milliseconds on a busy node.
 *
 * @example Usage
 * ```ts ignore
 * import { writeFileAtomicSync } from "./atomic_writer.ts";
 * writeFileAtomicSync("/var/run/lacquer/ghost.json.delta", '{"version":1,"vhosts":{}}\n');
 * ```
 *
 * @param path The target file.
 * @param data The new content (text is written as UTF-8).
 * @param mode Permission bits of the file.
 * @throws {Deno.errors.NotFound} When the directory does not exist.
 */
export function writeFileAtomicSync(path: string, data: Uint8Array | string, mode = 0o644): void {
  const temp = tempPathOf(path);
  try {
    if (typeof data === "string") Deno.writeTextFileSync(temp, data, { createNew: true, mode });
    else Deno.writeFileSync(temp, data, { createNew: true, mode });
    // The mode passed to open is filtered by the umask; make it exact.
    Deno.chmodSync(temp, mode);
    Deno.renameSync(temp, path);
  } catch (err) {
    try {
      Deno.removeSync(temp);
    } catch {
      // never created
    }
    throw err;
  }
}

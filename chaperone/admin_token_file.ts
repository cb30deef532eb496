/**
 * The Gateway's admin token as the chaperone reads it: from the file the operator's Secret is mounted as, re-read
 * whenever the file changes (a Secret recreated after a deletion carries a new token, and the kubelet swaps the
 * mounted file), otherwise served from memory. Never logged.
 *
 * @module
 */

/** Reads the admin token file, cached by its identity and modification time. */
export class AdminTokenFile {
  #path: string;
  #stamp = "";
  #token: string | undefined;

  /**
   * Creates the reader; nothing is read before the first {@linkcode AdminTokenFile.read}.
   *
   * @param path The token file.
   */
  constructor(path: string) {
    this.#path = path;
  }

  /**
   * Returns the current token: the file's text without surrounding whitespace, or undefined when the file is
   * missing, unreadable or empty (then every authenticated endpoint refuses).
   *
   * @returns The token, if any.
   */
  async read(): Promise<string | undefined> {
    let stamp: string;
    try {
      const info = await Deno.stat(this.#path);
      stamp = `${info.ino}:${info.size}:${info.mtime?.getTime()}`;
    } catch {
      this.#stamp = "";
      this.#token = undefined;
      return undefined;
    }
    if (stamp !== this.#stamp) {
      const text = await Deno.readTextFile(this.#path).catch(() => "");
      this.#token = text.trim() === "" ? undefined : text.trim();
      this.#stamp = stamp;
    }
    return this.#token;
  }
}

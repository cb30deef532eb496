/**
 * The content hash the chaperone publishes and the operator compares: `sha256:<hex>` of a text's UTF-8 bytes.
 *
 * @module
 */

const encoder = new TextEncoder();

/**
 * Hashes a text (or bytes) as `sha256:<lowercase hex>`.
 *
 * @example Usage
 * ```ts
 * import { contentHash } from "./content_hash.ts";
 * const hash = await contentHash("vcl 4.1;\n"); // "sha256:…"
 * ```
 *
 * @param content The text, hashed as UTF-8, or raw bytes.
 * @returns The hash.
 */
export async function contentHash(content: string | Uint8Array): Promise<string> {
  const bytes = typeof content === "string" ? encoder.encode(content) : content;
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>));
  let hex = "";
  for (const byte of digest) hex += byte.toString(16).padStart(2, "0");
  return `sha256:${hex}`;
}

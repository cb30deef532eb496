/**
 * The one content hash of Lacquer: `sha256:<hex>` of a text's UTF-8 bytes. The operator writes it into the
 * ConfigMap's annotations and compares it with what each gateway pod reports; the chaperone publishes the hash of
 * what it has live; child objects carry it as their desired-state hash.
 *
 * @module
 */
import { createHash } from "node:crypto";

/**
 * Hashes a text (or bytes) as `sha256:<lowercase hex>`.
 *
 * @example Usage
 * ```ts
 * import { contentHash } from "./content_hash.ts";
 * contentHash(""); // "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
 * ```
 *
 * @param content The text, hashed as UTF-8, or raw bytes.
 * @returns The hash.
 */
export function contentHash(content: string | Uint8Array): string {
  return `sha256:${createHash("sha256").update(content).digest("hex")}`;
}

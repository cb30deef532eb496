/**
 * Request path normalisation before matching, for `lacquer explain`: a port of ghost's `ghost/core/src/path.rs`
 * (RFC 3986 section 6.2.2: unreserved escapes decoded, other escapes upper-cased, dot segments removed, empty segments
 * merged; `;` parameters do not count for matching; encoded or backslash separators follow `escapedSlashes`). The
 * golden route cases of ghost run through both.
 *
 * @module
 */
import type { GhostJson } from "../ghost/contract/mod.ts";

/** The escaped-slash policy of a ghost.json document. */
export type EscapedSlashes = NonNullable<GhostJson["requests"]>["escapedSlashes"];

/** What to do with a request path. */
export type PathCheck =
  | { kind: "use"; target: string; matching: string }
  | { kind: "reject"; reason: string }
  | { kind: "redirect"; path: string };

const UNRESERVED = /^[A-Za-z0-9._~-]$/;

/**
 * Normalises a request path (without its query) as ghost does.
 *
 * @example Usage
 * ```ts
 * import { normalizePath } from "./normalize_path.ts";
 * normalizePath("/x/../%61dmin;v=1", "Reject"); // { kind: "use", target: "/admin;v=1", matching: "/admin" }
 * ```
 *
 * @param path The path as sent.
 * @param escaped The policy for `%2F`, `%5C` and `\`.
 * @returns The path to forward and to match, or the 400 or redirect that answers instead.
 */
export function normalizePath(path: string, escaped: EscapedSlashes): PathCheck {
  if (!path.startsWith("/")) return { kind: "use", target: path, matching: path };
  let decoded = "";
  let unescaped = false;
  for (let i = 0; i < path.length;) {
    let char = path[i];
    let escape = false;
    if (char === "%") {
      const hex = path.slice(i + 1, i + 3);
      if (!/^[0-9A-Fa-f]{2}$/.test(hex)) {
        return { kind: "reject", reason: "malformed percent-encoding in the request path" };
      }
      char = String.fromCharCode(parseInt(hex, 16));
      escape = true;
      i += 3;
    } else {
      i += 1;
    }
    if (char === "/" && !escape) decoded += "/";
    else if (char === "/" || char === "\\") {
      if (escaped === "Reject") {
        return { kind: "reject", reason: "encoded or backslash path separators are not allowed" };
      }
      if (escaped === "KeepUnchanged") decoded += escape ? `%${char === "/" ? "2F" : "5C"}` : "\\";
      else {
        unescaped = true;
        decoded += "/";
      }
    } else if (escape && UNRESERVED.test(char)) decoded += char;
    else if (escape) decoded += `%${char.charCodeAt(0).toString(16).toUpperCase().padStart(2, "0")}`;
    else decoded += char;
  }
  const target = removeDotSegments(decoded);
  if (unescaped && escaped === "UnescapeAndRedirect") return { kind: "redirect", path: target };
  return { kind: "use", target, matching: target.split("/").map((s) => s.split(";")[0]).join("/") };
}

function removeDotSegments(path: string): string {
  const kept: string[] = [];
  let trailingSlash = false;
  for (const segment of path.split("/").slice(1)) {
    const name = segment.split(";")[0];
    trailingSlash = true;
    if (name === "..") kept.pop();
    else if (name !== "." && segment !== "") {
      kept.push(segment);
      trailingSlash = false;
    }
  }
  return kept.map((s) => `/${s}`).join("") + (trailingSlash || kept.length === 0 ? "/" : "");
}

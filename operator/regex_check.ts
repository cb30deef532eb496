/**
 * Checks a regular expression against the syntax of the Rust `regex` crate, which ghost uses to match paths,
 * headers and query parameters.
 *
 * There is no Rust regex parser in TypeScript, so the check is a translation: constructs the Rust crate rejects
 * but JavaScript accepts (lookaround, backreferences) are rejected by a scanner first; Rust-only spellings
 * (`(?P<name>`, inline flags `(?i)`/`(?i:`, `\A`, `\z`, `\x{…}`, `\pL`, nested classes and the class set
 * operators `&&`, `--`, `~~`, ASCII classes `[:alpha:]`) are rewritten to JavaScript spellings with the same
 * validity; the result is compiled with the `u` flag, whose escapes are as strict as Rust's.
 *
 * Known gaps, all rare: the Rust crate's compiled-size limit (a huge counted repetition such as `a{100000}` is
 * accepted here but may fail to compile in ghost); Unicode script names without `Script=` (`\p{Greek}`) are
 * rejected here although Rust accepts them; `(?x)` verbose mode is accepted but the rest of the pattern is
 * checked as if whitespace were literal. A pattern that passes here and still
 * fails in ghost is skipped there with an error, leaving the other routes serving.
 *
 * @module
 */

const FLAG_GROUP = /^\(\?([imsxUR-]*)(\)|:)/;
const POSIX_CLASSES = new Set([
  "alnum",
  "alpha",
  "ascii",
  "blank",
  "cntrl",
  "digit",
  "graph",
  "lower",
  "print",
  "punct",
  "space",
  "upper",
  "word",
  "xdigit",
]);

/**
 * Checks a pattern; returns undefined when ghost's regex engine accepts it, or the reason it does not.
 *
 * @example Usage
 * ```ts
 * import { checkRegex } from "./regex_check.ts";
 * checkRegex("/api/v[0-9]+"); // undefined
 * checkRegex("/(?=admin)"); // "lookaround is not supported"
 * ```
 *
 * @param pattern The regular expression, as written in the HTTPRoute.
 * @returns undefined when the pattern is valid, else a short reason.
 */
export function checkRegex(pattern: string): string | undefined {
  let out = "";
  let inClass = 0;
  let i = 0;
  while (i < pattern.length) {
    const c = pattern[i];
    if (c === "\\") {
      const next = pattern[i + 1];
      if (next === undefined) return "trailing backslash";
      if (/[1-9]/.test(next) && inClass === 0) return "backreferences are not supported";
      if (next === "k" && pattern[i + 2] === "<") return "backreferences are not supported";
      if (next === "A" && inClass === 0) {
        out += "^";
        i += 2;
        continue;
      }
      if (next === "z" && inClass === 0) {
        out += "$";
        i += 2;
        continue;
      }
      if (next === "x" && pattern[i + 2] === "{") {
        out += "\\u{";
        i += 3;
        continue;
      }
      if ((next === "p" || next === "P") && /[A-Za-z]/.test(pattern[i + 2] ?? "")) {
        out += `\\${next}{${pattern[i + 2]}}`;
        i += 3;
        continue;
      }
      out += c + next;
      i += 2;
      continue;
    }
    if (inClass > 0) {
      // Rust's nested classes and set operators are flattened to one union: same validity, other meaning.
      if (c === "[" && pattern[i + 1] === ":") {
        const posix = /^\[:\^?([a-z]+):\]/.exec(pattern.slice(i));
        if (!posix || !POSIX_CLASSES.has(posix[1])) return `unknown ASCII class at offset ${i}`;
        out += "a";
        i += posix[0].length;
        continue;
      }
      if (c === "[") {
        inClass++;
        i += pattern[i + 1] === "^" ? 2 : 1;
        if (pattern[i] === "]") {
          out += "\\]";
          i++;
        }
        continue;
      }
      if (c === "]") {
        inClass--;
        if (inClass === 0) out += c;
        i++;
        continue;
      }
      if ((c === "&" || c === "-" || c === "~") && pattern[i + 1] === c) {
        i += 2;
        continue;
      }
      out += c;
      i++;
      continue;
    }
    if (c === "[") {
      inClass = 1;
      out += c;
      i++;
      // A "]" or "^]" right after the opening bracket is a literal in Rust.
      if (pattern[i] === "^") {
        out += "^";
        i++;
      }
      if (pattern[i] === "]") {
        out += "\\]";
        i++;
      }
      continue;
    }
    if (c === "(" && pattern[i + 1] === "?") {
      const rest = pattern.slice(i);
      if (/^\(\?<?[=!]/.test(rest)) return "lookaround is not supported";
      if (rest.startsWith("(?P<")) {
        out += "(?<";
        i += 4;
        continue;
      }
      if (rest.startsWith("(?<") || rest.startsWith("(?:")) {
        out += rest.slice(0, 3);
        i += 3;
        continue;
      }
      const flags = FLAG_GROUP.exec(rest);
      if (!flags) return `unsupported group syntax at offset ${i}`;
      // Flags only change matching, not validity: a bare "(?i)" disappears, "(?i:" becomes "(?:".
      out += flags[2] === ":" ? "(?:" : "";
      i += flags[0].length;
      continue;
    }
    out += c;
    i++;
  }
  try {
    new RegExp(out, "u");
  } catch (err) {
    const message = (err as Error).message;
    const colon = message.lastIndexOf(": ");
    return colon >= 0 ? message.slice(colon + 2).toLowerCase() : message;
  }
  return undefined;
}

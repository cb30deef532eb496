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

/** The scanner's state: the pattern, the position, the JavaScript translation so far and the class depth. */
interface Scan {
  pattern: string;
  i: number;
  out: string;
  inClass: number;
}

/** A step of the scan: consumes input at `scan.i`, extends `scan.out`, or returns why the pattern is invalid. */
type Step = (scan: Scan) => string | undefined;

function emit(scan: Scan, text: string, consumed: number): undefined {
  scan.out += text;
  scan.i += consumed;
  return undefined;
}

function escape(scan: Scan): string | undefined {
  const { pattern, i, inClass } = scan;
  const next = pattern[i + 1];
  if (next === undefined) return "trailing backslash";
  if (/[1-9]/.test(next) && inClass === 0) return "backreferences are not supported";
  if (next === "k" && pattern[i + 2] === "<") return "backreferences are not supported";
  if (next === "A" && inClass === 0) return emit(scan, "^", 2);
  if (next === "z" && inClass === 0) return emit(scan, "$", 2);
  if (next === "x" && pattern[i + 2] === "{") return emit(scan, "\\u{", 3);
  if ((next === "p" || next === "P") && /[A-Za-z]/.test(pattern[i + 2] ?? "")) {
    return emit(scan, `\\${next}{${pattern[i + 2]}}`, 3);
  }
  return emit(scan, `\\${next}`, 2);
}

/** Inside a class, Rust's nested classes and set operators are flattened to one union: same validity. */
function insideClass(scan: Scan): string | undefined {
  const { pattern, i } = scan;
  const c = pattern[i];
  if (c === "[" && pattern[i + 1] === ":") {
    const posix = /^\[:\^?([a-z]+):\]/.exec(pattern.slice(i));
    if (!posix || !POSIX_CLASSES.has(posix[1])) return `unknown ASCII class at offset ${i}`;
    return emit(scan, "a", posix[0].length);
  }
  if (c === "[") {
    scan.inClass++;
    scan.i += pattern[i + 1] === "^" ? 2 : 1;
    return pattern[scan.i] === "]" ? emit(scan, "\\]", 1) : undefined;
  }
  if (c === "]") {
    scan.inClass--;
    return emit(scan, scan.inClass === 0 ? c : "", 1);
  }
  if ((c === "&" || c === "-" || c === "~") && pattern[i + 1] === c) return emit(scan, "", 2);
  return emit(scan, c, 1);
}

function openClass(scan: Scan): string | undefined {
  scan.inClass = 1;
  emit(scan, "[", 1);
  // A "]" or "^]" right after the opening bracket is a literal in Rust.
  if (scan.pattern[scan.i] === "^") emit(scan, "^", 1);
  return scan.pattern[scan.i] === "]" ? emit(scan, "\\]", 1) : undefined;
}

function group(scan: Scan): string | undefined {
  const rest = scan.pattern.slice(scan.i);
  if (/^\(\?<?[=!]/.test(rest)) return "lookaround is not supported";
  if (rest.startsWith("(?P<")) return emit(scan, "(?<", 4);
  if (rest.startsWith("(?<") || rest.startsWith("(?:")) return emit(scan, rest.slice(0, 3), 3);
  const flags = FLAG_GROUP.exec(rest);
  if (!flags) return `unsupported group syntax at offset ${scan.i}`;
  // Flags only change matching, not validity: a bare "(?i)" disappears, "(?i:" becomes "(?:".
  return emit(scan, flags[2] === ":" ? "(?:" : "", flags[0].length);
}

function stepAt(scan: Scan): Step {
  const c = scan.pattern[scan.i];
  if (c === "\\") return escape;
  if (scan.inClass > 0) return insideClass;
  if (c === "[") return openClass;
  if (c === "(" && scan.pattern[scan.i + 1] === "?") return group;
  return (s) => emit(s, c, 1);
}

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
  const scan: Scan = { pattern, i: 0, out: "", inClass: 0 };
  while (scan.i < pattern.length) {
    const problem = stepAt(scan)(scan);
    if (problem !== undefined) return problem;
  }
  try {
    new RegExp(scan.out, "u");
  } catch (err) {
    const message = (err as Error).message;
    const colon = message.lastIndexOf(": ");
    return colon >= 0 ? message.slice(colon + 2).toLowerCase() : message;
  }
  return undefined;
}

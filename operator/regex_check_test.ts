import { equal, notEqual } from "node:assert/strict";
import { checkRegex } from "./regex_check.ts";

Deno.test("checkRegex() accepts patterns the Rust regex crate accepts", async (t) => {
  for (
    const pattern of [
      "/api/v[0-9]+",
      "(?i)/Admin",
      "(?i:a)b",
      "(?P<id>[0-9]+)",
      "(?<id>[0-9]+)",
      "[a-z&&[^aeiou]]",
      "[[:alpha:]_]+",
      "\\pL+",
      "\\p{Lu}",
      "\\x{41}",
      "\\Aabc\\z",
      "[]a]",
      "[^]a]",
      "[(){}|/]",
      "[a[bc]d]",
      "[a--b]",
      "[a~~b]",
      "[[:^digit:]]",
      "(?i)(?s:a.)",
      "\\d+\\.\\d+",
      ".*",
    ]
  ) {
    await t.step(pattern, () => equal(checkRegex(pattern), undefined));
  }
});

Deno.test("checkRegex() rejects patterns the Rust regex crate rejects", async (t) => {
  for (
    const pattern of [
      "(?=x)",
      "(?!x)",
      "(?<=x)a",
      "(?<!x)a",
      "(a)\\1",
      "(?<n>a)\\k<n>",
      "a{",
      "[",
      "(abc",
      "a**",
      "\\y",
      "a\\",
      "[[:bogus:]]",
      "(?#comment)",
    ]
  ) {
    await t.step(pattern, () => notEqual(checkRegex(pattern), undefined));
  }
});

Deno.test("checkRegex() names the problem", () => {
  equal(checkRegex("/(?=admin)"), "lookaround is not supported");
  equal(checkRegex("(a)\\1"), "backreferences are not supported");
  equal(checkRegex("(abc"), "unterminated group");
  equal(checkRegex("a\\"), "trailing backslash");
  equal(checkRegex("[[:bogus:]]"), "unknown ASCII class at offset 1");
  equal(checkRegex("a(?#x)"), "unsupported group syntax at offset 1");
});

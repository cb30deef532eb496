import { equal } from "node:assert/strict";
import { contentHash } from "./content_hash.ts";

Deno.test("contentHash() returns the sha256 of the UTF-8 bytes with a prefix", async () => {
  equal(await contentHash(""), "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  equal(await contentHash("abc"), await contentHash(new TextEncoder().encode("abc")));
});

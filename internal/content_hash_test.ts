import { equal } from "node:assert/strict";
import { contentHash } from "./content_hash.ts";

Deno.test("contentHash() returns the sha256 of the UTF-8 bytes with a prefix", () => {
  equal(contentHash(""), "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  equal(contentHash("abc"), "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  equal(contentHash("abc"), contentHash(new TextEncoder().encode("abc")));
  equal(contentHash("é"), contentHash(new Uint8Array([0xc3, 0xa9])), "text is hashed as UTF-8");
});

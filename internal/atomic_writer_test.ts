import { deepStrictEqual, equal, rejects, throws } from "node:assert/strict";
import { writeFileAtomic, writeFileAtomicSync } from "./atomic_writer.ts";

Deno.test("writeFileAtomic() replaces the file and skips identical content", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/ghost.json`;
    equal(await writeFileAtomic(path, "one\n"), true);
    equal(await Deno.readTextFile(path), "one\n");
    const before = (await Deno.stat(path)).mtime;
    equal(await writeFileAtomic(path, "one\n"), false);
    deepStrictEqual((await Deno.stat(path)).mtime, before);
    equal(await writeFileAtomic(path, new TextEncoder().encode("two\n")), true);
    equal(await Deno.readTextFile(path), "two\n");
    equal((await Deno.stat(path)).mode! & 0o777, 0o644);
    // No temporary files stay behind.
    deepStrictEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["ghost.json"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("writeFileAtomic() never shows a reader a partial file", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/big.json`;
    const a = "a".repeat(1 << 20);
    const b = "b".repeat(1 << 20);
    await writeFileAtomic(path, a);
    let stop = false;
    const reader = (async () => {
      let reads = 0;
      while (!stop) {
        const text = await Deno.readTextFile(path);
        if (text !== a && text !== b) throw new Error(`Cannot read a whole file: got ${text.length} mixed bytes`);
        reads++;
      }
      return reads;
    })();
    for (let i = 0; i < 20; i++) await writeFileAtomic(path, i % 2 ? a : b);
    stop = true;
    await reader;
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("writeFileAtomic() fails when the directory is missing", async () => {
  await rejects(writeFileAtomic("/nonexistent-lacquer-dir/x", "x"), Deno.errors.NotFound);
});

Deno.test("writeFileAtomicSync() replaces the file with its exact mode, leaving no temporary file", () => {
  const dir = Deno.makeTempDirSync();
  try {
    const path = `${dir}/ghost.json.delta`;
    writeFileAtomicSync(path, "one\n");
    writeFileAtomicSync(path, new TextEncoder().encode("two\n"), 0o600);
    equal(Deno.readTextFileSync(path), "two\n");
    equal(Deno.statSync(path).mode! & 0o777, 0o600);
    deepStrictEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["ghost.json.delta"]);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
  throws(() => writeFileAtomicSync("/nonexistent-lacquer-dir/x", "x"), Deno.errors.NotFound);
});

Deno.test("writeFileAtomic() writes pieces of text one after the other, as UTF-8, and never skips them", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/ghost.json`;
    await writeFileAtomic(path, "old\n");
    const pieces = function* () {
      yield* ['{"a":', '"é"', "}\n"];
    };
    equal(await writeFileAtomic(path, pieces(), { durable: false }), true);
    equal(await Deno.readTextFile(path), '{"a":"é"}\n');
    // pieces are always written: nothing is compared
    equal(await writeFileAtomic(path, ['{"a":"é"}\n']), true);
    deepStrictEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["ghost.json"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

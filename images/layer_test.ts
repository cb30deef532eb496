import { equal, notEqual } from "node:assert/strict";
import { packLayer } from "./layer.ts";

async function tree(root: string, files: Record<string, string>, mtime: Date): Promise<void> {
  for (const [path, text] of Object.entries(files)) {
    await Deno.mkdir(`${root}/${path.slice(0, path.lastIndexOf("/"))}`, { recursive: true });
    await Deno.writeTextFile(`${root}/${path}`, text);
    await Deno.utime(`${root}/${path}`, mtime, mtime);
  }
}

Deno.test("packLayer() gives equal digests for equal files, whatever their times and creation order", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const files = { "usr/bin/a": "a", "usr/lib/b": "b", "opt/c": "c" };
    const reversed = Object.fromEntries(Object.entries(files).reverse());
    await tree(`${dir}/one`, files, new Date("2020-01-01"));
    await tree(`${dir}/two`, reversed, new Date());
    await tree(`${dir}/three`, { ...files, "opt/c": "changed" }, new Date("2020-01-01"));
    const one = await packLayer(`${dir}/one`, `${dir}/one.tar.gz`);
    const two = await packLayer(`${dir}/two`, `${dir}/two.tar.gz`);
    const three = await packLayer(`${dir}/three`, `${dir}/three.tar.gz`);
    equal(one.digest, two.digest);
    equal(one.diffId, two.diffId);
    notEqual(one.digest, three.digest);
    equal(one.size, (await Deno.stat(`${dir}/one.tar.gz`)).size);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

import { equal } from "node:assert/strict";
import { AdminTokenFile } from "./admin_token_file.ts";

Deno.test("AdminTokenFile.read() follows the file: missing, written, replaced, emptied, removed", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/token`;
    const file = new AdminTokenFile(path);
    equal(await file.read(), undefined);
    await Deno.writeTextFile(path, "first-token\n");
    equal(await file.read(), "first-token");
    equal(await file.read(), "first-token");
    // The kubelet replaces a mounted Secret's file by renaming a new one over it.
    await Deno.writeTextFile(`${dir}/next`, "second-token-longer");
    await Deno.rename(`${dir}/next`, path);
    equal(await file.read(), "second-token-longer");
    await Deno.writeTextFile(path, "  \n");
    equal(await file.read(), undefined);
    await Deno.remove(path);
    equal(await file.read(), undefined);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

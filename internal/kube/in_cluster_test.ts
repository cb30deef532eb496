import { deepStrictEqual, rejects, strictEqual } from "node:assert/strict";
import { inClusterCredentials } from "./in_cluster.ts";

const ENV: Record<string, string> = { KUBERNETES_SERVICE_HOST: "10.96.0.1", KUBERNETES_SERVICE_PORT: "443" };

async function serviceAccount(token: string): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "lacquer-sa-" });
  await Deno.writeTextFile(`${dir}/token`, token);
  await Deno.writeTextFile(`${dir}/ca.crt`, "CA");
  return dir;
}

Deno.test("inClusterCredentials() reads the server, token and CA of the service account", async () => {
  const dir = await serviceAccount("first\n");
  try {
    const credentials = await inClusterCredentials({ env: (name) => ENV[name], dir });
    strictEqual(credentials.server, "https://10.96.0.1:443");
    deepStrictEqual(await credentials.auth(), { headers: { Authorization: "Bearer first" }, ca: "CA" });
    const v6 = await inClusterCredentials({
      env: (name) => ({ ...ENV, KUBERNETES_SERVICE_HOST: "fd00::1" })[name],
      dir,
    });
    strictEqual(v6.server, "https://[fd00::1]:443");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("inClusterCredentials() reads a rotated token once the last read is a minute old", async () => {
  const dir = await serviceAccount("first");
  let clock = 0;
  try {
    const credentials = await inClusterCredentials({ env: (name) => ENV[name], dir, now: () => clock });
    await Deno.writeTextFile(`${dir}/token`, "second");
    clock = 59_999;
    strictEqual((await credentials.auth()).headers.Authorization, "Bearer first");
    clock = 60_000;
    strictEqual((await credentials.auth()).headers.Authorization, "Bearer second");
    // A file that cannot be read keeps the last token, and is read again by the next request.
    await Deno.remove(`${dir}/token`);
    clock = 120_000;
    strictEqual((await credentials.auth()).headers.Authorization, "Bearer second");
    await Deno.writeTextFile(`${dir}/token`, "third");
    clock = 120_001;
    strictEqual((await credentials.auth()).headers.Authorization, "Bearer third");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("inClusterCredentials() refresh() reads at once and says whether the token changed", async () => {
  const dir = await serviceAccount("first");
  try {
    const credentials = await inClusterCredentials({ env: (name) => ENV[name], dir, now: () => 0 });
    strictEqual(await credentials.refresh!(), false);
    await Deno.writeTextFile(`${dir}/token`, "second");
    strictEqual(await credentials.refresh!(), true);
    strictEqual((await credentials.auth()).headers.Authorization, "Bearer second");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("inClusterCredentials() fails at once without the environment or the files", async () => {
  await rejects(inClusterCredentials({ env: () => undefined }), TypeError);
  await rejects(
    inClusterCredentials({ env: (name) => ENV[name], dir: "/nonexistent" }),
    (err: Error) => err instanceof TypeError && /in-cluster configuration: .*nonexistent/.test(err.message),
  );
});

import { deepStrictEqual, match, notStrictEqual, strictEqual } from "node:assert/strict";
import { peerIdentity, peerSecret } from "./peer_identity.ts";

Deno.test("peerSecret is a stable HMAC of the admin token, different per token and unlike the token", async () => {
  const a = await peerSecret("token-a");
  match(a, /^[0-9a-f]{64}$/);
  strictEqual(await peerSecret("token-a"), a);
  notStrictEqual(await peerSecret("token-b"), a);
  strictEqual(a.includes("token-a"), false);
});

Deno.test("peerIdentity needs both the pod IP and the admin token", async () => {
  const token = (value: string | undefined) => ({ read: () => Promise.resolve(value) });
  strictEqual(await peerIdentity(undefined, token("t"))(), undefined);
  strictEqual(await peerIdentity("10.0.0.7", token(undefined))(), undefined);
  deepStrictEqual(await peerIdentity("10.0.0.7", token("t"))(), { address: "10.0.0.7", secret: await peerSecret("t") });
});

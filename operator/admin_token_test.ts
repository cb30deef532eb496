import { equal, match, notEqual, throws } from "node:assert/strict";
import { ADMIN_TOKEN_BYTES, adminTokenFromSecret, adminTokenSecretName, newAdminToken } from "./admin_token.ts";

Deno.test("adminTokenSecretName() names the Secret after the Gateway", () => {
  equal(adminTokenSecretName("shop"), "shop-lacquer-admin");
});

Deno.test("newAdminToken() encodes 32 bytes as base64url and refuses other sizes", () => {
  const a = newAdminToken(new Uint8Array(ADMIN_TOKEN_BYTES).fill(0xfb));
  match(a, /^[A-Za-z0-9_-]{43}$/);
  notEqual(a, newAdminToken(new Uint8Array(ADMIN_TOKEN_BYTES).fill(1)));
  throws(() => newAdminToken(new Uint8Array(16)), RangeError);
});

Deno.test("adminTokenFromSecret() decodes the token key and tells when there is none", () => {
  const token = newAdminToken(new Uint8Array(ADMIN_TOKEN_BYTES).fill(7));
  equal(adminTokenFromSecret({ data: { token: btoa(token) } }), token);
  equal(adminTokenFromSecret({ data: {} }), undefined);
  equal(adminTokenFromSecret({ data: null }), undefined);
  equal(adminTokenFromSecret({ data: { token: "" } }), undefined);
});

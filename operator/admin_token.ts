/**
 * The per-Gateway admin token: a random secret that the operator creates once in a Secret child, mounts read-only
 * into the gateway pods ({@linkcode ADMIN_TOKEN_PATH}) and presents as a bearer token to the chaperone's
 * authenticated admin endpoints (`POST /invalidate`, `/drain`). Nothing about it derives from public fields: it is
 * 32 random bytes, made when the Secret is created and never rewritten (a deleted Secret is created again, with a
 * new value, and the pods pick it up from the mounted file).
 *
 * @module
 */
import { Buffer } from "node:buffer";
import { ADMIN_TOKEN_KEY, ADMIN_TOKEN_PATH, gatewayChildName } from "../internal/names.ts";

export { ADMIN_TOKEN_KEY, ADMIN_TOKEN_PATH };

/** How many random bytes an admin token holds. */
export const ADMIN_TOKEN_BYTES = 32;

/**
 * Returns the name of a Gateway's admin token Secret: `<gateway>-lacquer-admin`, in the Gateway's namespace.
 *
 * @example Usage
 * ```ts
 * import { adminTokenSecretName } from "./admin_token.ts";
 * adminTokenSecretName("gw"); // "gw-lacquer-admin"
 * ```
 *
 * @param gateway The Gateway's name.
 * @returns The Secret's name.
 */
export function adminTokenSecretName(gateway: string): string {
  return `${gatewayChildName(gateway)}-admin`;
}

/**
 * Encodes random bytes as an admin token (base64url, no padding). The caller supplies the randomness.
 *
 * @example Usage
 * ```ts
 * import { ADMIN_TOKEN_BYTES, newAdminToken } from "./admin_token.ts";
 * const token = newAdminToken(new Uint8Array(ADMIN_TOKEN_BYTES)); // 43 characters
 * ```
 *
 * @param random {@linkcode ADMIN_TOKEN_BYTES} random bytes.
 * @returns The token text.
 * @throws {RangeError} When `random` does not hold {@linkcode ADMIN_TOKEN_BYTES} bytes.
 */
export function newAdminToken(random: Uint8Array): string {
  if (random.length !== ADMIN_TOKEN_BYTES) {
    throw new RangeError(
      `Cannot make an admin token: ${random.length} random bytes given, ${ADMIN_TOKEN_BYTES} needed`,
    );
  }
  return Buffer.from(random).toString("base64url");
}

/**
 * Reads the admin token out of a Gateway's admin token Secret as the API server returns it (`data` base64).
 *
 * @example Usage
 * ```ts
 * import { adminTokenFromSecret } from "./admin_token.ts";
 * adminTokenFromSecret({ data: { token: btoa("abc") } }); // "abc"
 * adminTokenFromSecret({}); // undefined
 * ```
 *
 * @param secret The Secret.
 * @returns The token, or undefined when the Secret holds none.
 */
export function adminTokenFromSecret(secret: { data?: Record<string, string> | null }): string | undefined {
  const encoded = secret.data?.[ADMIN_TOKEN_KEY];
  if (encoded === undefined || encoded === "") return undefined;
  return Buffer.from(encoded, "base64").toString("utf8");
}

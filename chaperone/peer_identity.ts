/**
 * What a gateway pod tells ghost about itself for the clustered cache: its IP and the Gateway's peer secret.
 *
 * The peer secret is derived from the Gateway's admin token (random, in a Secret only the operator and the gateway
 * pods read) with HMAC-SHA256, so it is the same in every pod of the Gateway, changes with the token and cannot be
 * computed from anything public; the admin token itself never reaches ghost.json.
 *
 * @module
 */
import type { AdminTokenFile } from "./admin_token_file.ts";
import type { PeerIdentity } from "./merge_endpoints.ts";

const PEER_SECRET_LABEL = "lacquer clustered cache peer secret v1";

/**
 * Derives the peer secret from the admin token.
 *
 * @example Usage
 * ```ts
 * import { peerSecret } from "./peer_identity.ts";
 * (await peerSecret("token")).length; // 64 hex digits
 * ```
 *
 * @param adminToken The Gateway's admin token.
 * @returns 64 hex digits.
 */
export async function peerSecret(adminToken: string): Promise<string> {
  const encoder = new TextEncoder();
  const key = await crypto.subtle.importKey(
    "raw",
    encoder.encode(adminToken),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  const mac = new Uint8Array(await crypto.subtle.sign("HMAC", key, encoder.encode(PEER_SECRET_LABEL)));
  return [...mac].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * Returns the pod's peer identity source for the sync loop: undefined without a pod IP or an admin token (ghost
 * then caches on its own, as without the clustered cache).
 *
 * @example Usage
 * ```ts
 * import { peerIdentity } from "./peer_identity.ts";
 * import { AdminTokenFile } from "./admin_token_file.ts";
 * const identity = peerIdentity("10.0.0.7", new AdminTokenFile("/var/run/lacquer-admin/token"));
 * await identity(); // { address: "10.0.0.7", secret: "…" } once the token file exists
 * ```
 *
 * @param podIp The pod's IP (`POD_IP`).
 * @param tokenFile The admin token file.
 * @returns The identity source.
 */
export function peerIdentity(
  podIp: string | undefined,
  tokenFile: Pick<AdminTokenFile, "read">,
): () => Promise<PeerIdentity | undefined> {
  return async () => {
    const token = await tokenFile.read();
    if (podIp === undefined || token === undefined) return undefined;
    return { address: podIp, secret: await peerSecret(token) };
  };
}

/**
 * Waits until RoleBindings the operator just gave itself are in effect: the API server's authorizer learns of a new
 * RoleBinding through its own watch, a moment after the write, and a Secret watch started before then fails with
 * 403 and backs off. A SelfSubjectAccessReview (which every authenticated user may create) asks the authorizer.
 *
 * @module
 */
import type { KubeClient } from "../internal/kube/mod.ts";

interface AccessReview {
  status?: { allowed?: boolean };
}

/** Options for {@linkcode waitForSecretAccess}. */
export interface SecretAccessWaitOptions {
  /** How long to wait in all. @default {10000} */
  timeoutMs?: number;
  /** Pause between two reviews of a namespace. @default {50} */
  intervalMs?: number;
}

/**
 * Resolves once the operator may list and watch Secrets in every given namespace.
 *
 * @example Usage
 * ```ts ignore
 * import { waitForSecretAccess } from "./secret_access_review.ts";
 * await waitForSecretAccess(client, ["web"]);
 * ```
 *
 * @param client The operator's client.
 * @param namespaces The namespaces.
 * @param options Timeout and interval.
 * @throws {Error} When a namespace's access is not in effect in time (the reconcile is retried).
 */
export async function waitForSecretAccess(
  client: KubeClient,
  namespaces: readonly string[],
  options: SecretAccessWaitOptions = {},
): Promise<void> {
  const deadline = performance.now() + (options.timeoutMs ?? 10_000);
  for (const namespace of namespaces) {
    for (const verb of ["list", "watch"]) {
      for (;;) {
        const review = await client.request<AccessReview>("/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", {
          method: "POST",
          body: {
            apiVersion: "authorization.k8s.io/v1",
            kind: "SelfSubjectAccessReview",
            spec: { resourceAttributes: { namespace, verb, resource: "secrets" } },
          },
        });
        if (review.status?.allowed) break;
        if (performance.now() > deadline) {
          throw new Error(
            `Cannot ${verb} Secrets in namespace ${namespace}: the operator's RoleBinding there is not in effect`,
          );
        }
        await new Promise((r) => setTimeout(r, options.intervalMs ?? 50));
      }
    }
  }
}

/**
 * Status computation, the last stage of translation: one module per kind of object whose status Lacquer writes,
 * each a pure function from what translation found (its facts) to conditions, tested by a table of cases.
 *
 * | module            | object and status                                                                   |
 * | ----------------- | ----------------------------------------------------------------------------------- |
 * | `conditions.ts`   | every condition type and reason, one constructor per outcome, `mergeConditions`     |
 * | `gateway_class.ts`| GatewayClass `Accepted`, `SupportedVersion`, `supportedFeatures`                     |
 * | `gateway.ts`      | Gateway `Accepted`, and the whole Gateway status                                    |
 * | `programmed.ts`   | Gateway `Programmed` and `addresses` (the gateway pods report what they applied)    |
 * | `data_plane.ts`   | what the gateway pods rejected, grouped over pods, VCL lines mapped to the user's    |
 * | `events.ts`       | which Kubernetes Events a computed status deserves, per object and topic             |
 * | `listener.ts`     | Gateway `status.listeners[]`                                                        |
 * | `listener_set.ts` | ListenerSet `Accepted`, `Programmed` and `status.listeners[]`                       |
 * | `route_parent.ts` | HTTPRoute `status.parents[]` entries of our controller, and their merge             |
 * | `cache_policy.ts` | CachePolicy `status.ancestors[]` (GEP-713): `Accepted`, `Conflicted`, `Invalid`, ...  |
 * | `backend_tls_policy.ts` | BackendTLSPolicy `status.ancestors[]`: each Gateway's own entry, from its translation |
 *
 * Each module follows one pattern: a `…Facts` interface (what translation found: problems with the spec's
 * reasons, never conditions), a `…Conditions(facts)` function returning `NewCondition`s (the table-tested part),
 * and a `…Status(…, now)` function assembling the whole status with `mergeConditions`, which keeps
 * `lastTransitionTime` unless a condition flipped. Writing status is the shell's job (`../status_writer.ts`).
 *
 * Policy status goes here the same way: a `<policy>.ts` module with its facts, conditions and status functions, its
 * reasons and constructors in `conditions.ts`, exported below. A policy's status depends on objects beyond one
 * Gateway (targets that may not exist, the other policies of its namespace), so CachePolicy status is computed per
 * policy by its own controller (`../cache_policy_controller.ts`) rather than in a Gateway's translation.
 *
 * @module
 */
export * from "./backend_tls_policy.ts";
export * from "./cache_policy.ts";
export * from "./conditions.ts";
export * from "./data_plane.ts";
export * from "./events.ts";
export * from "./gateway_class.ts";
export * from "./gateway.ts";
export * from "./listener.ts";
export * from "./listener_set.ts";
export * from "./programmed.ts";
export * from "./route_parent.ts";

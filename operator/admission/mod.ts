/**
 * Admission checks the operator serves as a validating webhook, where CEL in the CRDs and the chart's
 * ValidatingAdmissionPolicies cannot decide (`docs/admission.md`).
 *
 * | module           | what                                                                         |
 * | ---------------- | ---------------------------------------------------------------------------- |
 * | `validate.ts`    | an HTTPRoute or CachePolicy → refused (Rust regex syntax) or warnings (pure) |
 * | `review.ts`      | AdmissionReview in and out (pure)                                            |
 * | `webhook_pki.ts` | the webhook's CA and serving certificate, renewal                            |
 * | `webhook.ts`     | the HTTPS server, the certificates' Secret and the CA bundle                 |
 *
 * @module
 */
export * from "./validate.ts";
export * from "./review.ts";
export * from "./webhook_pki.ts";
export * from "./webhook.ts";

import { deepEqual, equal } from "node:assert/strict";
import type { Condition } from "./api_types.ts";
import { backendTlsProblem, BackendTlsProblems } from "./backend_tls_problems.ts";
import type { BackendTlsAncestorUpdate } from "./status/backend_tls_policy.ts";

const condition = (type: string, status: "True" | "False", reason: string, message = reason): Condition => ({
  type,
  status,
  reason,
  message,
});
const OK = [condition("Accepted", "True", "Accepted"), condition("ResolvedRefs", "True", "ResolvedRefs")];
const NO_CA = [
  condition("Accepted", "False", "NoValidCACertificate", "no caCertificateRef is usable"),
  condition("ResolvedRefs", "False", "InvalidCACertificateRef", 'ConfigMap "shop/ca": not found'),
];
const update = (key: string, gateway: string, conditions?: Condition[]): BackendTlsAncestorUpdate => ({
  key,
  gateway,
  ...(conditions
    ? { ancestor: { ancestorRef: {}, controllerName: "lacquer.dev/gateway-controller", conditions } }
    : {}),
});

Deno.test("backendTlsProblem() takes Accepted=False first, then ResolvedRefs=False, and nothing when both hold", () => {
  deepEqual(backendTlsProblem(update("shop/p", "shop/gw", NO_CA).ancestor!), {
    reason: "NoValidCACertificate",
    accepted: false,
    message: "no caCertificateRef is usable",
  });
  const partial = [condition("Accepted", "True", "Accepted"), condition("ResolvedRefs", "False", "InvalidKind")];
  deepEqual(backendTlsProblem(update("shop/p", "shop/gw", partial).ancestor!), {
    reason: "InvalidKind",
    accepted: true,
    message: "InvalidKind",
  });
  equal(backendTlsProblem(update("shop/p", "shop/gw", OK).ancestor!), undefined);
});

Deno.test("BackendTlsProblems.record() reports a policy's problem once per change, whichever Gateway computes it", () => {
  const problems = new BackendTlsProblems();
  equal(problems.record(update("shop/p", "shop/gw", OK)), undefined, "a usable policy is not news");
  equal(problems.record(update("shop/p", "shop/gw", NO_CA))?.problem?.reason, "NoValidCACertificate");
  // A reconcile storm, and a second Gateway using the policy: the same problem is not reported again.
  for (let i = 0; i < 5; i++) equal(problems.record(update("shop/p", "shop/gw", NO_CA)), undefined);
  equal(problems.record(update("shop/p", "web/gw", NO_CA)), undefined);
  // Another message is another problem.
  const other = [condition("Accepted", "False", "NoValidCACertificate", "it has no key ca.crt"), NO_CA[1]];
  equal(problems.record(update("shop/p", "shop/gw", other))?.problem?.message, "it has no key ca.crt");
  deepEqual(problems.record(update("shop/p", "web/gw", OK)), { policy: "shop/p", gateway: "web/gw" }, "resolved");
  equal(problems.record(update("shop/p", "shop/gw", OK)), undefined);
  equal(problems.record(update("new/q", "shop/gw", NO_CA))?.policy, "new/q", "a new policy with a problem is news");
});

Deno.test("BackendTlsProblems.counts() counts policies in use by reason, every reason listed", () => {
  const problems = new BackendTlsProblems();
  deepEqual(problems.counts(), {
    Conflicted: 0,
    Invalid: 0,
    NoValidCACertificate: 0,
    InvalidCACertificateRef: 0,
    InvalidKind: 0,
  });
  problems.record(update("shop/a", "shop/gw", NO_CA));
  problems.record(update("shop/a", "web/gw", NO_CA));
  problems.record(update("shop/b", "shop/gw", NO_CA));
  problems.record(update("shop/c", "shop/gw", [condition("Accepted", "False", "Conflicted")]));
  problems.record(update("shop/d", "shop/gw", OK));
  equal(problems.counts().NoValidCACertificate, 2, "a policy counts once, however many Gateways use it");
  equal(problems.counts().Conflicted, 1);
  // Used by no Gateway any more, or deleted: not counted.
  problems.record(update("shop/a", "shop/gw"));
  equal(problems.counts().NoValidCACertificate, 2, "web/gw still uses shop/a");
  equal(problems.counts((policy) => policy !== "shop/b").NoValidCACertificate, 1, "a policy that is gone");
  problems.record(update("shop/a", "web/gw"));
  problems.forget("shop/c");
  deepEqual(problems.counts(), {
    Conflicted: 0,
    Invalid: 0,
    NoValidCACertificate: 1,
    InvalidCACertificateRef: 0,
    InvalidKind: 0,
  });
});

import { deepEqual, equal } from "node:assert/strict";
import { operatorConfigSchema, operatorFlagsWithEnvironment } from "./options.ts";

Deno.test("operatorConfigSchema fills defaults", () => {
  const config = operatorConfigSchema.parse({});
  equal(config.leaderElect, false);
  equal(config.leaseName, "lacquer-operator");
  deepEqual(config.metricsAddress, { hostname: "0.0.0.0", port: 8080 });
  deepEqual(config.healthAddress, { hostname: "0.0.0.0", port: 8081 });
  equal(config.workers, 4);
  deepEqual(config.invalidationAddress, { hostname: "0.0.0.0", port: 8082 });
  equal(config.invalidationDeadline, 120_000);
  equal(config.invalidationRetention, 3_600_000);
});

Deno.test("operatorConfigSchema reads invalidation durations and refuses unusable ones", () => {
  const config = operatorConfigSchema.parse({ invalidationDeadline: "30s", invalidationRetention: "2h" });
  equal(config.invalidationDeadline, 30_000);
  equal(config.invalidationRetention, 7_200_000);
  equal(operatorConfigSchema.safeParse({ invalidationRetention: "0s" }).success, false);
  equal(operatorConfigSchema.safeParse({ invalidationDeadline: "soon" }).success, false);
});

Deno.test("operatorFlagsWithEnvironment() prefers flags over the environment", () => {
  const raw = operatorFlagsWithEnvironment({ leaseName: "a" }, {
    LACQUER_LEASE_NAME: "b",
    LACQUER_LEADER_ELECT: "true",
  });
  const config = operatorConfigSchema.parse(raw);
  equal(config.leaseName, "a");
  equal(config.leaderElect, true);
});

Deno.test("operatorConfigSchema rejects a bad address", () => {
  equal(operatorConfigSchema.safeParse({ metricsAddress: "nope" }).success, false);
});

Deno.test("operatorConfigSchema reads --watch-namespaces and refuses names that are no namespace", () => {
  equal(operatorConfigSchema.parse({}).watchNamespaces, undefined);
  deepEqual(operatorConfigSchema.parse({ watchNamespaces: " team-a, team-b,team-a," }).watchNamespaces, [
    "team-a",
    "team-b",
  ]);
  const raw = operatorFlagsWithEnvironment({}, { LACQUER_WATCH_NAMESPACES: "x" });
  deepEqual(operatorConfigSchema.parse(raw).watchNamespaces, ["x"]);
  equal(operatorConfigSchema.safeParse({ watchNamespaces: "Team_A" }).success, false);
  equal(operatorConfigSchema.safeParse({ watchNamespaces: " , " }).success, false);
});

Deno.test("operatorConfigSchema reads --secrets-cluster-role with the ServiceAccount it binds, and refuses it alone", () => {
  const config = operatorConfigSchema.parse({
    secretsClusterRole: "lacquer-operator-secrets",
    serviceAccount: "sys/op",
  });
  deepEqual(config.serviceAccount, { namespace: "sys", name: "op" });
  equal(config.secretsClusterRole, "lacquer-operator-secrets");
  equal(operatorConfigSchema.safeParse({ secretsClusterRole: "r" }).success, false);
  equal(operatorConfigSchema.safeParse({ secretsClusterRole: "r", serviceAccount: "op" }).success, false);
  equal(operatorConfigSchema.safeParse({ secretsClusterRole: "r", serviceAccount: "a/b/c" }).success, false);
});

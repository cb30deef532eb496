import { equal, notEqual, ok } from "node:assert/strict";
import { CA_DAYS, expiry, refreshPki, renewalDue, SERVING_DAYS } from "./webhook_pki.ts";

const NAMES = { dnsNames: ["lacquer-operator-webhook.lacquer-system.svc"], ipAddresses: ["127.0.0.1"] };
const DAY = 86_400_000;

Deno.test("refreshPki issues a CA and a serving certificate that Deno's TLS accepts for the names", async () => {
  const now = new Date();
  const { pki, changed } = await refreshPki(undefined, NAMES, now);
  ok(changed);
  equal(pki.caBundle, pki.caCert.trim() + "\n");
  ok(Math.abs(expiry(pki.cert).getTime() - now.getTime() - SERVING_DAYS * DAY) < 120_000);
  ok(Math.abs(expiry(pki.caCert).getTime() - now.getTime() - CA_DAYS * DAY) < 120_000);
  await using server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, cert: pki.cert, key: pki.key, onListen: () => {} },
    () => new Response("ok"),
  );
  using client = Deno.createHttpClient({ caCerts: [pki.caBundle] });
  const response = await fetch(`https://127.0.0.1:${server.addr.port}/`, { client });
  equal(await response.text(), "ok");
  // Unchanged while fresh.
  const again = await refreshPki(pki, NAMES, now);
  equal(again.changed, false);
  equal(again.pki, pki);
});

Deno.test("refreshPki renews the serving certificate late in its life and the CA with the old one kept in the bundle", async () => {
  const now = new Date();
  const { pki } = await refreshPki(undefined, NAMES, now);
  const late = new Date(now.getTime() + (SERVING_DAYS - 20) * DAY);
  ok(renewalDue(pki.cert, late));
  const served = await refreshPki(pki, NAMES, late);
  ok(served.changed);
  equal(served.pki.caCert, pki.caCert, "the CA stays");
  notEqual(served.pki.cert, pki.cert);
  const renamed = await refreshPki(pki, { dnsNames: ["other.svc"] }, now);
  ok(renamed.changed, "new names, new serving certificate");
  const caLate = new Date(now.getTime() + (CA_DAYS - 300) * DAY);
  const rotated = await refreshPki(pki, NAMES, caLate);
  notEqual(rotated.pki.caCert, pki.caCert);
  equal(
    rotated.pki.caBundle,
    `${rotated.pki.caCert.trim()}\n${pki.caCert.trim()}\n`,
    "old CA trusted until it expires",
  );
  const after = await refreshPki(rotated.pki, NAMES, new Date(now.getTime() + (CA_DAYS + 1) * DAY));
  equal(after.pki.caBundle, after.pki.caCert.trim() + "\n", "the expired CA leaves the bundle");
  ok(renewalDue("not a certificate", now));
});

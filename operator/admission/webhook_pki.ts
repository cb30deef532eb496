/**
 * The validating webhook's own certificates: a CA the operator generates (its certificate is the
 * ValidatingWebhookConfiguration's `caBundle`) and a serving certificate it signs for the webhook Service's DNS
 * names. ECDSA P-256, made with WebCrypto and `@peculiar/x509`. Lifetimes are long for the CA (5 years) and short for
 * the serving certificate (90 days); each is renewed when less than a third of its lifetime is left, and a renewed
 * CA keeps the previous one in the bundle until it expires, so the API server trusts the old serving certificate
 * while the new one spreads.
 *
 * @module
 */
import "reflect-metadata";
import * as x509 from "@peculiar/x509";

/** The PEM texts kept in the webhook's Secret. */
export interface WebhookPki {
  /** The current CA certificate. */
  caCert: string;
  /** Its key (PKCS #8). */
  caKey: string;
  /** The CA certificates the API server must trust: the current one, then a previous one until it expires. */
  caBundle: string;
  /** The serving certificate. */
  cert: string;
  /** Its key (PKCS #8). */
  key: string;
}

/** Lifetimes, in days. */
export const CA_DAYS = 5 * 365;
/** The serving certificate's lifetime, in days. */
export const SERVING_DAYS = 90;

const DAY_MS = 86_400_000;
const ALGORITHM = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" } as const;

async function keyPair(): Promise<CryptoKeyPair> {
  return await crypto.subtle.generateKey(ALGORITHM, true, ["sign", "verify"]) as CryptoKeyPair;
}

async function keyPem(key: CryptoKey): Promise<string> {
  return x509.PemConverter.encode(await crypto.subtle.exportKey("pkcs8", key), "PRIVATE KEY");
}

async function importKey(pem: string): Promise<CryptoKey> {
  return await crypto.subtle.importKey("pkcs8", x509.PemConverter.decodeFirst(pem), ALGORITHM, true, ["sign"]);
}

function serial(): string {
  return [...crypto.getRandomValues(new Uint8Array(16))].map((b) => b.toString(16).padStart(2, "0")).join("")
    .replace(/^[89a-f]/, "1");
}

/**
 * Whether a certificate should be replaced: unreadable, or less than a third of its lifetime left at `now`.
 *
 * @example Usage
 * ```ts ignore
 * import { renewalDue } from "./webhook_pki.ts";
 * renewalDue(pki.cert, new Date()); // false for a fresh certificate
 * ```
 *
 * @param pem The certificate.
 * @param now The time.
 * @returns Whether to renew it.
 */
export function renewalDue(pem: string, now: Date): boolean {
  try {
    const cert = new x509.X509Certificate(pem);
    const lifetime = cert.notAfter.getTime() - cert.notBefore.getTime();
    return cert.notAfter.getTime() - now.getTime() < lifetime / 3;
  } catch {
    return true;
  }
}

/**
 * When a certificate expires.
 *
 * @param pem The certificate.
 * @returns Its `notAfter`.
 */
export function expiry(pem: string): Date {
  return new x509.X509Certificate(pem).notAfter;
}

/** Names the serving certificate is valid for. */
export interface ServingNames {
  /** DNS names (the webhook Service's). */
  dnsNames: readonly string[];
  /** IP addresses (for a webhook reached by URL, as in tests). */
  ipAddresses?: readonly string[];
}

async function issueCa(now: Date): Promise<{ caCert: string; caKey: string }> {
  const keys = await keyPair();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    name: `CN=lacquer-webhook-ca-${now.getTime()}`,
    notBefore: new Date(now.getTime() - 60_000),
    notAfter: new Date(now.getTime() + CA_DAYS * DAY_MS),
    keys,
    signingAlgorithm: ALGORITHM,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { caCert: cert.toString("pem"), caKey: await keyPem(keys.privateKey) };
}

async function issueServing(
  ca: { caCert: string; caKey: string },
  names: ServingNames,
  now: Date,
): Promise<{ cert: string; key: string }> {
  const keys = await keyPair();
  const caCert = new x509.X509Certificate(ca.caCert);
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject: `CN=${names.dnsNames[0] ?? names.ipAddresses?.[0] ?? "lacquer-webhook"}`,
    issuer: caCert.subject,
    notBefore: new Date(now.getTime() - 60_000),
    notAfter: new Date(now.getTime() + SERVING_DAYS * DAY_MS),
    signingKey: await importKey(ca.caKey),
    publicKey: keys.publicKey,
    signingAlgorithm: ALGORITHM,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension([
        ...names.dnsNames.map((value) => ({ type: "dns" as const, value })),
        ...(names.ipAddresses ?? []).map((value) => ({ type: "ip" as const, value })),
      ]),
      await x509.AuthorityKeyIdentifierExtension.create(caCert, false),
    ],
  });
  return { cert: cert.toString("pem"), key: await keyPem(keys.privateKey) };
}

/** Whether a serving certificate names exactly these DNS names and addresses. */
function namesMatch(pem: string, names: ServingNames): boolean {
  try {
    const san = new x509.X509Certificate(pem).getExtension(x509.SubjectAlternativeNameExtension);
    const have = (san?.names.items ?? []).map((n) => `${n.type}:${n.value}`).sort();
    const want = [
      ...names.dnsNames.map((n) => `dns:${n}`),
      ...(names.ipAddresses ?? []).map((n) => `ip:${n}`),
    ].sort();
    return JSON.stringify(have) === JSON.stringify(want);
  } catch {
    return false;
  }
}

/**
 * Returns the PKI to use from what the Secret holds: unchanged while every certificate is fresh and names the right
 * hosts, else with a new CA (the previous one kept in the bundle while valid) and/or a new serving certificate.
 *
 * @example Usage
 * ```ts ignore
 * import { refreshPki } from "./webhook_pki.ts";
 * const { pki, changed } = await refreshPki(undefined, { dnsNames: ["webhook.lacquer-system.svc"] }, new Date());
 * ```
 *
 * @param current What the Secret holds, if anything.
 * @param names The serving certificate's names.
 * @param now The time.
 * @returns The PKI, and whether it differs from `current`.
 */
export async function refreshPki(
  current: WebhookPki | undefined,
  names: ServingNames,
  now: Date,
): Promise<{ pki: WebhookPki; changed: boolean }> {
  let ca = current && !renewalDue(current.caCert, now) ? { caCert: current.caCert, caKey: current.caKey } : undefined;
  const fresh = !ca;
  ca ??= await issueCa(now);
  // The current CA first, then earlier ones of the bundle until they expire.
  const earlier = (current?.caBundle.match(PEM_BLOCK) ?? [current?.caCert ?? ""])
    .filter((pem) => pem !== "" && pem.trim() !== ca.caCert.trim() && !expiredAt(pem, now));
  const caBundle = [ca.caCert.trim(), ...earlier.map((p) => p.trim())].join("\n") + "\n";
  const servingOk = current && !fresh && caBundle === current.caBundle && !renewalDue(current.cert, now) &&
    namesMatch(current.cert, names);
  if (servingOk) return { pki: current, changed: false };
  const serving = fresh || !current || renewalDue(current.cert, now) || !namesMatch(current.cert, names)
    ? await issueServing(ca, names, now)
    : { cert: current.cert, key: current.key };
  return { pki: { ...ca, caBundle, ...serving }, changed: true };
}

const PEM_BLOCK = /-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g;

function expiredAt(pem: string, now: Date): boolean {
  try {
    return expiry(pem).getTime() <= now.getTime();
  } catch {
    return true;
  }
}

/**
 * A TLS ClientHello record, for probing whether a TLS server serves: a server that reads it answers (a ServerHello, or
 * an alert), while a listening socket nobody accepts from stays silent. Pure.
 *
 * @module
 */

/** ECDHE with AES-GCM and ChaCha20-Poly1305, for ECDSA and RSA certificates (TLS 1.2, which hitch always offers). */
const CIPHER_SUITES = [0xc02b, 0xc02f, 0xc02c, 0xc030, 0xcca9, 0xcca8];
/** x25519, secp256r1, secp384r1. */
const GROUPS = [0x001d, 0x0017, 0x0018];
/** ECDSA and RSA-PSS/PKCS#1 with SHA-256, -384 and -512. */
const SIGNATURE_ALGORITHMS = [0x0403, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501, 0x0806, 0x0601];

function u16(n: number): number[] {
  return [(n >> 8) & 0xff, n & 0xff];
}

function u16List(values: readonly number[]): number[] {
  return [...u16(values.length * 2), ...values.flatMap(u16)];
}

function extension(type: number, data: readonly number[]): number[] {
  return [...u16(type), ...u16(data.length), ...data];
}

/**
 * Builds a TLS 1.2 ClientHello record.
 *
 * @example Usage
 * ```ts
 * import { tlsClientHello } from "./tls_client_hello.ts";
 * const hello = tlsClientHello({ random: new Uint8Array(32) });
 * hello[0]; // 0x16: a handshake record
 * ```
 *
 * @param options The 32 random bytes, and the server name to send (SNI); none: no SNI, the server's default
 * certificate.
 * @returns The record's bytes.
 * @throws {RangeError} When `random` is not 32 bytes long.
 */
export function tlsClientHello(options: { random: Uint8Array; serverName?: string }): Uint8Array {
  if (options.random.length !== 32) {
    throw new RangeError(`Cannot build a ClientHello: random has ${options.random.length} bytes, not 32`);
  }
  const name = options.serverName === undefined ? [] : [...new TextEncoder().encode(options.serverName)];
  const extensions = [
    ...(name.length > 0 ? extension(0x0000, [...u16(name.length + 3), 0x00, ...u16(name.length), ...name]) : []),
    ...extension(0x000a, u16List(GROUPS)),
    ...extension(0x000b, [0x01, 0x00]),
    ...extension(0x000d, u16List(SIGNATURE_ALGORITHMS)),
  ];
  const body = [
    0x03,
    0x03,
    ...options.random,
    0x00, // no session id
    ...u16List(CIPHER_SUITES),
    0x01,
    0x00, // no compression
    ...u16(extensions.length),
    ...extensions,
  ];
  const handshake = [0x01, (body.length >> 16) & 0xff, ...u16(body.length & 0xffff), ...body];
  return new Uint8Array([0x16, 0x03, 0x01, ...u16(handshake.length), ...handshake]);
}

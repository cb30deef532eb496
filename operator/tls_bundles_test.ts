import { equal } from "node:assert/strict";
import { pemBundle } from "./tls_bundles.ts";

Deno.test("pemBundle() puts the key before the chain, with Unix line ends and one final newline", () => {
  equal(
    pemBundle("-----BEGIN CERTIFICATE-----\r\nA\r\n-----END CERTIFICATE-----\r\n\r\n", "\nK\n"),
    "K\n-----BEGIN CERTIFICATE-----\nA\n-----END CERTIFICATE-----\n",
  );
});

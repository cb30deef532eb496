import { equal } from "node:assert/strict";
import { countEstablished, openClientSessions } from "./client_sessions.ts";

const TABLE = `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000:0050 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 11 1 0 100 0 0 10 0
   1: 0100007F:0050 0100007F:D431 01 00000000:00000000 00:00000000 00000000     0        0 12 1 0 20 4 30 10 -1
   2: 0100007F:D431 0100007F:0050 01 00000000:00000000 00:00000000 00000000     0        0 13 1 0 20 4 30 10 -1
   3: 0100007F:0050 0100007F:D433 06 00000000:00000000 03:00000F9F 00000000     0        0 0 3 0
   4: 0100007F:17CB 0100007F:D435 01 00000000:00000000 00:00000000 00000000     0        0 14 1 0 20 4 30 10 -1
`;
const TABLE6 = `  sl  local_address                         remote_address                        st
   0: 00000000000000000000000001000000:01BB 00000000000000000000000001000000:E002 01 00000000:00000000 00:00000000
`;

Deno.test("countEstablished() counts established connections to the listener ports only", () => {
  // :80 listening (0A), :80 established (server side), the client side of that connection (local port 54321),
  // :80 in TIME_WAIT (06), and the ghost control port 6091.
  equal(countEstablished(TABLE, new Set([80])), 1);
  equal(countEstablished(TABLE, new Set([80, 6091])), 2);
  equal(countEstablished(TABLE6, new Set([443])), 1);
  equal(countEstablished("", new Set([80])), 0);
});

Deno.test("openClientSessions() sums the tables and counts a missing one as empty", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/tcp`, TABLE);
    await Deno.writeTextFile(`${dir}/tcp6`, TABLE6);
    equal(await openClientSessions(new Set([80, 443]), [`${dir}/tcp`, `${dir}/tcp6`, `${dir}/missing`]), 2);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("openClientSessions() sees a real connection to a local listener", async () => {
  using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = listener.addr.port;
  equal(await openClientSessions(new Set([port])), 0);
  using _client = await Deno.connect({ hostname: "127.0.0.1", port });
  using _server = await listener.accept();
  equal(await openClientSessions(new Set([port])), 1);
});

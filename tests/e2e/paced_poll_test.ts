import { equal, ok, rejects } from "node:assert/strict";
import { KeepAliveClient } from "./keep_alive_client.ts";
import { pollUntil } from "./paced_poll.ts";
import { rawServer } from "./_test_raw_server.ts";

Deno.test("pollUntil: asks until the answer is right, over every connection, and says when it came", async () => {
  let asked = 0;
  // a slow server (20 ms a request): the right answer from the 10th request on
  const server = rawServer(() => {
    const body = ++asked >= 10 ? "yes" : "no!";
    return `HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\n${body}`;
  }, 20);
  const clients = [0, 1, 2].map(() => new KeepAliveClient("127.0.0.1", server.port));
  const before = performance.timeOrigin + performance.now();
  const result = await pollUntil(clients, "a.example", (a) => a === "200 yes", {
    deadline: performance.now() + 10_000,
  });
  equal(result.answer, "200 yes");
  ok(result.at >= before && result.at <= performance.timeOrigin + performance.now());
  // the right answer's request went out at least one slow round trip before it came back
  ok(result.sent >= before && result.sent <= result.at - 15, `sent ${result.sent - before}, at ${result.at - before}`);
  ok(result.requests >= 10, `${result.requests} requests`);
  // three connections, each with a request in flight: the slow round trips overlap
  equal(server.accepted(), 3);
  ok(performance.timeOrigin + performance.now() - before < 10 * 20, "the requests overlapped");
  for (const client of clients) client.close();
  await server.close();
});

Deno.test("pollUntil: past the deadline it throws with the last answer", async () => {
  const server = rawServer(() => "HTTP/1.1 404 Not Found\r\nContent-Length: 4\r\n\r\nnope");
  using client = new KeepAliveClient("127.0.0.1", server.port);
  await rejects(
    pollUntil([client], "a.example", (a) => a.startsWith("200"), { deadline: performance.now() + 50, minGapMs: 5 }),
    /a\.example: answered 404 nope/,
  );
  client.close();
  await server.close();
});

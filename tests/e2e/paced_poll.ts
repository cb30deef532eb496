/**
 * Asks one server the same question until the answer is right, over a few kept-alive connections whose requests are
 * spread evenly over a round trip: on a loaded machine a round trip is several milliseconds of scheduling, and one
 * connection would see a change only a whole round trip after the request before it went out; `n` connections see
 * it within a round trip and 1/n, at `n` times the requests (what the propagation bench polls each gateway pod with).
 *
 * @module
 */
import type { KeepAliveClient } from "./keep_alive_client.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const wall = () => performance.timeOrigin + performance.now();

/** What {@linkcode pollUntil} saw. */
export interface PollResult {
  /** When the right answer was received (wall clock, ms since the epoch): an upper bound of when it was right. */
  at: number;
  /**
   * When the request it answered was sent (wall clock): the server took it on after that, so the change was in effect
   * by then, give or take the request's way in; `at` adds the answer's round trip (an upstream's answer included).
   */
  sent: number;
  /** The right answer. */
  answer: string;
  /** The requests sent. */
  requests: number;
}

/**
 * Sends `GET /` with Host `host` over `clients` until `ok` takes an answer; a request goes out at most every
 * `minGapMs`, and at most every round trip / `clients.length` (round trips averaged as they come).
 *
 * @example Usage
 * ```ts ignore
 * import { KeepAliveClient } from "./keep_alive_client.ts";
 * import { pollUntil } from "./paced_poll.ts";
 * const clients = [new KeepAliveClient(ip, 80), new KeepAliveClient(ip, 80)];
 * const { at } = await pollUntil(clients, "h1.example", (a) => a.startsWith("200 "), { deadline: performance.now() + 60_000 });
 * ```
 *
 * @param clients The connections to the server (one request in flight on each).
 * @param host The Host header.
 * @param ok Whether an answer (`<status> <body>`, or `error <message>`) is the one awaited.
 * @param options `deadline` (a `performance.now()` time) after which it throws with the last answer; `minGapMs`.
 * @returns When the right answer came, and how many requests it took.
 */
export async function pollUntil(
  clients: readonly KeepAliveClient[],
  host: string,
  ok: (answer: string) => boolean,
  options: { deadline: number; minGapMs?: number },
): Promise<PollResult> {
  const minGap = options.minGapMs ?? 1;
  let result: PollResult | undefined;
  let failure: Error | undefined;
  let lastSent = -Infinity;
  let roundTrip = minGap;
  let requests = 0;
  const stopped = () => result !== undefined || failure !== undefined;
  await Promise.all(clients.map(async (client) => {
    while (!stopped()) {
      const gap = Math.max(minGap, roundTrip / clients.length);
      const wait = lastSent + gap - performance.now();
      if (wait > 0) {
        await sleep(wait);
        continue;
      }
      const sent = lastSent = performance.now();
      const answer = await client.get(host).catch((err) => `error ${(err as Error).message}`);
      requests++;
      roundTrip = 0.8 * roundTrip + 0.2 * (performance.now() - sent);
      if (stopped()) return;
      if (ok(answer)) result = { at: wall(), sent: performance.timeOrigin + sent, answer, requests };
      else if (performance.now() > options.deadline) failure = new Error(`${host}: answered ${answer.slice(0, 200)}`);
    }
  }));
  if (failure) throw failure;
  return { ...result!, requests };
}

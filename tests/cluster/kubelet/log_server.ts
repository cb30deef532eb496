/**
 * The kubelet API subset `kubectl logs` needs: `GET /containerLogs/{namespace}/{pod}/{container}` with `sinceTime`,
 * `sinceSeconds`, `tailLines`, `limitBytes`, `timestamps`, `previous` and `follow`. A `Request → Response` handler;
 * the kubelet serves it over TLS.
 *
 * @module
 */
import { filterLog, type LogFilter } from "./container_log.ts";

/** Finds the log file of a container: `undefined` when the pod or container is unknown. */
export type LogFileLookup = (
  ref: { namespace: string; pod: string; container: string; previous: boolean },
) => { file: string | undefined; active: () => boolean } | undefined;

/**
 * Handles one kubelet API request.
 *
 * @param request The request.
 * @param lookup Finds log files.
 * @returns The response.
 */
export async function handleKubeletRequest(request: Request, lookup: LogFileLookup): Promise<Response> {
  const url = new URL(request.url);
  if (url.pathname === "/healthz") return new Response("ok");
  const m = /^\/containerLogs\/([^/]+)\/([^/]+)\/([^/]+)$/.exec(url.pathname);
  if (!m || request.method !== "GET") return new Response("not found", { status: 404 });
  const q = url.searchParams;
  const found = lookup({
    namespace: decodeURIComponent(m[1]),
    pod: decodeURIComponent(m[2]),
    container: decodeURIComponent(m[3]),
    previous: q.get("previous") === "true",
  });
  if (!found) return new Response(`container "${m[3]}" of pod "${m[1]}/${m[2]}" not found`, { status: 404 });
  const filter: LogFilter = { timestamps: q.get("timestamps") === "true" };
  if (q.get("sinceTime")) filter.since = new Date(q.get("sinceTime")!);
  if (q.get("sinceSeconds")) filter.since = new Date(Date.now() - Number(q.get("sinceSeconds")) * 1000);
  if (q.get("tailLines")) filter.tailLines = Number(q.get("tailLines"));
  if (q.get("limitBytes")) filter.limitBytes = Number(q.get("limitBytes"));
  const read = async () => (found.file ? await Deno.readTextFile(found.file).catch(() => "") : "");
  const stored = await read();
  const first = filterLog(stored, filter);
  if (q.get("follow") !== "true") return new Response(first, { headers: { "content-type": "text/plain" } });
  let offset = stored.length;
  const enc = new TextEncoder();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(enc.encode(first));
      const poll = async () => {
        const text = await read();
        if (text.length > offset) {
          const nl = text.lastIndexOf("\n");
          if (nl >= offset) {
            controller.enqueue(enc.encode(filterLog(text.slice(offset, nl + 1), { timestamps: filter.timestamps })));
            offset = nl + 1;
          }
        }
        if (!found.active()) return controller.close();
        timer = setTimeout(poll, 250);
      };
      timer = setTimeout(poll, 250);
    },
    cancel() {
      clearTimeout(timer);
    },
  });
  return new Response(body, { headers: { "content-type": "text/plain" } });
}

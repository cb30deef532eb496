import { strictEqual } from "node:assert/strict";
import { formatLogLine } from "./container_log.ts";
import { handleKubeletRequest, type LogFileLookup } from "./log_server.ts";

Deno.test("handleKubeletRequest() serves a container's log with sinceTime and tailLines", async () => {
  const file = await Deno.makeTempFile();
  try {
    await Deno.writeTextFile(
      file,
      formatLogLine(new Date("2026-01-01T00:00:00Z"), { stream: "stdout", text: "old" }) +
        formatLogLine(new Date("2026-01-01T00:00:05Z"), { stream: "stdout", text: "new" }) +
        formatLogLine(new Date("2026-01-01T00:00:06Z"), { stream: "stderr", text: "newest" }),
    );
    const lookup: LogFileLookup = (ref) =>
      ref.namespace === "ns" && ref.pod === "p" && ref.container === "c" ? { file, active: () => true } : undefined;
    const get = async (path: string) => {
      const r = await handleKubeletRequest(new Request(`https://kubelet${path}`), lookup);
      return [r.status, await r.text()];
    };
    strictEqual((await get("/containerLogs/ns/p/c"))[1], "old\nnew\nnewest\n");
    strictEqual((await get("/containerLogs/ns/p/c?sinceTime=2026-01-01T00:00:05Z"))[1], "new\nnewest\n");
    strictEqual(
      (await get("/containerLogs/ns/p/c?tailLines=1&timestamps=true"))[1],
      "2026-01-01T00:00:06.000000000Z newest\n",
    );
    strictEqual((await get("/containerLogs/ns/p/other"))[0], 404);
    strictEqual((await get("/exec/ns/p/c"))[0], 404);
  } finally {
    await Deno.remove(file);
  }
});

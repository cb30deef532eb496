/**
 * Runs readiness and liveness probes (httpGet, tcpSocket, exec) against a container in its pod's network.
 *
 * @module
 */
import type { Container, Probe } from "./types.ts";

/** Where a probe runs. */
export interface ProbeTarget {
  /** The pod IP. */
  podIp: string;
  /** The pod's network namespace path, for exec probes. */
  netnsPath: string;
  /** The container (for named ports). */
  container: Container;
  /** The container's environment, for exec probes. */
  env: Record<string, string>;
}

function resolvePort(port: number | string, container: Container): number {
  if (typeof port === "number") return port;
  const named = container.ports?.find((p) => p.name === port);
  return named ? named.containerPort : Number(port);
}

/**
 * Runs one probe attempt.
 *
 * @param probe The probe.
 * @param target The container and its network.
 * @returns Whether the probe succeeded.
 */
export async function runProbe(probe: Probe, target: ProbeTarget): Promise<boolean> {
  const timeoutMs = (probe.timeoutSeconds ?? 1) * 1000;
  try {
    if (probe.httpGet) {
      const g = probe.httpGet;
      const scheme = (g.scheme ?? "HTTP").toLowerCase();
      const url = `${scheme}://${g.host ?? target.podIp}:${resolvePort(g.port, target.container)}${g.path ?? "/"}`;
      const response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
      await response.body?.cancel();
      return response.status >= 200 && response.status < 400;
    }
    if (probe.tcpSocket) {
      const conn = await Deno.connect({
        hostname: target.podIp,
        port: resolvePort(probe.tcpSocket.port, target.container),
      });
      conn.close();
      return true;
    }
    if (probe.exec) {
      const out = await new Deno.Command("nsenter", {
        args: [`--net=${target.netnsPath}`, "--", ...probe.exec.command],
        env: target.env,
        clearEnv: true,
        stdin: "null",
        stdout: "null",
        stderr: "null",
        signal: AbortSignal.timeout(timeoutMs),
      }).output();
      return out.code === 0;
    }
  } catch {
    return false;
  }
  return true;
}

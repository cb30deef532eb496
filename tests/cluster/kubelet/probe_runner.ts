/**
 * Runs readiness and liveness probes (httpGet, tcpSocket, exec) against a container in its pod's network.
 *
 * @module
 */
import type { Container, LifecycleHandler, Probe } from "./types.ts";

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
  /** The container's process: exec probes and hooks join its network and mount namespaces when given. */
  pid?: number;
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
export async function runProbe(
  probe: Probe & Pick<LifecycleHandler, "httpGet">,
  target: ProbeTarget,
): Promise<boolean> {
  const timeoutMs = (probe.timeoutSeconds ?? 1) * 1000;
  try {
    if (probe.httpGet) {
      const g = probe.httpGet;
      const scheme = (g.scheme ?? "HTTP").toLowerCase();
      const url = `${scheme}://${g.host ?? target.podIp}:${resolvePort(g.port, target.container)}${g.path ?? "/"}`;
      const headers = new Headers((g as LifecycleHandler["httpGet"])?.httpHeaders?.map((h) => [h.name, h.value]));
      const response = await fetch(url, { headers, signal: AbortSignal.timeout(timeoutMs) });
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
        args: [
          ...(target.pid ? ["-t", String(target.pid), "-n", "-m"] : [`--net=${target.netnsPath}`]),
          "--",
          ...probe.exec.command,
        ],
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

/**
 * Runs a preStop hook (httpGet, exec or sleep), bounded by `timeoutMs`.
 *
 * @param hook The hook.
 * @param options The container, its network and the time limit.
 * @returns Whether the hook succeeded.
 */
export async function runHook(
  hook: LifecycleHandler,
  options: ProbeTarget & { timeoutMs: number },
): Promise<boolean> {
  if (hook.sleep) {
    await new Promise((r) => setTimeout(r, Math.min(hook.sleep!.seconds * 1000, options.timeoutMs)));
    return true;
  }
  return await runProbe({ ...hook, timeoutSeconds: options.timeoutMs / 1000 }, options);
}

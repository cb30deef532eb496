/**
 * LoadBalancer addresses for the local cluster, as MetalLB would assign them: every Service of type LoadBalancer
 * (without another `loadBalancerClass`) gets an address from a private pool and `status.loadBalancer.ingress` says so;
 * a Service that asks for addresses (`spec.loadBalancerIP`, or several in MetalLB's annotation) gets all of them when
 * each is in the pool and free, else none, and its condition `lacquer.dev/LoadBalancerAddresses` says why (the
 * operator reports it on the Gateway). kube-proxy on the node programs those addresses, like every ClusterIP.
 *
 * @module
 */
import { createReflector, type KubeClient, type KubeObject } from "../../internal/kube/mod.ts";
import type { Logger } from "../../internal/log.ts";
import { LB_ADDRESSES_CONDITION, LB_IPS_ANNOTATION } from "../../internal/names.ts";
import { LB_POOL_PREFIX } from "./layout.ts";
import { assignAddresses } from "./lb_pool.ts";

interface Service extends KubeObject {
  spec: {
    type?: string;
    loadBalancerClass?: string;
    loadBalancerIP?: string;
  };
  status?: {
    loadBalancer?: { ingress?: { ip?: string }[] };
    conditions?: { type: string; status: string; message?: string }[];
  };
}

/** The addresses a Service asks for: MetalLB's annotation, else `spec.loadBalancerIP`. */
function requestedIps(svc: Service): string[] {
  const listed = svc.metadata.annotations?.[LB_IPS_ANNOTATION];
  if (listed) return listed.split(",").map((ip) => ip.trim()).filter((ip) => ip);
  return svc.spec.loadBalancerIP ? [svc.spec.loadBalancerIP] : [];
}

/** A running controller. */
export interface ServiceController {
  /** Stops watching. */
  stop(): Promise<void>;
}

/**
 * Starts the LoadBalancer address controller.
 *
 * @param client API client.
 * @param options Logger.
 * @returns The controller.
 */
export async function startServiceController(
  client: KubeClient,
  options: { log: Logger },
): Promise<ServiceController> {
  const { log } = options;
  /** LoadBalancer addresses per Service key. */
  const lbAddresses = new Map<string, string[]>();
  let stopped = false;
  let queue = Promise.resolve();
  const enqueue = (key: string) => {
    queue = queue.then(() => reconcile(key)).catch((err) => log.warn("Service reconcile failed", { key, err }));
  };
  const services = createReflector<Service>(client, {
    path: "/api/v1/services",
    onChange: (o, c) => enqueue(`${(c ?? o)!.metadata.namespace}/${(c ?? o)!.metadata.name}`),
    log,
  });

  async function reconcile(key: string): Promise<void> {
    if (stopped) return;
    const svc = services.get(key);
    // 1. the LoadBalancer address
    // a Service that names another load balancer class is not ours
    const isLb = svc?.spec.type === "LoadBalancer" && !svc.spec.loadBalancerClass;
    let lb = lbAddresses.get(key);
    let problem: string | undefined;
    if (isLb) {
      const requested = requestedIps(svc);
      const keep = lb && (requested.length === 0 || requested.join(",") === lb.join(","));
      if (!keep) {
        const used = new Set([...lbAddresses].filter(([k]) => k !== key).flatMap(([, ips]) => ips));
        // without a request, the address it had survives a restart of this controller
        const assignment = assignAddresses({
          prefix: LB_POOL_PREFIX,
          used,
          requested,
          current: svc.status?.loadBalancer?.ingress?.[0]?.ip,
        });
        problem = assignment.problem;
        lb = assignment.addresses;
        if (lb) {
          lbAddresses.set(key, lb);
          log.info("LoadBalancer addresses assigned", { service: key, addresses: lb });
        } else {
          lbAddresses.delete(key);
          log.warn("LoadBalancer addresses not assigned", { service: key, problem });
        }
      }
    } else if (lb) {
      lbAddresses.delete(key);
      log.info("LoadBalancer addresses released", { service: key, addresses: lb });
      lb = undefined;
    }
    // 2. the status
    if (svc && isLb) await writeStatus(svc, lb ?? [], problem);
  }

  async function writeStatus(svc: Service, ips: readonly string[], problem: string | undefined) {
    const current = svc.status?.conditions?.find((c) => c.type === LB_ADDRESSES_CONDITION);
    const status = problem ? "False" : "True";
    const message = problem ?? `assigned ${ips.join(", ")}`;
    const currentIps = (svc.status?.loadBalancer?.ingress ?? []).map((i) => i.ip).join(",");
    if (currentIps === ips.join(",") && current?.status === status && current.message === message) return;
    const others = (svc.status?.conditions ?? []).filter((c) => c.type !== LB_ADDRESSES_CONDITION);
    const condition = {
      type: LB_ADDRESSES_CONDITION,
      status,
      reason: problem ? "AddressNotUsable" : "Assigned",
      message,
      lastTransitionTime: new Date().toISOString().replace(/\.\d+Z$/, "Z"),
    };
    await client.request(`/api/v1/namespaces/${svc.metadata.namespace}/services/${svc.metadata.name}/status`, {
      method: "PATCH",
      contentType: "application/merge-patch+json",
      body: {
        status: {
          loadBalancer: { ingress: ips.map((ip) => ({ ip, ipMode: "VIP" })) },
          conditions: [...others, condition],
        },
      },
    });
  }

  await services.synced;
  return {
    async stop() {
      stopped = true;
      await services.stop();
      await queue;
    },
  };
}

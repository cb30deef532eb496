/**
 * The real node's cluster DNS: CoreDNS in `kube-system`, answering for `cluster.local` at the `kube-dns` Service
 * address the kubelet gives every pod. There is no upstream resolver (the cluster has no way out), so other names
 * fail fast. Pure.
 *
 * @module
 */

/** An object and the collection path it is applied to. */
export interface ClusterObject {
  /** The collection, e.g. `/api/v1/namespaces/kube-system/services`. */
  path: string;
  object: { metadata: { name: string; namespace?: string; labels?: Record<string, string> }; [field: string]: unknown };
}

const COREFILE = `.:53 {
    errors
    ready
    health
    kubernetes cluster.local in-addr.arpa ip6.arpa {
        pods insecure
        fallthrough in-addr.arpa ip6.arpa
    }
    cache 5
}
`;

/**
 * Returns CoreDNS's ServiceAccount, RBAC, Corefile, Deployment and the `kube-dns` Service.
 *
 * @example Usage
 * ```ts
 * import { clusterDnsObjects } from "./cluster_dns.ts";
 * clusterDnsObjects({ image: "registry.k8s.io/coredns/coredns:v1.12.2", clusterIp: "10.96.0.10" }).length; // 6
 * ```
 *
 * @param options The CoreDNS image and the Service's ClusterIP.
 * @returns The objects, in the order to apply them.
 */
export function clusterDnsObjects(options: { image: string; clusterIp: string }): ClusterObject[] {
  const ns = "kube-system";
  const labels = { "k8s-app": "kube-dns" };
  const core = `/api/v1/namespaces/${ns}`;
  return [
    {
      path: `${core}/serviceaccounts`,
      object: { apiVersion: "v1", kind: "ServiceAccount", metadata: { name: "coredns", namespace: ns } },
    },
    {
      path: "/apis/rbac.authorization.k8s.io/v1/clusterroles",
      object: {
        apiVersion: "rbac.authorization.k8s.io/v1",
        kind: "ClusterRole",
        metadata: { name: "system:coredns" },
        rules: [
          { apiGroups: [""], resources: ["endpoints", "services", "pods", "namespaces"], verbs: ["list", "watch"] },
          { apiGroups: ["discovery.k8s.io"], resources: ["endpointslices"], verbs: ["list", "watch"] },
        ],
      },
    },
    {
      path: "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings",
      object: {
        apiVersion: "rbac.authorization.k8s.io/v1",
        kind: "ClusterRoleBinding",
        metadata: { name: "system:coredns" },
        roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "system:coredns" },
        subjects: [{ kind: "ServiceAccount", name: "coredns", namespace: ns }],
      },
    },
    {
      path: `${core}/configmaps`,
      object: {
        apiVersion: "v1",
        kind: "ConfigMap",
        metadata: { name: "coredns", namespace: ns },
        data: { Corefile: COREFILE },
      },
    },
    {
      path: `/apis/apps/v1/namespaces/${ns}/deployments`,
      object: {
        apiVersion: "apps/v1",
        kind: "Deployment",
        metadata: { name: "coredns", namespace: ns, labels },
        spec: {
          replicas: 1,
          selector: { matchLabels: labels },
          template: {
            metadata: { labels },
            spec: {
              serviceAccountName: "coredns",
              // CoreDNS must not resolve through itself
              dnsPolicy: "Default",
              priorityClassName: "system-cluster-critical",
              containers: [{
                name: "coredns",
                image: options.image,
                imagePullPolicy: "Never",
                args: ["-conf", "/etc/coredns/Corefile"],
                ports: [
                  { name: "dns", containerPort: 53, protocol: "UDP" },
                  { name: "dns-tcp", containerPort: 53, protocol: "TCP" },
                ],
                readinessProbe: { httpGet: { path: "/ready", port: 8181 }, periodSeconds: 1 },
                securityContext: {
                  allowPrivilegeEscalation: false,
                  capabilities: { add: ["NET_BIND_SERVICE"], drop: ["ALL"] },
                  readOnlyRootFilesystem: true,
                },
                volumeMounts: [{ name: "config", mountPath: "/etc/coredns", readOnly: true }],
              }],
              volumes: [{ name: "config", configMap: { name: "coredns" } }],
            },
          },
        },
      },
    },
    {
      path: `${core}/services`,
      object: {
        apiVersion: "v1",
        kind: "Service",
        metadata: { name: "kube-dns", namespace: ns, labels },
        spec: {
          selector: labels,
          clusterIP: options.clusterIp,
          ports: [
            { name: "dns", port: 53, protocol: "UDP" },
            { name: "dns-tcp", port: 53, protocol: "TCP" },
          ],
        },
      },
    },
  ];
}

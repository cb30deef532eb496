/**
 * The first step of translating a Gateway: its effective GatewayParameters (the class's, overridden field by
 * field by the Gateway's own `infrastructure.parametersRef`, less the fields the class does not let Gateways set:
 * `gateway_overrides.ts`) and its user VCL, or the problem that makes the
 * Gateway not accepted (`InvalidParameters`, among them varnishd arguments outside the allow-list of
 * `varnishd_params.ts` and environment variables `gateway_env.ts` refuses, and `UnsupportedAddress`).
 *
 * @module
 */
import { cidrSchema } from "../ghost/contract/mod.ts";
import { LACQUER_GROUP } from "../internal/names.ts";
import { requestedAddresses } from "./addresses.ts";
import type { Gateway, GatewayClass } from "./api_types.ts";
import {
  GATEWAY_PARAMETERS_KIND,
  type GatewayParameters,
  type ParameterDefaults,
  type ResolvedParameters,
  resolveParameters,
} from "./gateway_parameters.ts";
import { envProblem } from "./gateway_env.ts";
import { gatewayOverrides, type RefusedField } from "./gateway_overrides.ts";
import { keyOf, type SnapshotIndex } from "./snapshot_index.ts";
import { varnishdParametersProblem } from "./varnishd_params.ts";

/** Why a Gateway is not accepted for its configuration. */
export interface GatewayProblem {
  /** The spec's reason for `Accepted=False`. */
  reason: "InvalidParameters" | "UnsupportedAddress";
  /** What is wrong, naming the object. */
  message: string;
}

/** The Gateway's own GatewayParameters (`spec.infrastructure.parametersRef`) and what of them its class refused. */
export interface OwnParameters {
  /** The object's `namespace/name`. */
  name: string;
  /** The GatewayClass's name. */
  className: string;
  /** The class's GatewayParameters' `namespace/name`, if it names one. */
  classParameters?: string;
  /** What the class's GatewayParameters list in `allowedGatewayOverrides`. */
  allowed: readonly string[];
  /** The fields the object sets but the class does not let Gateways set (their class values apply); empty if none. */
  refused: RefusedField[];
}

/** A Gateway's effective configuration. */
export interface GatewayConfig {
  /** The effective parameters (defaults where nobody set a field). */
  parameters: ResolvedParameters;
  /** The user's VCL, when the parameters name one and it was found. */
  userVcl?: string;
  /** The GatewayParameters objects found for the Gateway, the class's first (Events about them go there). */
  sources: GatewayParameters[];
  /** The Gateway's own GatewayParameters, when it names some that exist. */
  own?: OwnParameters;
  /** Why the Gateway is not accepted, if so; it then gets no children. */
  problem?: GatewayProblem;
}

/** What {@linkcode resolveGatewayConfig} reads. */
export interface GatewayConfigContext {
  /** Lookups for GatewayParameters and ConfigMaps. */
  index: SnapshotIndex;
  /** Defaults for fields nobody set. */
  defaults: ParameterDefaults;
}

/**
 * Finds the GatewayParameters a GatewayClass's `parametersRef` names.
 *
 * @param cls The class.
 * @param index Lookups for GatewayParameters.
 * @returns The parameters (none when there is no reference), or what is wrong with the reference.
 */
export function classParameters(
  cls: GatewayClass,
  index: SnapshotIndex,
): { params?: GatewayParameters; problem?: string } {
  const ref = cls.spec.parametersRef;
  if (!ref) return {};
  if (ref.group !== LACQUER_GROUP || ref.kind !== GATEWAY_PARAMETERS_KIND) {
    return {
      problem: `parametersRef must name a ${LACQUER_GROUP}/${GATEWAY_PARAMETERS_KIND}, not ${ref.group}/${ref.kind}`,
    };
  }
  if (!ref.namespace) return { problem: `parametersRef to ${GATEWAY_PARAMETERS_KIND} "${ref.name}" needs a namespace` };
  const params = index.parameters.get(keyOf(ref.namespace, ref.name));
  if (!params) return { problem: `${GATEWAY_PARAMETERS_KIND} "${ref.namespace}/${ref.name}" not found` };
  return { params };
}

function invalid(message: string): GatewayProblem {
  return { reason: "InvalidParameters", message };
}

/**
 * The class's and the Gateway's own parameters as found (`params`), the layers to merge in override order (the
 * Gateway's without what its class refuses), or the first problem found.
 */
function parameterList(
  gateway: Gateway,
  cls: GatewayClass,
  index: SnapshotIndex,
): { params: GatewayParameters[]; layers: GatewayParameters[]; own?: OwnParameters; problem?: GatewayProblem } {
  const fromClass = classParameters(cls, index);
  if (fromClass.problem) {
    return { params: [], layers: [], problem: invalid(`GatewayClass "${cls.metadata.name}": ${fromClass.problem}`) };
  }
  const params = fromClass.params ? [fromClass.params] : [];
  const layers = [...params];
  let own: OwnParameters | undefined;
  const ref = gateway.spec.infrastructure?.parametersRef;
  if (ref) {
    if (ref.group !== LACQUER_GROUP || ref.kind !== GATEWAY_PARAMETERS_KIND) {
      return {
        params,
        layers,
        problem: invalid(
          `infrastructure.parametersRef must name a ${LACQUER_GROUP}/${GATEWAY_PARAMETERS_KIND}, not ${ref.group}/${ref.kind}`,
        ),
      };
    }
    const name = keyOf(gateway.metadata.namespace, ref.name);
    const found = index.parameters.get(name);
    if (!found) {
      return {
        params,
        layers,
        problem: invalid(`${GATEWAY_PARAMETERS_KIND} "${gateway.metadata.namespace}/${ref.name}" not found`),
      };
    }
    const classMeta = fromClass.params?.metadata;
    const classParameters = classMeta && keyOf(classMeta.namespace ?? "", classMeta.name);
    const allowed = fromClass.params?.spec.allowedGatewayOverrides ?? [];
    // The class's own object named again is no override of it.
    const applied = classParameters === name ? { parameters: found, refused: [] } : gatewayOverrides(found, allowed);
    params.push(found);
    layers.push(applied.parameters);
    own = { name, className: cls.metadata.name, classParameters, allowed, refused: applied.refused };
  }
  const addresses = requestedAddresses(gateway);
  if (addresses.problem) {
    return { params, layers, own, problem: { reason: "UnsupportedAddress", message: addresses.problem } };
  }
  return { params, layers, own };
}

/**
 * Resolves a Gateway's effective parameters and user VCL.
 *
 * @param gateway The Gateway.
 * @param cls Its GatewayClass.
 * @param context Lookups and defaults.
 * @returns The configuration, with the problem that makes the Gateway not accepted, if any.
 */
export function resolveGatewayConfig(
  gateway: Gateway,
  cls: GatewayClass,
  context: GatewayConfigContext,
): GatewayConfig {
  const list = parameterList(gateway, cls, context.index);
  const parameters = resolveParameters(list.layers, context.defaults);
  const found = { parameters, sources: list.params, ...(list.own ? { own: list.own } : {}) };
  if (list.problem) return { ...found, problem: list.problem };
  const unsafe = varnishdParametersProblem(parameters.varnishdArgs, parameters.storage);
  if (unsafe) return { ...found, problem: invalid(unsafe) };
  const badEnv = envProblem(parameters.env);
  if (badEnv) return { ...found, problem: invalid(badEnv) };
  const badProxy = parameters.requests?.trustedProxies.find((p) => !cidrSchema.safeParse(p).success);
  if (badProxy !== undefined) {
    return {
      ...found,
      problem: invalid(`requests.trustedProxies: "${badProxy}" is not an IP address or CIDR block`),
    };
  }
  if (!parameters.vcl) return found;
  const { namespace, name, key } = parameters.vcl;
  const configMap = context.index.configMaps.get(keyOf(namespace, name));
  const userVcl = configMap?.data[key];
  if (userVcl !== undefined) return { ...found, userVcl };
  const message = configMap
    ? `ConfigMap "${namespace}/${name}" has no key "${key}"`
    : `ConfigMap "${namespace}/${name}" not found`;
  return { ...found, problem: invalid(message) };
}

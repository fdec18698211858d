import { Code } from "@connectrpc/connect";
import { create } from "@bufbuild/protobuf";
import { ModelInfoSchema, type ModelInfo } from "../../gen/switchyard/v1/model_service_pb.js";
import type { CatalogModel, CircuitBreakerSettings, GatewayConfig, ProviderAccount, RetrySettings, TimeoutSettings, VirtualModel } from "../config/gateway-config.js";
import type { ProviderAdapter } from "../providers/provider-adapter.js";
import { gatewayError, Reason } from "./errors.js";
import { ownEntry } from "./own-entry.js";
import { MAX_MODEL_NAME_LENGTH } from "./validate-input.js";

/** One concrete upstream target: an account, its adapter and the provider's model name, with settings. */
export interface ResolvedTarget {
  /** "<account>/<upstream model>". */
  readonly id: string;
  readonly account: ProviderAccount;
  readonly adapter: ProviderAdapter;
  readonly upstreamModel: string;
  readonly catalogModel?: CatalogModel;
  /** The timeouts its attempts run under: {@link sharedTimeouts} with a virtual-model target's override on top. */
  readonly timeouts: TimeoutSettings;
  /**
   * The timeouts of the target itself (routing < account < catalogue model), which every route to
   * it shares: only a timeout at one of these bounds counts against its circuit, which is shared too.
   */
  readonly sharedTimeouts: TimeoutSettings;
  readonly retry: RetrySettings;
  readonly circuitBreaker: CircuitBreakerSettings;
  /** Parameter overrides from a virtual model target (e.g. temperature), applied to the request. */
  readonly params: Readonly<Record<string, number | string | boolean>>;
  /** Load-balancing weight (virtual models). */
  readonly weight: number;
}

/** The targets a model name resolves to, and how to choose among them. */
export interface RoutePlan {
  readonly strategy: VirtualModel["strategy"];
  readonly targets: readonly ResolvedTarget[];
  /** The virtual model name, when the caller named one. */
  readonly virtualModel?: string;
}

/**
 * How many resolved "<account>/<model>" targets a catalog keeps. Callers choose the model part
 * freely (it is passed through to the provider), so the cache is bounded: past this many distinct
 * names the oldest entry is dropped (and rebuilt on its next use).
 */
export const MAX_CACHED_TARGETS = 4096;

/**
 * Resolves model names to targets: "<account>/<model>" (split at the first "/", so upstream names
 * may contain "/") or a virtual model name from config. Unknown names fail with NOT_FOUND /
 * MODEL_NOT_FOUND before any upstream call.
 */
export class ModelCatalog {
  private readonly targetCache = new Map<string, ResolvedTarget>();

  constructor(
    private readonly config: GatewayConfig,
    private readonly adapters: ReadonlyMap<string, ProviderAdapter>,
  ) {}

  /** Resolves one model name to a plan; throws MODEL_NOT_FOUND for unknown names or accounts. */
  resolve(model: string, param = "model"): RoutePlan {
    const virtual = ownEntry(this.config.models, model);
    if (virtual) {
      return {
        strategy: virtual.strategy,
        virtualModel: virtual.name,
        targets: virtual.targets.map((target) => this.target(target.model, param, target)),
      };
    }
    return { strategy: "fallback", targets: [this.target(model, param)] };
  }

  /** Resolves "<account>/<model>" to a target, with optional virtual-target overrides. */
  target(model: string, param = "model", overrides?: VirtualModel["targets"][number]): ResolvedTarget {
    const cacheKey = overrides ? undefined : model;
    const cached = cacheKey === undefined ? undefined : this.targetCache.get(cacheKey);
    if (cached) return cached;
    const slash = model.indexOf("/");
    if (slash <= 0 || slash === model.length - 1) {
      throw gatewayError(Code.NotFound, Reason.MODEL_NOT_FOUND, `The model \`${model}\` does not exist: use "<provider account>/<model>" (accounts: ${Object.keys(this.config.providers).join(", ") || "none configured"}) or a virtual model name`, { param });
    }
    const accountName = model.slice(0, slash);
    const upstreamModel = model.slice(slash + 1);
    const account = ownEntry(this.config.providers, accountName);
    const adapter = this.adapters.get(accountName);
    if (!account || !adapter) {
      throw gatewayError(Code.NotFound, Reason.MODEL_NOT_FOUND, `The model \`${model}\` does not exist: no provider account "${accountName}" is configured`, { param });
    }
    const catalogModel = account.models.find((entry) => entry.name === upstreamModel);
    const routing = this.config.routing;
    const sharedTimeouts = { ...routing.timeouts, ...account.timeouts, ...catalogModel?.timeouts };
    const target: ResolvedTarget = {
      id: `${accountName}/${upstreamModel}`,
      account,
      adapter,
      upstreamModel,
      ...(catalogModel ? { catalogModel } : {}),
      timeouts: overrides?.timeouts ? { ...sharedTimeouts, ...overrides.timeouts } : sharedTimeouts,
      sharedTimeouts,
      retry: { ...routing.retry, ...account.retry, ...overrides?.retry },
      circuitBreaker: { ...routing.circuitBreaker, ...account.circuitBreaker },
      params: overrides?.params ?? {},
      weight: overrides?.weight ?? 1,
    };
    if (cacheKey !== undefined) {
      if (this.targetCache.size >= MAX_CACHED_TARGETS) this.targetCache.delete(this.targetCache.keys().next().value ?? "");
      this.targetCache.set(cacheKey, target);
    }
    return target;
  }

  /**
   * One model id as `GET /v1/models/{id}` describes it: a virtual model, or a model of a configured
   * account (in its catalogue or not: a chat request would route it, and the provider is not
   * asked). MODEL_NOT_FOUND otherwise. Nothing is cached, whatever ids callers try.
   */
  describe(id: string): ModelInfo {
    if (ownEntry(this.config.models, id)) return create(ModelInfoSchema, { id, provider: "virtual", providerType: "virtual" });
    const slash = id.indexOf("/");
    // A chat request refuses a name with a control character or too long: no model here either.
    const routable = slash > 0 && slash < id.length - 1 && id.length <= MAX_MODEL_NAME_LENGTH && !/[\u0000-\u001f\u007f]/.test(id);
    const account = routable ? ownEntry(this.config.providers, id.slice(0, slash)) : undefined;
    if (!account) throw gatewayError(Code.NotFound, Reason.MODEL_NOT_FOUND, `The model \`${id}\` does not exist: use "<provider account>/<model>" (accounts: ${Object.keys(this.config.providers).join(", ") || "none configured"}) or a virtual model name`);
    return create(ModelInfoSchema, { id, provider: account.name, providerType: account.type });
  }

  /** Every model id callers can name: catalogue models of every account, and virtual models; sorted. */
  list(): ModelInfo[] {
    const out: ModelInfo[] = [];
    for (const account of Object.values(this.config.providers)) {
      for (const model of account.models) {
        out.push(create(ModelInfoSchema, { id: `${account.name}/${model.name}`, provider: account.name, providerType: account.type }));
      }
    }
    for (const virtual of Object.values(this.config.models)) {
      out.push(create(ModelInfoSchema, { id: virtual.name, provider: "virtual", providerType: "virtual" }));
    }
    // Code-point order: the same on every machine, whatever its locale.
    return out.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }
}

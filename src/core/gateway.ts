import { Code } from "@connectrpc/connect";
import type { ChatInput } from "../../gen/switchyard/v1/chat_pb.js";
import type { ChatResponse, ChatStreamResponse } from "../../gen/switchyard/v1/chat_service_pb.js";
import type { ModelInfo } from "../../gen/switchyard/v1/model_service_pb.js";
import { gatewayError, GatewayError, Reason, toGatewayError } from "./errors.js";
import type { ModelCatalog, ResolvedTarget } from "./model-catalog.js";
import { validateChatInput } from "./validate-input.js";

/** What a front door knows about the call. */
export interface CallContext {
  /** Aborts when the caller disconnects or cancels. */
  readonly signal: AbortSignal;
}

/** Receives one line per failed upstream attempt, for logs and metrics. */
export type AttemptLogger = (entry: { target: string; error: GatewayError }) => void;

/** Failures on which the gateway moves on to the next target instead of answering. */
export function isFailoverError(error: GatewayError): boolean {
  switch (error.reason) {
    case Reason.PROVIDER_UNAVAILABLE:
    case Reason.PROVIDER_UNREACHABLE:
    case Reason.UPSTREAM_TIMEOUT:
    case Reason.RATE_LIMIT_EXCEEDED:
    case Reason.INSUFFICIENT_QUOTA:
    case Reason.PROVIDER_AUTH_FAILED:
    case Reason.CONTEXT_LENGTH_EXCEEDED:
    case Reason.STREAM_INTERRUPTED:
    case Reason.INVALID_PROVIDER_RESPONSE:
      return true;
    default:
      return false;
  }
}

/**
 * The gateway core behind both front doors: validates a ChatInput, resolves its model and
 * fallbacks to targets, calls the provider adapters and stamps the answering target on the result.
 * Streams keep the contract: response_start first, then deltas, finishes, usage and route_summary;
 * an upstream stream that ends without a finish is an error, never a normal end.
 */
export class Gateway {
  constructor(
    private readonly catalog: ModelCatalog,
    private readonly onAttemptFailed: AttemptLogger = () => {},
  ) {}

  /** Lists the model ids callers can use. */
  listModels(): ModelInfo[] {
    return this.catalog.list();
  }

  private targetsFor(input: ChatInput): ResolvedTarget[] {
    const targets = [...this.catalog.resolve(input.model).targets];
    input.fallbacks.forEach((fallback, index) => targets.push(...this.catalog.resolve(fallback, `fallbacks[${index}]`).targets));
    return targets;
  }

  /** Answers one chat request; throws a GatewayError. */
  async chat(input: ChatInput, context: CallContext): Promise<ChatResponse> {
    validateChatInput(input);
    const targets = this.targetsFor(input);
    const failures: { target: ResolvedTarget; error: GatewayError }[] = [];
    for (const target of targets) {
      if (context.signal.aborted) break;
      try {
        const response = await target.adapter.generate(input, {
          upstreamModel: target.upstreamModel,
          ...(target.catalogModel ? { catalogModel: target.catalogModel } : {}),
          signal: context.signal,
          timeouts: target.timeouts,
        });
        response.model = target.id;
        response.provider = target.account.name;
        response.route = {
          $typeName: "switchyard.v1.RouteInfo",
          attempts: failures.length + 1,
          failures: failures.map(({ target: failed, error }) => ({ $typeName: "switchyard.v1.AttemptFailure", model: failed.id, reason: error.reason, upstreamStatus: error.facts.upstreamStatus ?? 0 })),
        };
        return response;
      } catch (thrown) {
        const error = toGatewayError(thrown);
        this.onAttemptFailed({ target: target.id, error });
        failures.push({ target, error });
        if (!isFailoverError(error) || context.signal.aborted) throw error;
      }
    }
    if (context.signal.aborted) throw gatewayError(Code.Canceled, Reason.CANCELED, "the caller canceled the request");
    throw failures[0]?.error ?? gatewayError(Code.Internal, Reason.INTERNAL_ERROR, "no target was tried");
  }

  /** Streams one chat request; the generator throws a GatewayError on failure. */
  async *chatStream(input: ChatInput, context: CallContext): AsyncGenerator<ChatStreamResponse> {
    validateChatInput(input);
    const targets = this.targetsFor(input);
    const failures: { target: ResolvedTarget; error: GatewayError }[] = [];
    for (const target of targets) {
      let delivered = false;
      try {
        const open = new Set<number>();
        let finished = 0;
        for await (const event of target.adapter.stream(input, {
          upstreamModel: target.upstreamModel,
          ...(target.catalogModel ? { catalogModel: target.catalogModel } : {}),
          signal: context.signal,
          timeouts: target.timeouts,
        })) {
          const kind = event.event.case;
          if (kind === "responseStart") {
            event.event.value.model = target.id;
            event.event.value.provider = target.account.name;
          } else if (kind === "finish") {
            open.delete(event.event.value.choiceIndex);
            finished++;
          } else if (kind === "textDelta" || kind === "toolCallStart" || kind === "toolCallDelta" || kind === "refusalDelta" || kind === "reasoningDelta") {
            open.add(event.event.value.choiceIndex);
          }
          delivered = true;
          yield event;
        }
        if (finished === 0 || open.size > 0) {
          throw gatewayError(Code.Unavailable, Reason.STREAM_INTERRUPTED, `the upstream stream of ${target.id} ended before the answer was finished`, { provider: target.account.name, afterFirstByte: true });
        }
        yield {
          $typeName: "switchyard.v1.ChatStreamResponse",
          event: {
            case: "routeSummary",
            value: {
              $typeName: "switchyard.v1.RouteSummary",
              model: target.id,
              route: {
                $typeName: "switchyard.v1.RouteInfo",
                attempts: failures.length + 1,
                failures: failures.map(({ target: failed, error }) => ({ $typeName: "switchyard.v1.AttemptFailure", model: failed.id, reason: error.reason, upstreamStatus: error.facts.upstreamStatus ?? 0 })),
              },
            },
          },
        };
        return;
      } catch (thrown) {
        const error = toGatewayError(thrown);
        this.onAttemptFailed({ target: target.id, error });
        failures.push({ target, error });
        if (delivered || !isFailoverError(error) || context.signal.aborted) throw error;
      }
    }
    throw failures[0]?.error ?? gatewayError(Code.Internal, Reason.INTERNAL_ERROR, "no target was tried");
  }
}

import { create } from "@bufbuild/protobuf";
import { createContextKey, type HandlerContext, type ServiceImpl } from "@connectrpc/connect";
import { ChatInputSchema, type RouteInfo } from "../../gen/switchyard/v1/chat_pb.js";
import { ChatService, type ChatResponse, type ChatStreamResponse } from "../../gen/switchyard/v1/chat_service_pb.js";
import { ModelService } from "../../gen/switchyard/v1/model_service_pb.js";
import type { Gateway } from "../core/gateway.js";
import { routeHeaders, withRouteMetadata } from "../server/route-headers.js";
import { keepaliveMsOf, keptAlive } from "./stream-keepalive.js";

function setRouteHeaders(context: HandlerContext, model: string, provider: string, route: RouteInfo | undefined, warnings: readonly string[]): void {
  for (const [name, value] of Object.entries(routeHeaders(model, provider, route, warnings))) context.responseHeader.set(name, value);
}

/** The name (never the secret) of the gateway key a call authenticated with, set by the edge's interceptor (connect-routes.ts); undefined when auth is off. */
export const CALLER_KEY_NAME = createContextKey<string | undefined>(undefined, { description: "gateway key name" });

/**
 * The ChatService implementation: no translation, only delegation to the Gateway core with the
 * handler's signal (client cancel and deadline abort the upstream call) and the caller's key name
 * ({@link CALLER_KEY_NAME}, for the log lines). Route facts are also
 * sent as x-switchyard-* response headers, on errors too (the attempts, failed and skipped targets). ChatStream sends the keep-alives a request asks for.
 */
export function createChatService(gateway: Gateway): ServiceImpl<typeof ChatService> {
  return {
    async chat(request, context): Promise<ChatResponse> {
      let response: ChatResponse;
      try {
        response = await gateway.chat(request.input ?? create(ChatInputSchema), { signal: context.signal, timeoutMs: context.timeoutMs(), keyName: context.values.get(CALLER_KEY_NAME) });
      } catch (error) {
        throw withRouteMetadata(error);
      }
      setRouteHeaders(context, response.model, response.provider, response.route, response.warnings);
      return response;
    },
    async *chatStream(request, context): AsyncGenerator<ChatStreamResponse> {
      const everyMs = keepaliveMsOf(request);
      try {
        const events = gateway.chatStream(request.input ?? create(ChatInputSchema), { signal: context.signal, timeoutMs: context.timeoutMs(), keyName: context.values.get(CALLER_KEY_NAME) });
        for await (const event of keptAlive(events, everyMs)) {
          if (event.event.case === "responseStart") {
            const start = event.event.value;
            setRouteHeaders(context, start.model, start.provider, start.route, start.warnings);
          } else if (event.event.case === "routeSummary") {
            const summary = event.event.value;
            context.responseTrailer.set("x-switchyard-model", summary.model);
            if (summary.route) context.responseTrailer.set("x-switchyard-attempts", String(summary.route.attempts));
            if (summary.recovery) context.responseTrailer.set("x-switchyard-recovery", summary.recovery);
          }
          yield event;
        }
      } catch (error) {
        throw withRouteMetadata(error);
      }
    },
  };
}

/** The ModelService implementation. */
export function createModelService(gateway: Gateway): ServiceImpl<typeof ModelService> {
  return {
    listModels() {
      return { models: gateway.listModels() };
    },
  };
}

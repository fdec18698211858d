import { Code, type ConnectRouter, type Interceptor } from "@connectrpc/connect";
import { ChatService } from "../../gen/switchyard/v1/chat_service_pb.js";
import { ModelService } from "../../gen/switchyard/v1/model_service_pb.js";
import type { CallerAuthenticator } from "../core/caller-auth.js";
import { gatewayError, GatewayError, Reason, toGatewayError } from "../core/errors.js";
import type { Gateway } from "../core/gateway.js";
import { CALLER_KEY_NAME, createChatService, createModelService } from "./chat-service.js";
import { withGatewayErrors } from "./connect-own-errors.js";
import { boundedForRpc } from "./rpc-error-message.js";

/**
 * Registers ChatService and ModelService on a Connect router. Each handler gives Connect's own
 * errors the gateway's form (an ErrorDetail; an undecodable request as `invalid_argument`; see
 * connect-own-errors.ts) and tells each to `onError` (they come before the interceptor, so no key
 * name is known): the plugin serves `router.handlers` as they are once this returns.
 */
export function connectRoutes(gateway: Gateway, onError?: (error: GatewayError, procedure: string, keyName: undefined) => void): (router: ConnectRouter) => void {
  return (router) => {
    router.service(ChatService, createChatService(gateway));
    router.service(ModelService, createModelService(gateway));
    router.handlers.forEach((handler, index) => {
      const procedure = handler.method.name;
      router.handlers[index] = withGatewayErrors(handler, onError && ((error) => onError(error, procedure, undefined)));
    });
  };
}

/**
 * The gRPC/Connect edge's interceptor: bearer-key auth from the `authorization` metadata (the
 * key's name goes to the handler as {@link CALLER_KEY_NAME}), and one log call per failed RPC
 * (unary or stream), with that name. Every error leaves as a GatewayError, so callers get the
 * right status code and an ErrorDetail, never an opaque internal error; the log gets the whole
 * message, the caller at most MAX_RPC_MESSAGE_BYTES of it (see boundedForRpc).
 */
export function connectInterceptors(authenticate: CallerAuthenticator, onError: (error: GatewayError, procedure: string, keyName: string | undefined) => void): Interceptor[] {
  const edge: Interceptor = (next) => async (request) => {
    const procedure = request.method.name;
    // Once the client has gone, what fails is the write to its closed stream (ERR_HTTP2_INVALID_STREAM): a cancel, not the server's error.
    const errorOf = (thrown: unknown): GatewayError =>
      request.signal.aborted && !(thrown instanceof GatewayError) ? gatewayError(Code.Canceled, Reason.CANCELED, "the client canceled the call", {}, thrown) : toGatewayError(thrown);
    let keyName: string | undefined;
    let response;
    try {
      keyName = authenticate(request.header.get("authorization") ?? undefined);
      if (keyName !== undefined) request.contextValues.set(CALLER_KEY_NAME, keyName);
      response = await next(request);
    } catch (thrown) {
      const error = errorOf(thrown);
      onError(error, procedure, keyName);
      throw boundedForRpc(error);
    }
    if (!response.stream) return response;
    const source = response.message;
    async function* guarded() {
      try {
        yield* source;
      } catch (thrown) {
        const error = errorOf(thrown);
        onError(error, procedure, keyName);
        throw boundedForRpc(error);
      }
    }
    return { ...response, message: guarded() };
  };
  return [edge];
}

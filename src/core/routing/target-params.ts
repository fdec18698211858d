import { Code } from "@connectrpc/connect";
import type { ChatInput } from "../../../gen/switchyard/v1/chat_pb.js";
import { gatewayError, Reason } from "../errors.js";
import type { ResolvedTarget } from "../model-catalog.js";
import { targetParamProblem } from "../../config/target-param-names.js";

type Scalar = number | string | boolean;

function configError(target: ResolvedTarget, key: string, expected: string): Error {
  return gatewayError(Code.Internal, Reason.INTERNAL_ERROR, `config: params.${key} of target ${target.id} must be ${expected}`);
}

/** The value, checked against its key's kind (start-up validation already refused a misfit; this guards configs built in code). */
function checked(target: ResolvedTarget, key: string, value: Scalar): Scalar {
  const problem = targetParamProblem(key, value);
  if (problem) throw configError(target, key, problem);
  return value;
}

function numberParam(target: ResolvedTarget, key: string, value: Scalar): number {
  return checked(target, key, value) as number;
}

function booleanParam(target: ResolvedTarget, key: string, value: Scalar): boolean {
  return checked(target, key, value) as boolean;
}

/**
 * Applies a virtual-model target's `params` to a request and returns the new request (the input
 * is not changed). Known OpenAI sampling names (temperature, top_p, max_tokens /
 * max_completion_tokens, frequency_penalty, presence_penalty, seed, n, logprobs, top_logprobs,
 * parallel_tool_calls, user, stop) override the caller's typed fields; any other key is a native
 * provider field and is merged into `provider_options[<adapter family>]` (where the adapter's
 * `withTargetParams` says: Gemini's go into `generationConfig`), where the target's value wins.
 * A known key with the wrong type is a config error (INTERNAL_ERROR naming it).
 */
export function applyTargetParams(input: ChatInput, target: ResolvedTarget): ChatInput {
  let any = false;
  for (const key in target.params) {
    any = Object.hasOwn(target.params, key);
    if (any) break;
  }
  if (!any) return input;
  const entries = Object.entries(target.params);
  const out: ChatInput = { ...input };
  const native: Record<string, Scalar> = {};
  for (const [key, value] of entries) {
    switch (key) {
      case "temperature": out.temperature = numberParam(target, key, value); break;
      case "top_p": out.topP = numberParam(target, key, value); break;
      case "max_tokens":
      case "max_completion_tokens": out.maxTokens = numberParam(target, key, value); break;
      case "frequency_penalty": out.frequencyPenalty = numberParam(target, key, value); break;
      case "presence_penalty": out.presencePenalty = numberParam(target, key, value); break;
      case "seed": out.seed = BigInt(numberParam(target, key, value)); break;
      case "n": out.n = numberParam(target, key, value); break;
      case "logprobs": out.logprobs = booleanParam(target, key, value); break;
      case "top_logprobs": out.topLogprobs = numberParam(target, key, value); break;
      case "parallel_tool_calls": out.parallelToolCalls = booleanParam(target, key, value); break;
      case "user": out.user = String(value); break;
      case "stop": out.stop = [String(value)]; break;
      default: native[key] = value;
    }
  }
  if (Object.keys(native).length > 0) {
    const { family, withTargetParams } = target.adapter;
    const caller = input.providerOptions[family];
    out.providerOptions = { ...input.providerOptions, [family]: withTargetParams ? withTargetParams(caller, native) : { ...caller, ...native } };
  }
  return out;
}

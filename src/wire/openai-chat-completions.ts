/**
 * Types of the OpenAI Chat Completions wire format, shared by the REST front door (inbound) and
 * the OpenAI provider (outbound). Types only: the two directions share no logic.
 * @see https://platform.openai.com/docs/api-reference/chat
 */

/** A JSON value. */
export type Json = string | number | boolean | null | Json[] | { [key: string]: Json };

/** A content part of a message. */
export type OpenAIContentPart =
  | { type: "text"; text: string }
  | { type: "image_url"; image_url: { url: string; detail?: "auto" | "low" | "high"; mime_type?: string } }
  | { type: "input_audio"; input_audio: { data: string; format: string } }
  | { type: "file"; file: { file_data?: string; file_id?: string; filename?: string } }
  | { type: "refusal"; refusal: string };

/** A tool call inside an assistant message. */
export type OpenAIToolCall =
  | { id: string; type: "function"; function: { name: string; arguments: string }; extra_content?: { [key: string]: Json } }
  | { id: string; type: "custom"; custom: { name: string; input: string } };

/** One message of the request. */
export interface OpenAIMessage {
  role: "system" | "developer" | "user" | "assistant" | "tool";
  content?: string | OpenAIContentPart[] | null;
  name?: string;
  tool_calls?: OpenAIToolCall[];
  tool_call_id?: string;
  refusal?: string | null;
  reasoning_content?: string;
  /** An earlier spoken answer, by id (assistant messages of OpenAI audio models). */
  audio?: { id: string };
}

/** A tool declaration. */
export type OpenAITool =
  | { type: "function"; function: { name: string; description?: string; parameters?: { [key: string]: Json }; strict?: boolean } }
  | { type: "custom"; custom: { name: string; description?: string; format?: { [key: string]: Json } } };

/** The request body of POST /chat/completions, as sent to an OpenAI-dialect upstream. */
export interface OpenAIChatRequest {
  model: string;
  messages: OpenAIMessage[];
  stream?: boolean;
  stream_options?: { include_usage?: boolean };
  max_tokens?: number;
  max_completion_tokens?: number;
  temperature?: number;
  top_p?: number;
  frequency_penalty?: number;
  presence_penalty?: number;
  stop?: string[];
  seed?: number;
  /** Mistral's name for the seed. */
  random_seed?: number;
  n?: number;
  logprobs?: boolean;
  top_logprobs?: number;
  logit_bias?: Record<string, number>;
  response_format?: { type: "text" } | { type: "json_object" } | { type: "json_schema"; json_schema: { name: string; description?: string; schema?: { [key: string]: Json }; strict?: boolean } };
  tools?: OpenAITool[];
  tool_choice?:
    | "none"
    | "auto"
    | "required"
    | { type: "function"; function: { name: string } }
    | { type: "custom"; custom: { name: string } }
    | { type: "allowed_tools"; allowed_tools: { mode: "auto" | "required"; tools: ({ type: "function"; function: { name: string } } | { type: "custom"; custom: { name: string } })[] } };
  parallel_tool_calls?: boolean;
  user?: string;
  [extra: string]: unknown;
}

/** One token's log probability. */
export interface OpenAITokenLogprob {
  token: string;
  logprob: number;
  bytes: number[] | null;
  top_logprobs?: { token: string; logprob: number; bytes: number[] | null }[];
}

/** Usage as OpenAI reports it. */
export interface OpenAIUsage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  prompt_tokens_details?: { cached_tokens?: number; audio_tokens?: number; cache_write_tokens?: number } | null;
  completion_tokens_details?: { reasoning_tokens?: number; audio_tokens?: number; accepted_prediction_tokens?: number; rejected_prediction_tokens?: number } | null;
  /** Switchyard's own field: present (true) only when the provider reported no usage and the gateway estimated it. */
  estimated?: boolean;
}

/** A non-streaming response. */
export interface OpenAIChatCompletion {
  id: string;
  object: "chat.completion";
  created: number;
  model: string;
  choices: {
    index: number;
    message: { role: "assistant"; content: string | null; refusal?: string | null; tool_calls?: OpenAIToolCall[]; reasoning_content?: string };
    logprobs: { content: OpenAITokenLogprob[] | null; refusal?: OpenAITokenLogprob[] | null } | null;
    finish_reason: string | null;
  }[];
  usage?: OpenAIUsage;
  system_fingerprint?: string | null;
}

/** One tool-call fragment inside a stream delta. */
export interface OpenAIToolCallDelta {
  index: number;
  id?: string;
  type?: "function";
  function?: { name?: string; arguments?: string };
  extra_content?: { [key: string]: Json };
}

/** One streamed chunk. */
export interface OpenAIChatCompletionChunk {
  id: string;
  object: "chat.completion.chunk";
  created: number;
  model: string;
  system_fingerprint?: string | null;
  choices: {
    index: number;
    delta: { role?: "assistant"; content?: string | null; refusal?: string | null; tool_calls?: OpenAIToolCallDelta[]; reasoning_content?: string };
    logprobs?: { content: OpenAITokenLogprob[] | null } | null;
    finish_reason: string | null;
  }[];
  usage?: OpenAIUsage | null;
}

/** The error envelope. */
export interface OpenAIErrorBody {
  error: { message: string; type: string; param: string | null; code: string | null; [providerField: string]: unknown };
}

import type { JsonObject } from "@bufbuild/protobuf";
import type { ArgumentsClosure } from "./arguments-closure.js";

/*
 * The tool calls of a streamed OpenAI-dialect answer, as the stream translator tracks them: which
 * call each tool-call delta continues, across the ways compatible servers number and name them.
 */

/** State of one tool call of one choice. */
export interface OpenCall {
  /** The gateway's dense index. */
  readonly index: number;
  /** The upstream id of the call's first delta, or "" when it had none (matching uses it). */
  readonly id: string;
  argumentsSeen: boolean;
  /** Whether tool_call_start went out. A call whose name has not arrived yet is held. */
  started: boolean;
  /** The first upstream id seen; tool_call_start carries it unless another call of the choice went out with it (see distinctToolCallId in generated-ids.ts). */
  startId: string | undefined;
  readonly extra: JsonObject | undefined;
  /** Argument fragments that came before the name. */
  heldArguments: string;
  /** The name tool_call_start carried ("" until it went out). */
  name: string;
  /** Every argument fragment so far (tells a finished call from one still being sent). */
  readonly arguments: ArgumentsClosure;
  /** A custom tool's call: free-text input, not JSON (no "{}" for an empty one). */
  readonly custom: boolean;
  /**
   * Set when a delta repeated this finished call's name with no arguments: a server repeating
   * index, id and name on every delta (vLLM, LocalAI), or a second call to the same function
   * starting. Arguments that follow open that second call (with this delta's extra_content).
   */
  repeated?: { readonly extra: JsonObject | undefined } | undefined;
}

/** The tool calls of one choice, found by upstream index or by id. */
export interface ChoiceCalls {
  readonly all: OpenCall[];
  readonly byIndex: Map<number, OpenCall>;
  readonly byId: Map<string, OpenCall>;
  last: OpenCall | undefined;
  /** The ids tool_call_start carried so far. */
  readonly sentIds: Set<string>;
}

/**
 * Finds the call a tool-call delta continues, or undefined when it opens a new one. The upstream
 * index wins, unless the delta names a different id than the call at that index (servers that
 * number every call 0); without an index the id decides; with neither it continues the last call.
 */
export function continuedCall(calls: ChoiceCalls, upstreamIndex: number | undefined, id: string | undefined): OpenCall | undefined {
  if (upstreamIndex !== undefined) {
    const call = calls.byIndex.get(upstreamIndex);
    if (call && (id === undefined || call.id === "" || call.id === id)) return call;
    if (call) return undefined;
    return id !== undefined ? calls.byId.get(id) : undefined;
  }
  if (id !== undefined) return calls.byId.get(id);
  return calls.last;
}

/**
 * Whether a delta that names a function opens another call, though its index or id (or their
 * absence) matched `call`: servers that send parallel calls without an index or with one id do
 * that. A continuation carries no name, or the same name (some servers repeat it) while the
 * call's arguments are still incomplete JSON.
 */
export function opensAnotherCall(call: OpenCall, name: string): boolean {
  if (!call.started || name === "") return false;
  if (name !== call.name) return true;
  return call.arguments.complete();
}

/** Empty tool-call state for a choice. */
export function newChoiceCalls(): ChoiceCalls {
  return { all: [], byIndex: new Map(), byId: new Map(), last: undefined, sentIds: new Set() };
}

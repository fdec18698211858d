/**
 * Function-call arguments that Gemini streams piece by piece (`functionCallingConfig.
 * streamFunctionCallArguments`): the call's first part names it with `willContinue: true`, later
 * parts carry `partialArgs` (a JSON path and a value; a string value with `willContinue: true`
 * goes on in the next piece for the same path), and a part whose `functionCall` has no
 * `willContinue` ends the call. The pieces are put together here into the arguments object.
 * @see https://cloud.google.com/vertex-ai/generative-ai/docs/multimodal/function-calling#streaming-function-call-arguments
 */

import { setOwnEntry } from "../../core/own-entry.js";
import type { Json, JsonMap } from "./gemini-wire.js";

/** One piece of a streamed call's arguments (`functionCall.partialArgs[]`). */
export interface GeminiPartialArg {
  /** Where the value goes: `$.name`, `$.list[0]`, `$["odd key"]`, nested as deep as the arguments are. */
  readonly jsonPath: string;
  /** The value; a string one may continue in the next piece for the same path (`willContinue`). */
  readonly value: Json;
  readonly willContinue: boolean;
}

/** Highest array index a piece may name: a larger one (no real call has it) would allocate that many slots. */
const MAX_INDEX = 100_000;

/** One step of a JSON path: `.name` (any characters but `.`, `[` and quotes: RFC 9535 allows non-ASCII names), `[3]`, `['name']` or `["name"]`. */
const STEP = /\.([^.[\]'"\s]+)|\[(\d+)\]|\['((?:[^'\\]|\\.)*)'\]|\["((?:[^"\\]|\\.)*)"\]/uy;

/** The steps of a path (`$` then steps), or undefined when it is not one this reader knows. */
function stepsOf(path: string): (string | number)[] | undefined {
  if (!path.startsWith("$")) return undefined;
  const steps: (string | number)[] = [];
  STEP.lastIndex = 1;
  while (STEP.lastIndex < path.length) {
    const at = STEP.lastIndex;
    const match = STEP.exec(path);
    if (!match || match.index !== at) return undefined;
    const [, name, index, single, double] = match;
    if (index !== undefined) {
      const number = Number(index);
      if (number > MAX_INDEX) return undefined;
      steps.push(number);
    } else {
      steps.push((name ?? single ?? double ?? "").replace(/\\(.)/g, "$1"));
    }
  }
  return steps;
}

/**
 * The arguments of one call Gemini streams in pieces, put together as the pieces come. Pure data:
 * no I/O, no clock.
 */
export class PartialArguments {
  /** `initial`: the arguments the call's first part gave (usually none), copied. */
  constructor(initial: JsonMap) {
    this.root = structuredClone(initial);
  }

  private readonly root: JsonMap;
  /** Paths whose string value goes on in the next piece. */
  private readonly continuing = new Set<string>();

  /** Adds one piece; false when its path is not one this reader knows (the piece is then left out). */
  add(piece: GeminiPartialArg): boolean {
    const steps = stepsOf(piece.jsonPath);
    if (!steps || steps.length === 0) return false;
    let node: Json = this.root;
    for (let i = 0; i < steps.length - 1; i++) {
      const step = steps[i] as string | number;
      const next = steps[i + 1];
      const child: Json | undefined = readStep(node, step);
      if (child !== undefined && child !== null && typeof child === "object") {
        node = child;
        continue;
      }
      const created: Json = typeof next === "number" ? [] : {};
      if (!writeStep(node, step, created)) return false;
      node = created;
    }
    const last = steps[steps.length - 1] as string | number;
    const previous = readStep(node, last);
    const value = this.continuing.has(piece.jsonPath) && typeof previous === "string" && typeof piece.value === "string" ? previous + piece.value : piece.value;
    if (!writeStep(node, last, value)) return false;
    if (piece.willContinue && typeof piece.value === "string") this.continuing.add(piece.jsonPath);
    else this.continuing.delete(piece.jsonPath);
    return true;
  }

  /** The arguments so far, as JSON text. */
  json(): string {
    return JSON.stringify(this.root);
  }
}

function readStep(node: Json, step: string | number): Json | undefined {
  if (typeof step === "number") return Array.isArray(node) ? node[step] : undefined;
  return node !== null && typeof node === "object" && !Array.isArray(node) && Object.hasOwn(node, step) ? node[step] : undefined;
}

function writeStep(node: Json, step: string | number, value: Json): boolean {
  if (typeof step === "number") {
    if (!Array.isArray(node)) return false;
    // Missing slots before the index are null, as JSON would write them.
    while (node.length < step) node.push(null);
    node[step] = value;
    return true;
  }
  if (node === null || typeof node !== "object" || Array.isArray(node)) return false;
  setOwnEntry(node, step, value);
  return true;
}

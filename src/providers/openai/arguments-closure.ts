import { isJsonSpace, JsonNesting, opensContainer, QUOTE } from "../json-nesting.js";

/**
 * Whether a tool call's streamed arguments form one whole JSON value yet. Some OpenAI-compatible
 * servers repeat the function name on every delta of a call, and a repeated name opens another
 * call only once the arguments so far are complete; parsing the whole text again on every delta
 * made a long call quadratic (20,000 deltas: 4.7 s of blocked event loop). This scans each
 * fragment once, as it arrives, and parses only a value whose brackets have closed, once.
 */

function parses(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

/** The arguments of one streamed call: append each fragment; {@link complete} says whether they are one whole JSON object, array or string. */
export class ArgumentsClosure {
  private text = "";
  private readonly nesting = new JsonNesting();
  /** empty: only whitespace so far; open: inside a value; closed: a value ended (whitespace may follow); broken: never whole. */
  private state: "empty" | "open" | "closed" | "broken" = "empty";
  private verdict: boolean | undefined;

  /** Adds a fragment; O(its length). */
  append(fragment: string): void {
    this.text += fragment;
    this.verdict = undefined;
    for (let at = 0; at < fragment.length && this.state !== "broken"; at++) this.step(fragment.charCodeAt(at));
  }

  private step(code: number): void {
    if (this.state === "closed") {
      if (!isJsonSpace(code)) this.state = "broken";
      return;
    }
    if (this.state === "empty") {
      if (isJsonSpace(code)) return;
      if (!opensContainer(code) && code !== QUOTE) {
        this.state = "broken";
        return;
      }
      this.state = "open";
    }
    if (this.nesting.step(code)) this.state = "closed";
  }

  /** Whether the text so far is one whole JSON object, array or string (JSON.parse agrees); at most one parse per appended text. */
  complete(): boolean {
    if (this.state !== "closed") return false;
    this.verdict ??= parses(this.text);
    return this.verdict;
  }
}

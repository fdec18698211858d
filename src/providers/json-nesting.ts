/**
 * Character-level JSON structure for scanners that must not parse a text again and again as it
 * grows (streamed tool-call arguments, a streamed JSON array): where brackets open and close,
 * outside strings and escapes. One character at a time, no allocation.
 */

/** `{` */
export const OPEN_BRACE = 0x7b;
/** `[` */
export const OPEN_BRACKET = 0x5b;
/** `"` */
export const QUOTE = 0x22;
/** `,` */
export const COMMA = 0x2c;
/** `]` */
export const CLOSE_BRACKET = 0x5d;
const CLOSE_BRACE = 0x7d;
const BACKSLASH = 0x5c;

/** Whether the character is JSON whitespace (space, tab, LF, CR). */
export function isJsonSpace(code: number): boolean {
  return code === 0x20 || code === 0x0a || code === 0x0d || code === 0x09;
}

/** Whether the character opens an object or an array. */
export function opensContainer(code: number): boolean {
  return code === OPEN_BRACE || code === OPEN_BRACKET;
}

/** The nesting of one JSON value being scanned: bracket depth, and whether inside a string (after a backslash). */
export class JsonNesting {
  private depth = 0;
  private inString = false;
  private escaped = false;

  /** How many arrays and objects are open at this point. */
  get level(): number {
    return this.depth;
  }

  /** Steps over one character of the value (its first included); true when it closed the value (its outermost bracket, or a top-level string). */
  step(code: number): boolean {
    if (this.inString) {
      if (this.escaped) this.escaped = false;
      else if (code === BACKSLASH) this.escaped = true;
      else if (code === QUOTE) {
        this.inString = false;
        return this.depth === 0;
      }
      return false;
    }
    if (code === QUOTE) this.inString = true;
    else if (opensContainer(code)) this.depth++;
    else if (code === CLOSE_BRACE || code === CLOSE_BRACKET) return --this.depth === 0;
    return false;
  }
}

/**
 * Whether JSON text nests arrays and objects deeper than `maxDepth` (strings and escapes skipped).
 * Parsing such text is fine, but writing or translating the value again recurses once a level: a
 * caller's tool arguments or result 5,000 levels deep overflowed the stack, which the route took
 * for the provider's fault.
 */
export function nestsDeeperThan(text: string, maxDepth: number): boolean {
  const nesting = new JsonNesting();
  for (let index = 0; index < text.length; index++) {
    nesting.step(text.charCodeAt(index));
    if (nesting.level > maxDepth) return true;
  }
  return false;
}

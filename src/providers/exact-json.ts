import { JsonNesting, QUOTE, isJsonSpace, opensContainer } from "./json-nesting.js";

/**
 * JSON numbers as they were written. JSON.parse reads every number as a double, so an integer
 * beyond 2^53 (an order id), a decimal with more digits than a double holds, or one out of its
 * range (1e400) comes out changed when the parsed value is written again. Where the gateway
 * rewrites a JSON value it did not make (tool-call arguments, tool results), these keep such
 * numbers as the text had them. The cheap test ({@link hasInexactNumbers}) runs first; the rest
 * only when it finds one, which real traffic rarely holds.
 */

/** Whether the character code is an ASCII digit. */
function isDigit(code: number): boolean {
  return code >= 0x30 && code <= 0x39;
}

/**
 * Whether the text holds something that may be a number a double does not survive: 16 digits in a
 * row (a double holds 15 significant digits exactly), 17 characters of digits and dots from a digit
 * (digits around a decimal point), or a 3-digit exponent. One pass, no backtracking: the regex
 * `\d{16}|\d[\d.]{16}|[eE][+-]?\d{3}` it replaces took ~30 steps per character on digit-heavy text
 * (2 s for a 20 MB answer of 15-digit numbers, the event loop blocked throughout).
 */
function mayBeInexact(text: string): boolean {
  let digits = 0;
  let fromDigit = 0;
  for (let index = 0; index < text.length; index++) {
    const code = text.charCodeAt(index);
    if (isDigit(code)) {
      digits++;
      fromDigit++;
      if (digits >= 16 || fromDigit >= 17) return true;
    } else if (code === 0x2e /* . */) {
      digits = 0;
      if (fromDigit > 0 && ++fromDigit >= 17) return true;
    } else {
      digits = 0;
      fromDigit = 0;
      if (code === 0x65 || code === 0x45 /* e E */) {
        let at = index + 1;
        const sign = text.charCodeAt(at);
        if (sign === 0x2b || sign === 0x2d) at++;
        if (isDigit(text.charCodeAt(at)) && isDigit(text.charCodeAt(at + 1)) && isDigit(text.charCodeAt(at + 2))) return true;
      }
    }
  }
  return false;
}
const NUMBER_FORM = /^(-?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/;
const COLON = 0x3a;
const COMMA = 0x2c;
const CLOSE_BRACE = 0x7d;
const CLOSE_BRACKET = 0x5d;

/** A number's decimal value in one canonical form (digits without leading or trailing zeros, and a power of ten). */
function decimalValue(token: string): string {
  const match = NUMBER_FORM.exec(token);
  if (!match) return token;
  const [, sign = "", whole = "", fraction = "", exponent = "0"] = match;
  let digits = (whole + fraction).replace(/^0+/, "");
  let power = Number(exponent) - fraction.length;
  const trimmed = digits.replace(/0+$/, "");
  power += digits.length - trimmed.length;
  digits = trimmed;
  return digits === "" ? "0" : `${sign}${digits}e${power}`;
}

/** Whether the number token keeps its value through a double. */
function exactNumber(token: string): boolean {
  const value = Number(token);
  return Number.isFinite(value) && decimalValue(token) === decimalValue(String(value));
}

function isNumberCharacter(code: number): boolean {
  return (code >= 0x30 && code <= 0x39) || code === 0x2d || code === 0x2b || code === 0x2e || code === 0x65 || code === 0x45;
}

/**
 * Whether some number of the JSON text changes through JSON.parse and JSON.stringify. False means
 * that writing the parsed value again gives the same numbers (whitespace and `1.10` → `1.1` aside).
 */
export function hasInexactNumbers(text: string): boolean {
  if (!mayBeInexact(text)) return false;
  let index = 0;
  while (index < text.length) {
    const code = text.charCodeAt(index);
    if (code === QUOTE) {
      index = afterValue(text, index);
    } else if (code === 0x2d || (code >= 0x30 && code <= 0x39)) {
      let end = index + 1;
      while (end < text.length && isNumberCharacter(text.charCodeAt(end))) end++;
      if (!exactNumber(text.slice(index, end))) return true;
      index = end;
    } else index++;
  }
  return false;
}

function skipSpace(text: string, index: number): number {
  while (index < text.length && isJsonSpace(text.charCodeAt(index))) index++;
  return index;
}

/** The index just after the value that starts at `start` (a container, a string or a scalar). */
function afterValue(text: string, start: number): number {
  const code = text.charCodeAt(start);
  if (opensContainer(code) || code === QUOTE) {
    const nesting = new JsonNesting();
    for (let index = start; index < text.length; index++) if (nesting.step(text.charCodeAt(index))) return index + 1;
    return text.length;
  }
  let index = start;
  while (index < text.length) {
    const next = text.charCodeAt(index);
    if (next === COMMA || next === CLOSE_BRACE || next === CLOSE_BRACKET || isJsonSpace(next)) break;
    index++;
  }
  return index;
}

/** Calls `onMember(key, valueStart)` for each member of the object at `start` and returns the index after it; `onMember` returns where the value ends. */
function eachMember(text: string, start: number, onMember: (key: string, valueStart: number) => number): number {
  let index = skipSpace(text, start + 1);
  while (index < text.length && text.charCodeAt(index) === QUOTE) {
    const keyEnd = afterValue(text, index);
    const key = JSON.parse(text.slice(index, keyEnd)) as string;
    index = skipSpace(text, keyEnd);
    if (text.charCodeAt(index) !== COLON) break;
    index = skipSpace(text, onMember(key, skipSpace(text, index + 1)));
    if (text.charCodeAt(index) === COMMA) index = skipSpace(text, index + 1);
  }
  return index + 1;
}

/**
 * For valid JSON text holding an object with an array under `arrayKey`: the source text of
 * `memberKey` in each element of that array, by the element's index (undefined where an element
 * has none). Source text is exact where JSON.parse is not (see {@link hasInexactNumbers}).
 */
export function memberSources(text: string, arrayKey: string, memberKey: string): (string | undefined)[] {
  const sources: (string | undefined)[] = [];
  const start = skipSpace(text, 0);
  if (text.charCodeAt(start) !== 0x7b) return sources;
  eachMember(text, start, (key, valueStart) => {
    if (key !== arrayKey || text.charCodeAt(valueStart) !== 0x5b) return afterValue(text, valueStart);
    // JSON.parse keeps a repeated key's last value: so do these sources.
    sources.length = 0;
    let index = skipSpace(text, valueStart + 1);
    while (index < text.length && text.charCodeAt(index) !== CLOSE_BRACKET) {
      const element = sources.length;
      sources.push(undefined);
      const end = text.charCodeAt(index) !== 0x7b
        ? afterValue(text, index)
        : eachMember(text, index, (member, memberStart) => {
            const memberEnd = afterValue(text, memberStart);
            if (member === memberKey) sources[element] = text.slice(memberStart, memberEnd);
            return memberEnd;
          });
      index = skipSpace(text, end);
      if (text.charCodeAt(index) === COMMA) index = skipSpace(text, index + 1);
    }
    return index + 1;
  });
  return sources;
}

/** A placeholder no JSON text of ours holds: the NUL character is always escaped by JSON.stringify. */
const PLACEHOLDER = `\u0000exact-json:${Math.random().toString(36).slice(2)}:`;

/**
 * JSON.stringify(value), except that each object found in `sources` is written as its source text
 * (valid JSON that parses to it, numbers as written).
 */
export function stringifyWithSources(value: unknown, sources: ReadonlyMap<object, string>): string {
  const used: string[] = [];
  const text = JSON.stringify(value, (_key, member: unknown) => {
    const source = typeof member === "object" && member !== null ? sources.get(member) : undefined;
    if (source === undefined) return member;
    used.push(source);
    return `${PLACEHOLDER}${used.length - 1}`;
  });
  let out = text;
  used.forEach((source, index) => {
    out = out.split(JSON.stringify(`${PLACEHOLDER}${index}`)).join(source);
  });
  return out;
}

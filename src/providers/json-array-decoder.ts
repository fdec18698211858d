import { Code } from "@connectrpc/connect";
import { gatewayError, type GatewayError, Reason } from "../core/errors.js";
import { CLOSE_BRACKET, COMMA, isJsonSpace, JsonNesting, OPEN_BRACE, OPEN_BRACKET } from "./json-nesting.js";
import type { SseEvent } from "./sse-decoder.js";

/**
 * A push decoder for a streamed body that is one JSON array of objects (`[{…},\n{…}]`, Gemini's
 * `streamGenerateContent` without `alt=sse`), or one bare object: each element comes out as an
 * event (`data` = the element's JSON text) as soon as its closing brace arrives, so the answer is
 * translated, and its timeouts see progress, as it streams. The same interface as SseParser
 * (`push` and `end` return the events completed). Linear: each character is scanned once, and an
 * element spanning chunks is joined once. Throws INVALID_PROVIDER_RESPONSE for a body that is not
 * such an array (or ends inside one), and for an element over `maxEventChars`.
 */
export class JsonArrayDecoder {
  private readonly decoder = new TextDecoder("utf-8");
  /** before: nothing but whitespace yet; between: inside the array, between elements; element: inside one; after: the array (or bare object) closed. */
  private state: "before" | "between" | "element" | "after" = "before";
  private bare = false;
  private nesting = new JsonNesting();
  /** The current element's text from earlier chunks. */
  private pieces: string[] = [];
  private pieceChars = 0;

  constructor(
    private readonly maxEventChars: number,
    private readonly provider: string,
  ) {}

  private malformed(detail: string): GatewayError {
    return gatewayError(Code.Internal, Reason.INVALID_PROVIDER_RESPONSE, `provider "${this.provider}" sent a stream that is not a JSON array of objects: ${detail}`, { provider: this.provider, afterFirstByte: true });
  }

  /** Feeds one chunk of the body; returns the elements it completed. */
  push(chunk: Uint8Array): SseEvent[] {
    const out: SseEvent[] = [];
    this.scan(this.decoder.decode(chunk, { stream: true }), out);
    return out;
  }

  /** Ends the body: throws unless the array (or the bare object) was closed. */
  end(): SseEvent[] {
    const out: SseEvent[] = [];
    this.scan(this.decoder.decode(), out);
    if (this.state !== "after") throw this.malformed(this.state === "before" ? "the body is empty" : "the body ended inside it");
    return out;
  }

  private scan(text: string, out: SseEvent[]): void {
    let start = this.state === "element" ? 0 : -1;
    for (let at = 0; at < text.length; at++) {
      const code = text.charCodeAt(at);
      if (this.state === "element") {
        if (!this.nesting.step(code)) continue;
        out.push({ event: "message", data: this.take(text.slice(start, at + 1)) });
        this.state = this.bare ? "after" : "between";
        start = -1;
        continue;
      }
      if (isJsonSpace(code)) continue;
      if (this.state === "before" && code === OPEN_BRACKET) {
        this.state = "between";
      } else if ((this.state === "before" || this.state === "between") && code === OPEN_BRACE) {
        this.bare = this.state === "before";
        this.state = "element";
        this.nesting = new JsonNesting();
        this.nesting.step(code);
        start = at;
      } else if (this.state === "between" && code === COMMA) {
        // Between elements (a stray comma is tolerated: JSON.parse of each element still checks it).
      } else if (this.state === "between" && code === CLOSE_BRACKET) {
        this.state = "after";
      } else {
        throw this.malformed(`unexpected '${text[at] ?? ""}'`);
      }
    }
    if (this.state === "element" && start !== -1) this.keep(text.slice(start));
  }

  private keep(piece: string): void {
    this.pieceChars += piece.length;
    if (this.pieceChars > this.maxEventChars) throw gatewayError(Code.Internal, Reason.INVALID_PROVIDER_RESPONSE, `provider "${this.provider}" sent an oversized stream event`, { provider: this.provider, afterFirstByte: true });
    this.pieces.push(piece);
  }

  private take(last: string): string {
    if (this.pieces.length === 0) return last;
    this.keep(last);
    const whole = this.pieces.join("");
    this.pieces = [];
    this.pieceChars = 0;
    return whole;
  }
}

/**
 * Reading a request body in the test servers (fake-upstream.ts, dialect-upstream.ts).
 */
import type http from "node:http";

/**
 * Collects the whole body of `request`, then calls `onBody` with its text and the JSON it parses
 * to (undefined when the body is empty or not JSON).
 */
export function onRequestBody(request: http.IncomingMessage, onBody: (text: string, body: unknown) => void): void {
  const pieces: Buffer[] = [];
  request.on("data", (piece: Buffer) => pieces.push(piece));
  request.on("end", () => {
    const text = Buffer.concat(pieces).toString("utf8");
    let body: unknown;
    try {
      body = text ? JSON.parse(text) : undefined;
    } catch {
      body = undefined;
    }
    onBody(text, body);
  });
}

/**
 * A raw TCP client for byte-level HTTP tests: it collects everything the server sends (as latin1
 * text) and tells when the connection closed.
 */
import net from "node:net";

/** A connection to 127.0.0.1:`port`, once connected: its socket, what it received so far, and when it closed. */
export async function connectRaw(port: number): Promise<{ socket: net.Socket; received: () => string; closed: Promise<void> }> {
  const socket = net.connect(port, "127.0.0.1");
  let text = "";
  socket.setEncoding("latin1");
  socket.on("data", (chunk: string) => (text += chunk));
  socket.on("error", () => undefined);
  const closed = new Promise<void>((resolve) => socket.once("close", () => resolve()));
  await new Promise<void>((resolve) => socket.once("connect", () => resolve()));
  return { socket, received: () => text, closed };
}

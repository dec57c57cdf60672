/**
 * @module
 * One node:http request through Sluice's handler: the Web `Request` in, the `Response` out — a
 * stream made by `streamResponse` drained into the socket, any other body written whole.
 */
import type * as http from "node:http";
import type { ListenOptions } from "../types.ts";
import { bodyFor, toRequest } from "./request.ts";
import { NodeConn } from "./conn.ts";
import { DirectDrain } from "./drain.ts";

const NO_BODY = new Set(["GET", "HEAD"]);

/** A response has gone out before its request's body was read whole: the connection cannot carry another. */
function cutIfUnread(this: http.ServerResponse): void {
  if (!this.req.complete) this.req.socket.destroy();
}

export async function respond(
  req: http.IncomingMessage,
  res: http.ServerResponse,
  opts: ListenOptions,
  idleMs: number,
): Promise<void> {
  const method = req.method ?? "GET";
  const request = toRequest(req, opts, NO_BODY.has(method) ? undefined : await bodyFor(req));
  // The URL is the Request's now. node:http's copy would stay for a stream's whole life, and a
  // connect URL carries its token (`cf_connect`): hundreds of bytes per idle connection.
  req.url = "";
  const conn = new NodeConn(req, res, idleMs);
  const response = await opts.handler(request, conn);
  // A body we stopped reading cannot be followed by another request on this connection. One that
  // has arrived whole by now — a GET's empty one, most API calls' — needs no watch (a stream kept
  // it for its whole life when it was set before the handler, while node:http was still parsing).
  if (!req.complete) res.once("finish", cutIfUnread);
  const direct = conn.direct?.response === response ? conn.direct.source : undefined;
  conn.direct = undefined;
  const out: Record<string, string | string[]> = {};
  response.headers.forEach((value, name) => {
    if (name !== "set-cookie") out[name] = value;
  });
  const cookies = response.headers.getSetCookie();
  if (cookies.length) out["set-cookie"] = cookies;
  if (direct !== undefined) {
    res.writeHead(response.status, response.statusText || undefined, out);
    res.flushHeaders();
    const drain = new DirectDrain(direct, res);
    conn.drainedBy(drain);
    drain.begin();
    return;
  }
  // Every stream Sluice serves comes through `streamResponse`: any other body is a finished answer
  // (JSON, text, a page), read whole by the runtime and written in one go — pumping it through a
  // stream reader cost more than the rest of a server API call.
  const body = response.body ? new Uint8Array(await response.arrayBuffer()) : undefined;
  if (body !== undefined) out["content-length"] = String(body.byteLength);
  res.writeHead(response.status, response.statusText || undefined, out);
  res.end(body);
}

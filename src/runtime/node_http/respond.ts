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

export async function respond(
  req: http.IncomingMessage,
  res: http.ServerResponse,
  opts: ListenOptions,
  idleMs: number,
): Promise<void> {
  const method = req.method ?? "GET";
  const request = toRequest(req, opts, NO_BODY.has(method) ? undefined : await bodyFor(req));
  const conn = new NodeConn(req, res, idleMs);
  // A body we stopped reading cannot be followed by another request on this connection (one that
  // has arrived whole, as most API calls have, needs no watch).
  if (!req.complete) {
    res.once("finish", () => {
      if (!req.complete) req.socket.destroy();
    });
  }
  const response = await opts.handler(request, conn);
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
    new DirectDrain(direct, res).begin();
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

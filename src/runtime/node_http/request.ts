/**
 * @module
 * A node:http request as a Web `Request`: the URL, the headers as name/value pairs, and the body —
 * the bytes themselves when node:http has parsed all of it, else a stream read at the handler's pace.
 */
import type * as http from "node:http";
import type { Buffer } from "node:buffer";
import type { ListenOptions } from "../types.ts";
import { joinBytes } from "../../bytes.ts";

export function toRequest(
  req: http.IncomingMessage,
  opts: ListenOptions,
  body?: Uint8Array | ReadableStream<Uint8Array>,
): Request {
  const scheme = opts.tls ? "https" : "http";
  const url = `${scheme}://${req.headers.host ?? `${opts.hostname}:${opts.port}`}${req.url ?? "/"}`;
  // Name/value pairs, not a Headers object: the Request copies a Headers object one guarded entry at
  // a time, twice the cost of taking pairs (~6 µs of every request on Deno).
  const headers: [string, string][] = [];
  for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) {
    headers.push([req.rawHeaders[i], req.rawHeaders[i + 1]]);
  }
  // @ts-ignore: a streamed request body (fetch's `duplex`), not in every lib's RequestInit
  return new Request(url, { method: req.method ?? "GET", headers, body, duplex: "half" });
}

/**
 * A request's body for the Web `Request`. A small body usually comes in the same packet as its
 * head, and node:http has parsed all of it a moment after announcing the request: then it goes
 * over as the bytes themselves. Otherwise (still arriving, or large) as a stream, read at the
 * handler's pace and under its limits. A stream per API call cost about a third of the call.
 */
export async function bodyFor(req: http.IncomingMessage): Promise<Uint8Array | ReadableStream<Uint8Array>> {
  await undefined; // node:http parses the rest of the packet after the 'request' event
  if (!req.complete) return bodyOf(req);
  const chunks: Buffer[] = [];
  for (let chunk: Buffer | null; (chunk = req.read()) !== null;) chunks.push(chunk);
  if (chunks.length === 1) {
    return new Uint8Array(chunks[0].buffer, chunks[0].byteOffset, chunks[0].byteLength);
  }
  return joinBytes(chunks);
}

/** An IncomingMessage as a Web stream (its chunks are Buffers of their own). */
function bodyOf(req: http.IncomingMessage): ReadableStream<Uint8Array> {
  const iterator = req[Symbol.asyncIterator]();
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const { done, value } = await iterator.next();
        if (done) controller.close();
        else controller.enqueue(new Uint8Array(value.buffer, value.byteOffset, value.byteLength));
      } catch (err) {
        controller.error(err);
      }
    },
    cancel() {
      // Stop reading; the answer (413, 408, …) still goes out, then the connection closes (respond.ts).
      req.pause();
    },
  });
}

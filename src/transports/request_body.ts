/**
 * @module
 * Reading a request body with bounds on what it costs: at most `maxBytes` of memory (about twice
 * that while the buffer grows) and at most `timeoutMs` of waiting.
 *
 * The bytes are copied out of each chunk as it arrives. Deno hands body data over as small views
 * into 64 KiB buffers: keeping the views (and counting only their length) let 60 KB of one-byte
 * writes hold 2 GB. A deadline for the whole body stops a client that sends one byte a second
 * (it is never idle, so no idle timeout catches it).
 */
import type { Node } from "../core/node.ts";
import { statusResponse } from "../http/responses.ts";
import { bodiesBufferCompactly } from "../runtime/serve.ts";

export interface BodyLimits {
  /** Largest body accepted, in bytes. */
  maxBytes: number;
  /** Milliseconds the whole body may take to arrive; 0 = no deadline. */
  timeoutMs: number;
}

/**
 * Limits for a connection request's body: it carries the connect command, which Centrifugo
 * expects within `client_stale_close_delay` of the transport opening.
 */
export function connectBodyLimits(node: Node, maxBytes: number): BodyLimits {
  return { maxBytes, timeoutMs: node.config.client_stale_close_delay };
}

export class BodyTooLargeError extends Error {
  override name = "BodyTooLargeError";
}

export class BodyTimeoutError extends Error {
  override name = "BodyTimeoutError";
}

const EMPTY: Uint8Array<ArrayBuffer> = new Uint8Array(0);
/** Decided once: the runtime does not change under a running server. */
const WHOLE_READS_ARE_COMPACT = bodiesBufferCompactly();
/** First buffer size when the body's length was not declared. */
const INITIAL_CAPACITY = 1024;
/** Largest first buffer, whatever length was declared: memory follows the bytes that arrive. */
const MAX_INITIAL_CAPACITY = 65_536;

/** The body's bytes, refusing more than `maxBytes` and giving up after `timeoutMs`. */
export async function readBodyBytes(req: Request, limits: BodyLimits): Promise<Uint8Array<ArrayBuffer>> {
  if (readsWhole(req, limits)) return new Uint8Array(await readWhole(req, limits.timeoutMs, "bytes"));
  if (!req.body) return EMPTY;
  const declared = Number(req.headers.get("content-length") ?? NaN);
  const reader = req.body.getReader();
  let timedOut = false;
  const deadline = limits.timeoutMs > 0
    ? setTimeout(() => {
      timedOut = true;
      reader.cancel().catch(() => {}); // a pending read then returns done
    }, limits.timeoutMs)
    : undefined;
  const expected = Number.isFinite(declared) && declared > 0 ? declared : INITIAL_CAPACITY;
  let buf: Uint8Array<ArrayBuffer> = new Uint8Array(
    Math.min(limits.maxBytes, expected, MAX_INITIAL_CAPACITY),
  );
  let size = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (timedOut) throw new BodyTimeoutError();
      if (done) break;
      const end = size + value.byteLength;
      if (end > limits.maxBytes) {
        await reader.cancel().catch(() => {});
        throw new BodyTooLargeError();
      }
      if (end > buf.byteLength) {
        const grown = new Uint8Array(Math.min(limits.maxBytes, Math.max(end, buf.byteLength * 2)));
        grown.set(buf.subarray(0, size));
        buf = grown;
      }
      buf.set(value, size); // a copy: `value` may be a view into a much larger runtime buffer
      size = end;
    }
  } finally {
    clearTimeout(deadline);
  }
  return size === buf.byteLength ? buf : buf.subarray(0, size);
}

/**
 * True when the runtime can read the whole body itself: its length is declared (and within the
 * limit: over it throws 413 before anything is read) and bodies are buffered compactly. The
 * runtime then reads exactly that many bytes into one buffer, natively — far cheaper than a
 * stream reader (a third of an API call) — and the request's stream is never made.
 */
function readsWhole(req: Request, limits: BodyLimits): boolean {
  const length = req.headers.get("content-length");
  if (length === null) return false;
  const declared = Number(length);
  if (declared > limits.maxBytes) throw new BodyTooLargeError();
  return Number.isFinite(declared) && WHOLE_READS_ARE_COMPACT && !req.headers.has("transfer-encoding");
}

/**
 * The runtime's own whole-body read, with the same deadline: one promise settled by the read or
 * the deadline, whichever comes first (no race of two promises per request).
 */
function readWhole<K extends "bytes" | "text">(
  req: Request,
  timeoutMs: number,
  as: K,
): Promise<K extends "text" ? string : ArrayBuffer> {
  type Out = K extends "text" ? string : ArrayBuffer;
  return new Promise<Out>((resolve, reject) => {
    const deadline = timeoutMs > 0 ? setTimeout(() => reject(new BodyTimeoutError()), timeoutMs) : undefined;
    (as === "text" ? req.text() : req.arrayBuffer()).then(
      (body) => {
        clearTimeout(deadline);
        resolve(body as Out);
      },
      (err) => {
        clearTimeout(deadline);
        reject(err);
      },
    );
  });
}

/** Stateless between calls (no `stream` option): one decoder for every body. */
const utf8 = new TextDecoder();

/** The body as UTF-8 text (see `readBodyBytes`); decoded by the runtime when it reads it whole. */
export async function readBodyText(req: Request, limits: BodyLimits): Promise<string> {
  if (readsWhole(req, limits)) return await readWhole(req, limits.timeoutMs, "text");
  return utf8.decode(await readBodyBytes(req, limits));
}

/**
 * The response that refuses a body which could not be read: 413 over the size limit, 408 past
 * the deadline (the connection is closed: the rest of the body is never read), 499 when the
 * client went away while sending it.
 */
export function bodyErrorResponse(err: unknown): Response {
  // As Centrifugo: the status alone, no body.
  if (err instanceof BodyTooLargeError) return new Response(null, { status: 413 });
  if (err instanceof BodyTimeoutError) return statusResponse(408, { Connection: "close" });
  return statusResponse(499);
}

/** A request's body as text, or the response that refuses it (see `bodyErrorResponse`). */
export async function readRequestBody(req: Request, limits: BodyLimits): Promise<string | Response> {
  try {
    return await readBodyText(req, limits);
  } catch (err) {
    return bodyErrorResponse(err);
  }
}

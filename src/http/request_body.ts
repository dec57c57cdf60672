/**
 * @module
 * Reading a request body with bounds on what it costs: at most `maxBytes` of memory (about twice
 * that while the buffer grows) and at most `timeoutMs` of waiting. A body that cannot be read
 * comes back as the response that refuses it (every caller answers with it as it is), so reading
 * never throws: 413 over the size limit, 408 past the deadline (the connection is closed: the rest
 * of the body is never read), 499 when the client went away while sending it.
 *
 * The bytes are copied out of each chunk as it arrives. Deno hands body data over as small views
 * into 64 KiB buffers: keeping the views (and counting only their length) let 60 KB of one-byte
 * writes hold 2 GB. A deadline for the whole body stops a client that sends one byte a second
 * (it is never idle, so no idle timeout catches it).
 */
import { statusResponse } from "./responses.ts";
import { bodiesBufferCompactly } from "../runtime/serve.ts";

export interface BodyLimits {
  /** Largest body accepted, in bytes. */
  maxBytes: number;
  /** Milliseconds the whole body may take to arrive; 0 = no deadline. */
  timeoutMs: number;
}

// As Centrifugo: the status alone, no body.
const tooLarge = (): Response => statusResponse(413);
const timedOut = (): Response => statusResponse(408, { Connection: "close" });
const clientGone = (): Response => statusResponse(499);

const EMPTY: Uint8Array<ArrayBuffer> = new Uint8Array(0);
/** Decided once: the runtime does not change under a running server. */
const WHOLE_READS_ARE_COMPACT = bodiesBufferCompactly();
/** First buffer size when the body's length was not declared. */
const INITIAL_CAPACITY = 1024;
/** Largest first buffer, whatever length was declared: memory follows the bytes that arrive. */
const MAX_INITIAL_CAPACITY = 65_536;

/** The body's bytes, or the response that refuses it. */
export function readBodyBytes(req: Request, limits: BodyLimits): Promise<Uint8Array<ArrayBuffer> | Response> {
  const whole = readsWhole(req, limits);
  if (whole === "too large") return Promise.resolve(tooLarge());
  return whole ? readWhole(req, limits.timeoutMs, "bytes") : readStreamed(req, limits);
}

/** Stateless between calls (no `stream` option): one decoder for every body. */
const utf8 = new TextDecoder();

/**
 * The body as UTF-8 text, or the response that refuses it; decoded by the runtime when it reads
 * it whole.
 */
export function readBodyText(req: Request, limits: BodyLimits): Promise<string | Response> {
  const whole = readsWhole(req, limits);
  if (whole === "too large") return Promise.resolve(tooLarge());
  if (whole) return readWhole(req, limits.timeoutMs, "text");
  return readStreamed(req, limits).then((bytes) => bytes instanceof Response ? bytes : utf8.decode(bytes));
}

/**
 * True when the runtime can read the whole body itself: its length is declared (and within the
 * limit: over it is 413 before anything is read) and bodies are buffered compactly. The runtime
 * then reads exactly that many bytes into one buffer, natively — far cheaper than a stream reader
 * (a third of an API call) — and the request's stream is never made.
 */
function readsWhole(req: Request, limits: BodyLimits): boolean | "too large" {
  const length = req.headers.get("content-length");
  if (length === null) return false;
  const declared = Number(length);
  if (declared > limits.maxBytes) return "too large";
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
): Promise<(K extends "text" ? string : Uint8Array<ArrayBuffer>) | Response> {
  type Out = (K extends "text" ? string : Uint8Array<ArrayBuffer>) | Response;
  return new Promise<Out>((resolve) => {
    const deadline = timeoutMs > 0 ? setTimeout(() => resolve(timedOut()), timeoutMs) : undefined;
    (as === "text" ? req.text() : req.arrayBuffer()).then(
      (body) => {
        clearTimeout(deadline);
        resolve((typeof body === "string" ? body : new Uint8Array(body)) as Out);
      },
      () => {
        clearTimeout(deadline);
        resolve(clientGone());
      },
    );
  });
}

/** The body read chunk by chunk through the request's stream, each chunk copied as it arrives. */
async function readStreamed(req: Request, limits: BodyLimits): Promise<Uint8Array<ArrayBuffer> | Response> {
  if (!req.body) return EMPTY;
  const declared = Number(req.headers.get("content-length") ?? NaN);
  let deadline: ReturnType<typeof setTimeout> | undefined;
  try {
    const reader = req.body.getReader();
    let expired = false;
    if (limits.timeoutMs > 0) {
      deadline = setTimeout(() => {
        expired = true;
        reader.cancel().catch(() => {}); // a pending read then returns done
      }, limits.timeoutMs);
    }
    const expected = Number.isFinite(declared) && declared > 0 ? declared : INITIAL_CAPACITY;
    let buf: Uint8Array<ArrayBuffer> = new Uint8Array(
      Math.min(limits.maxBytes, expected, MAX_INITIAL_CAPACITY),
    );
    let size = 0;
    for (;;) {
      const { done, value } = await reader.read();
      if (expired) return timedOut();
      if (done) break;
      const end = size + value.byteLength;
      if (end > limits.maxBytes) {
        await reader.cancel().catch(() => {});
        return tooLarge();
      }
      if (end > buf.byteLength) {
        const grown = new Uint8Array(Math.min(limits.maxBytes, Math.max(end, buf.byteLength * 2)));
        grown.set(buf.subarray(0, size));
        buf = grown;
      }
      buf.set(value, size); // a copy: `value` may be a view into a much larger runtime buffer
      size = end;
    }
    return size === buf.byteLength ? buf : buf.subarray(0, size);
  } catch {
    return clientGone();
  } finally {
    clearTimeout(deadline);
  }
}

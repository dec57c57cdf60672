/**
 * @module
 * A minimal HTTP/1.1 client over a raw socket, for streams whose chunking matters: `fetch` may join
 * or split what arrives, this reads the chunked encoding itself and reports each HTTP chunk as the
 * server framed it (an `eventsource@2` client drops an SSE event that shares its chunk with the
 * `\r\n` preamble, so the first chunk is compared).
 */
import net from "node:net";
import { joinBytes } from "../../src/bytes.ts";

export interface RawResponse {
  status: number;
  headers: Headers;
  /** The body, de-chunked. */
  body: ReadableStream<Uint8Array>;
  /** Each HTTP chunk as sent (chunked responses), in order. */
  chunks: Uint8Array[];
  /** The server hung up (or reset) before the body's end: the body ends, this says it was cut. */
  cut: boolean;
}

const CRLF = "\r\n";

export function rawRequest(
  url: string,
  init: { method: string; headers: Record<string, string>; body?: string | Uint8Array },
  signal: AbortSignal,
): Promise<RawResponse> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(u.port), u.hostname);
    // the client hanging up ends the body as fetch's abort does (the reader sees the end)
    signal.addEventListener("abort", () => end(), { once: true });
    const body = typeof init.body === "string" ? new TextEncoder().encode(init.body) : init.body;
    socket.on("connect", () => {
      let head = `${init.method} ${u.pathname}${u.search} HTTP/1.1${CRLF}Host: ${u.host}${CRLF}`;
      for (const [k, v] of Object.entries(init.headers)) head += `${k}: ${v}${CRLF}`;
      if (body) head += `Content-Length: ${body.byteLength}${CRLF}`;
      socket.write(head + CRLF);
      if (body) socket.write(body);
    });
    let buf = new Uint8Array(0);
    let response: RawResponse | undefined;
    let controller!: ReadableStreamDefaultController<Uint8Array>;
    let mode: "chunked" | "length" | "close" = "close";
    let left = 0; // bytes left of the current chunk, or of a Content-Length body
    const chunks: Uint8Array[] = [];
    let current: Uint8Array[] = [];
    const append = (d: Uint8Array) => {
      const joined = new Uint8Array(buf.length + d.length);
      joined.set(buf);
      joined.set(d, buf.length);
      buf = joined;
    };
    let finished = false;
    const end = () => {
      finished = true;
      try {
        controller?.close();
      } catch {
        // closed already
      }
      socket.destroy();
    };
    const pump = () => {
      if (!response) {
        const at = indexOf(buf, "\r\n\r\n");
        if (at < 0) return;
        const lines = new TextDecoder().decode(buf.subarray(0, at)).split(CRLF);
        buf = buf.subarray(at + 4);
        const headers = new Headers();
        for (const line of lines.slice(1)) {
          const colon = line.indexOf(":");
          if (colon > 0) headers.append(line.slice(0, colon).trim(), line.slice(colon + 1).trim());
        }
        if (headers.get("transfer-encoding")?.toLowerCase() === "chunked") mode = "chunked";
        else if (headers.has("content-length")) {
          mode = "length";
          left = Number(headers.get("content-length"));
        }
        const stream = new ReadableStream<Uint8Array>({ start: (c) => void (controller = c) });
        response = { status: Number(lines[0].split(" ")[1]), headers, body: stream, chunks, cut: false };
        resolve(response);
        if (mode === "length" && left === 0) return end();
      }
      for (;;) {
        if (mode === "close") {
          if (buf.length) controller.enqueue(buf);
          buf = new Uint8Array(0);
          return;
        }
        if (mode === "length") {
          const take = buf.subarray(0, left);
          if (take.length) controller.enqueue(take);
          left -= take.length;
          buf = buf.subarray(take.length);
          if (left === 0) end();
          return;
        }
        // chunked: size line, data, CRLF
        if (left === 0) {
          const at = indexOf(buf, CRLF);
          if (at < 0) return;
          left = parseInt(new TextDecoder().decode(buf.subarray(0, at)), 16);
          buf = buf.subarray(at + 2);
          if (left === 0) return end();
          left += 2; // the chunk's trailing CRLF
        }
        if (buf.length === 0) return;
        const take = buf.subarray(0, left);
        buf = buf.subarray(take.length);
        left -= take.length;
        const data = left >= 2 ? take : take.subarray(0, Math.max(0, take.length - (2 - left)));
        if (data.length) {
          controller.enqueue(data);
          current.push(data);
        }
        if (left === 0) {
          chunks.push(joinBytes(current));
          current = [];
        }
      }
    };
    socket.on("data", (d: Uint8Array) => {
      append(d);
      pump();
    });
    socket.on("end", () => {
      if (finished) return;
      if (!response) return reject(new Error("connection closed before the response head"));
      // the server hung up without finishing the body: cut, not ended (what came is kept)
      if (mode === "chunked" || (mode === "length" && left > 0)) response.cut = true;
      end();
    });
    socket.on("error", (err) => {
      if (finished) return;
      if (!response) return reject(err);
      response.cut = true; // a reset
      end();
    });
  });
}

function indexOf(buf: Uint8Array, text: string): number {
  const needle = new TextEncoder().encode(text);
  outer: for (let i = 0; i + needle.length <= buf.length; i++) {
    for (let j = 0; j < needle.length; j++) if (buf[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}

/**
 * @module
 * The control port of the "Simple SSE Server" drop-in (chabberwock/sse): `/token/` signs a token
 * for (channel, userId), `/emit/` publishes an event to the node channel of (channel, userId)
 * (core/simple_sse_channel.ts), where the `/events/` streams (transports/simple_sse.ts) of every
 * node take it. Served on its own private listener.
 */
import type { Node } from "../core/node.ts";
import { textResponse } from "../http/responses.ts";
import { readBodyBytes } from "../http/request_body.ts";
import { queryOf } from "../http/request_url.ts";
import type { HmacKeys } from "../auth/hmac_keys.ts";
import { signSimpleToken } from "../auth/simple_token.ts";
import { simpleChannel } from "../core/simple_sse_channel.ts";

/** Control request bodies larger than this are refused (413). */
const MAX_CONTROL_BODY = 1024 * 1024;

export class SimpleSseControl {
  /** `keys`: those of `simple_sse_secret`, shared with the streams that verify the tokens. */
  constructor(private readonly node: Node, private readonly keys: HmacKeys) {}

  /** `/token/` and `/emit/` on the control listener; anything else is 404. */
  async handle(req: Request): Promise<Response> {
    const path = new URL(req.url).pathname;
    const route = path === "/token/" || path === "/token"
      ? "token"
      : path === "/emit/" || path === "/emit"
      ? "emit"
      : undefined;
    if (!route) return textResponse(404, "Not Found");
    if (req.method !== "POST") return textResponse(405, "Method Not Allowed", { Allow: "POST" });
    const body = await readBodyBytes(req, {
      maxBytes: MAX_CONTROL_BODY,
      timeoutMs: this.node.config.http_body_timeout,
    });
    if (body instanceof Response) return body;
    let fields: URLSearchParams;
    try {
      fields = await formFields(req, body);
    } catch (err) {
      return textResponse(400, `Bad Request: ${(err as Error).message}`);
    }
    const userId = fields.get("userId") ?? "";
    const channel = fields.get("channel") ?? "";
    const missing = [["userId", userId], ["channel", channel]].filter(([, v]) => v === "").map(([k]) => k);
    if (route === "token") {
      const exp = fields.get("exp");
      if (exp === null || exp === "") missing.push("exp");
      if (missing.length) return textResponse(400, `Bad Request: missing ${missing.join(", ")}`);
      if (!/^\d+$/.test(exp!) || Number(exp) === 0) {
        return textResponse(400, "Bad Request: exp must be a positive whole number of seconds");
      }
      if (userId === "*") return textResponse(400, "Bad Request: userId * is for emitting, not for tokens");
      return new Response(await signSimpleToken({ userId, channel }, Number(exp), this.keys), {
        headers: { "Content-Type": "text/plain; charset=utf-8" },
      });
    }
    const payload = fields.get("payload");
    if (payload === null) missing.push("payload");
    if (missing.length) return textResponse(400, `Bad Request: missing ${missing.join(", ")}`);
    try {
      await this.node.publishWithoutHistory(simpleChannel(channel, userId), JSON.stringify(payload));
    } catch (err) {
      this.node.log.error("simple sse emit failed", { channel, err });
      return textResponse(503, "Service Unavailable: the broker did not take the event");
    }
    return textResponse(200, "OK");
  }
}

/**
 * Form fields from the body (urlencoded or multipart, read within the size and time limits by the
 * caller), falling back to the query string.
 */
async function formFields(req: Request, body: Uint8Array<ArrayBuffer>): Promise<URLSearchParams> {
  const out = queryOf(req.url);
  const type = req.headers.get("content-type") ?? "";
  if (type.startsWith("multipart/form-data")) {
    let form: FormData;
    try {
      form = await new Response(body, { headers: { "Content-Type": type } }).formData();
    } catch {
      throw new Error("malformed multipart form");
    }
    for (const [k, v] of form) if (typeof v === "string") out.set(k, v);
  } else {
    for (const [k, v] of new URLSearchParams(new TextDecoder().decode(body))) out.set(k, v);
  }
  return out;
}

/**
 * @module
 * Centrifugo's server HTTP API: `POST {api_handler_prefix}/<method>` with a JSON body, answered
 * `200 {"result": …}` or `200 {"error": {"code", "message"}}`. Authorised by `X-API-Key: KEY`,
 * `Authorization: apikey KEY` or `?api_key=KEY` unless `api_insecure`. Server API calls are trusted:
 * no channel permission checks, no publish hooks.
 */
import type { Node } from "../core/node.ts";
import { ClientError, ErrorCode, isClientError } from "../errors.ts";
import { jsonObject, toRaw } from "../core/codec.ts";
import { BodyTooLargeError, readBodyLimited, textResponse } from "../transports/transport.ts";

/** API request bodies larger than this are refused with 413. */
const MAX_API_BODY = 10 * 1024 * 1024;

type Params = Record<string, unknown>;
/** A method returns the JSON text of its result object. */
export type ApiMethod = (node: Node, params: Params) => Promise<string>;

export const apiMethods: Record<string, ApiMethod> = {
  publish: apiPublish,
  broadcast: apiBroadcast,
};

export async function apiHandler(req: Request, node: Node, method: string): Promise<Response> {
  if (req.method !== "POST") return new Response(null, { status: 405, headers: { Allow: "POST" } });
  if (!authorized(req, node)) {
    node.log.info("api request unauthorized", { method });
    return new Response(null, { status: 401 });
  }
  const handler = Object.hasOwn(apiMethods, method) ? apiMethods[method] : undefined;
  if (!handler) return textResponse(404, `Not Found: unknown API method "${method}"`);
  let params: unknown;
  try {
    const text = await readBodyLimited(req, MAX_API_BODY);
    params = text.trim() === "" ? {} : JSON.parse(text);
  } catch (err) {
    if (err instanceof BodyTooLargeError) return textResponse(413, "Request Entity Too Large");
    node.log.info("api request body is not JSON", { method });
    return textResponse(400, "Bad Request: body must be a JSON object");
  }
  if (params === null || typeof params !== "object" || Array.isArray(params)) {
    return textResponse(400, "Bad Request: body must be a JSON object");
  }
  return jsonResponse(await runMethod(node, method, handler, params as Params));
}

/** Runs one method and wraps its outcome as `{"result":…}` or `{"error":…}`. */
export async function runMethod(
  node: Node,
  method: string,
  handler: ApiMethod,
  params: Params,
): Promise<string> {
  try {
    return `{"result":${await handler(node, params)}}`;
  } catch (err) {
    return `{"error":${JSON.stringify(apiError(node, method, err))}}`;
  }
}

function apiError(node: Node, method: string, err: unknown): { code: number; message: string } {
  if (isClientError(err)) return { code: err.code, message: err.message };
  node.log.error("api method failed", { method, err });
  return { code: ErrorCode.Internal, message: "internal server error" };
}

function jsonResponse(body: string): Response {
  return new Response(body, { status: 200, headers: { "Content-Type": "application/json" } });
}

function authorized(req: Request, node: Node): boolean {
  if (node.config.api_insecure) return true;
  const key = node.config.api_key;
  if (!key) return false;
  let given = req.headers.get("x-api-key");
  if (given === null) {
    const auth = req.headers.get("authorization");
    const parts = auth?.trim().split(/\s+/);
    if (parts && parts.length === 2 && parts[0].toLowerCase() === "apikey") given = parts[1];
  }
  if (given === null) given = new URL(req.url).searchParams.get("api_key");
  return given !== null && constantTimeEqual(given, key);
}

/** Compares secrets without an early exit that would leak how many leading characters match. */
export function constantTimeEqual(a: string, b: string): boolean {
  const x = new TextEncoder().encode(a);
  const y = new TextEncoder().encode(b);
  let diff = x.length ^ y.length;
  for (let i = 0; i < Math.max(x.length, y.length); i++) diff |= (x[i] ?? 0) ^ (y[i] ?? 0);
  return diff === 0;
}

// ---------------------------------------------------------------- validation helpers

const bad = (message: string) => new ClientError(ErrorCode.BadRequest, message);

export function requireString(params: Params, key: string): string {
  const v = params[key];
  if (typeof v !== "string" || v === "") throw bad(`${key} required`);
  return v;
}

function optionalBool(params: Params, key: string): boolean {
  const v = params[key];
  if (v === undefined || v === null) return false;
  if (typeof v !== "boolean") throw bad(`${key} must be a boolean`);
  return v;
}

function optionalString(params: Params, key: string): string | undefined {
  const v = params[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "string") throw bad(`${key} must be a string`);
  return v;
}

function optionalTags(params: Params): Record<string, string> | undefined {
  const v = params.tags;
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "object" || Array.isArray(v) || !Object.values(v).every((t) => typeof t === "string")) {
    throw bad("tags must be an object of strings");
  }
  return v as Record<string, string>;
}

interface PublishPayload {
  data: string;
  skipHistory: boolean;
  tags?: Record<string, string>;
  idempotencyKey?: string;
}

function publishPayload(params: Params): PublishPayload {
  if (params.data === undefined) throw bad("data required");
  return {
    data: toRaw(params.data),
    skipHistory: optionalBool(params, "skip_history"),
    tags: optionalTags(params),
    idempotencyKey: optionalString(params, "idempotency_key"),
  };
}

async function publishOne(node: Node, channel: string, p: PublishPayload): Promise<string> {
  const r = await node.publish(channel, p.data, {
    skipHistory: p.skipHistory,
    tags: p.tags,
    idempotencyKey: p.idempotencyKey,
  });
  return jsonObject({ offset: r.offset, epoch: r.epoch });
}

async function apiPublish(node: Node, params: Params): Promise<string> {
  const channel = requireString(params, "channel");
  return await publishOne(node, channel, publishPayload(params));
}

async function apiBroadcast(node: Node, params: Params): Promise<string> {
  const channels = params.channels;
  if (!Array.isArray(channels) || channels.length === 0) throw bad("channels required");
  if (!channels.every((c) => typeof c === "string" && c !== "")) {
    throw bad("channels must be non-empty strings");
  }
  const payload = publishPayload(params);
  const responses = await Promise.all(
    (channels as string[]).map((ch) => runMethod(node, "publish", (n) => publishOne(n, ch, payload), {})),
  );
  return `{"responses":[${responses.join(",")}]}`;
}

/**
 * @module
 * Centrifugo's server HTTP API: `POST {api_handler_prefix}/<method>` with a JSON body, answered
 * `200 {"result": …}` or `200 {"error": {"code", "message"}}` — or, in transport error mode
 * (`api_error_mode: "transport"` or header `X-Centrifugo-Error-Mode: transport`), the bare error
 * with an HTTP status (100→500, 102/104→404, 107/108→400, 112→416). `batch` answers
 * `{"replies": [{"<method>": result} | {"error": …}]}`. Authorised by `X-API-Key: KEY`,
 * `Authorization: apikey KEY` or `?api_key=KEY` unless `api_insecure`.
 */
import type { Node } from "../core/node.ts";
import { textResponse } from "../transports/transport.ts";
import { bodyErrorResponse, readBodyText } from "../transports/request_body.ts";
import { apiMethods, envelope, settle } from "./methods.ts";
import { bad, optionalBool, type Params } from "./params.ts";
import { constantTimeEqual } from "../auth/constant_time.ts";
import { queryOf } from "../transports/request_url.ts";

/** API request bodies larger than this are refused with 413. */
const MAX_API_BODY = 10 * 1024 * 1024;
/** Commands run at once in a parallel batch. */
const BATCH_CONCURRENCY = 32;

const transportStatus: Record<number, number> = {
  100: 500,
  102: 404,
  104: 404,
  107: 400,
  108: 400,
  112: 416,
  113: 409,
};

export function apiHandler(req: Request, node: Node, method: string): Promise<Response> | Response {
  if (req.method !== "POST") return new Response(null, { status: 405, headers: { Allow: "POST" } });
  if (!authorized(req, node)) {
    node.log.info("api request unauthorized", { method });
    return new Response(null, { status: 401 });
  }
  return runApiCall(req, node, method);
}

/** One API call (or `batch`) from a request already authorised: by API key, or an admin session. */
export async function runApiCall(req: Request, node: Node, method: string): Promise<Response> {
  if (method !== "batch" && !Object.hasOwn(apiMethods, method)) {
    return textResponse(404, `Not Found: unknown API method "${method}"`);
  }
  let text: string;
  try {
    text = await readBodyText(req, { maxBytes: MAX_API_BODY, timeoutMs: node.config.http_body_timeout });
  } catch (err) {
    return bodyErrorResponse(err);
  }
  let params: unknown;
  try {
    params = isBlank(text) ? {} : JSON.parse(text);
  } catch {
    node.log.info("api request body is not JSON", { method });
    return textResponse(400, "Bad Request: body must be a JSON object");
  }
  if (params === null || typeof params !== "object" || Array.isArray(params)) {
    return textResponse(400, "Bad Request: body must be a JSON object");
  }
  const started = performance.now();
  if (method === "batch") {
    const r = await settle(node, "batch", () => runBatch(node, params as Params));
    node.metrics.apiCall("batch", (performance.now() - started) / 1000, r.ok ? undefined : r.error.code);
    return jsonResponse(r.ok ? r.json : envelope(r));
  }
  const r = await settle(node, method, () => apiMethods[method](node, params as Params));
  node.metrics.apiCall(method, (performance.now() - started) / 1000, r.ok ? undefined : r.error.code);
  if (!r.ok && transportErrorMode(req, node)) {
    return jsonResponse(JSON.stringify(r.error), transportStatus[r.error.code] ?? 500);
  }
  return jsonResponse(envelope(r));
}

/** Errors as HTTP statuses: configured, or asked for by the request (read only when there is an error). */
function transportErrorMode(req: Request, node: Node): boolean {
  return node.config.api_error_mode === "transport" ||
    req.headers.get("x-centrifugo-error-mode")?.toLowerCase() === "transport";
}

/** Runs `{"commands": [{"publish": {...}}, ...], "parallel": bool}`; one reply per command, in order. */
async function runBatch(node: Node, params: Params): Promise<string> {
  const commands = params.commands;
  if (!Array.isArray(commands)) throw bad("commands must be an array");
  const parallel = optionalBool(params, "parallel");
  const replies: string[] = new Array(commands.length);
  const runOne = async (cmd: unknown, i: number) => {
    const entries = cmd !== null && typeof cmd === "object" && !Array.isArray(cmd) ? Object.entries(cmd) : [];
    const known = entries.filter(([k]) => Object.hasOwn(apiMethods, k));
    if (known.length !== 1 || entries.length !== 1) {
      replies[i] = `{"error":{"code":107,"message":"each command needs exactly one known method"}}`;
      return;
    }
    const [method, body] = known[0];
    const args = body !== null && typeof body === "object" && !Array.isArray(body)
      ? body as Params
      : undefined;
    const r = await settle(node, method, () => {
      if (!args) throw bad(`${method} must be an object`);
      return apiMethods[method](node, args);
    });
    replies[i] = r.ok ? `{"${method}":${r.json}}` : `{"error":${JSON.stringify(r.error)}}`;
  };
  if (parallel) {
    let next = 0;
    const worker = async () => {
      while (next < commands.length) {
        const i = next++;
        await runOne(commands[i], i);
      }
    };
    await Promise.all(Array.from({ length: Math.min(BATCH_CONCURRENCY, commands.length) }, worker));
  } else {
    for (let i = 0; i < commands.length; i++) await runOne(commands[i], i);
  }
  return `{"replies":[${replies.join(",")}]}`;
}

/** True for an empty or all-whitespace body, without copying it (`trim` would). */
function isBlank(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) return false;
  }
  return true;
}

/** Shared by every answer (the Response copies it). */
const JSON_HEADERS: Readonly<Record<string, string>> = Object.freeze({ "Content-Type": "application/json" });

/** A JSON body ending with a newline, as curl users expect (JSON readers ignore it). */
function jsonResponse(body: string, status = 200): Response {
  return new Response(`${body}\n`, { status, headers: JSON_HEADERS });
}

function authorized(req: Request, node: Node): boolean {
  if (node.config.api_insecure) return true;
  const key = node.config.api_key;
  if (!key) return false;
  let given = req.headers.get("x-api-key");
  if (given === null) {
    const parts = req.headers.get("authorization")?.trim().split(/\s+/);
    if (parts && parts.length === 2 && parts[0].toLowerCase() === "apikey") given = parts[1];
  }
  if (given === null) given = queryOf(req.url).get("api_key");
  return given !== null && constantTimeEqual(given, key);
}

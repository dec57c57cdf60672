/**
 * @module
 * Centrifugo's server HTTP API: `POST {api_handler_prefix}/<method>` with a JSON body, answered
 * `200 {"result": …}` or `200 {"error": {"code", "message"}}` — or, in transport error mode
 * (`api_error_mode: "transport"` or header `X-Centrifugo-Error-Mode: transport`), the bare error
 * with an HTTP status (100→500, 102/104→404, 107/108→400, 112→416, 113→409). `batch` answers
 * `{"replies": [{"<method>": result} | {"error": …}]}`. A body that is not JSON, or has a field of
 * the wrong type, is `400 Bad Request` (Go's plain-text answer); an unknown method is Go's `404
 * page not found`. Authorised by `X-API-Key: KEY`, `Authorization: apikey KEY` or `?api_key=KEY`
 * unless `api_insecure`.
 *
 * The legacy single endpoint `POST {api_handler_prefix}` takes a stream of `{"id", "method",
 * "params"}` commands and answers one `{"id", "result" | "error"}` line each (`legacyApiHandler`).
 */
import type { Node } from "../core/node.ts";
import { readBodyText } from "../http/request_body.ts";
import { goError, goNotFound } from "../http/responses.ts";
import { apiMethods, bad, envelope, notFound, settle, type Settled } from "./methods.ts";
import {
  BATCH_SHAPE,
  COMMAND_METHODS,
  decodeStruct,
  type MethodName,
  ShapeError,
  SHAPES,
} from "./request.ts";
import { constantTimeEqual } from "../auth/constant_time.ts";
import { queryOf } from "../http/request_url.ts";

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

/** Whether `method` is a server API method (an endpoint under the prefix). */
export function isApiMethod(method: string): boolean {
  return method === "batch" || Object.hasOwn(SHAPES, method);
}

export function apiHandler(req: Request, node: Node, method: string): Promise<Response> | Response {
  // No endpoint, whatever the request: Go's mux answers before any check.
  if (!isApiMethod(method)) return goNotFound();
  if (req.method !== "POST") return new Response(null, { status: 405, headers: { Allow: "POST" } });
  if (!authorized(req, node)) {
    node.log.info("api request unauthorized", { method });
    return new Response(null, { status: 401 });
  }
  return runApiCall(req, node, method);
}

/** One API call (or `batch`) from a request already authorised: by API key, or an admin session. */
export async function runApiCall(req: Request, node: Node, method: string): Promise<Response> {
  if (!isApiMethod(method)) return goNotFound();
  const text = await readBodyText(req, { maxBytes: MAX_API_BODY, timeoutMs: node.config.http_body_timeout });
  if (text instanceof Response) return text;
  let request: Record<string, unknown>;
  try {
    request = decodeStruct(method === "batch" ? BATCH_SHAPE : SHAPES[method as MethodName], JSON.parse(text));
  } catch (err) {
    // What Centrifugo's typed decoding refuses is a 400 before anything runs.
    node.log.info("api request body refused", { method, detail: (err as Error).message });
    return goBadRequest();
  }
  const started = performance.now();
  if (method === "batch") {
    const body = await runBatch(node, request as unknown as BatchRequest);
    node.metrics.apiCall("batch", (performance.now() - started) / 1000);
    return jsonResponse(body);
  }
  const r = await settle(node, method, () => apiMethods[method as MethodName](node, request));
  node.metrics.apiCall(method, (performance.now() - started) / 1000, r.ok ? undefined : r.error.code);
  if (!r.ok && transportErrorMode(req, node)) {
    return jsonResponse(JSON.stringify(r.error), transportStatus[r.error.code] ?? 500);
  }
  return jsonResponse(envelope(r));
}

/** Errors as HTTP statuses: configured, or asked for by the request (the value as Centrifugo compares it). */
function transportErrorMode(req: Request, node: Node): boolean {
  return node.config.api_error_mode === "transport" ||
    req.headers.get("x-centrifugo-error-mode") === "transport";
}

// ---------------------------------------------------------------------------------- batch

interface BatchRequest {
  /** Each a decoded command (every method field present, unset ones undefined), or undefined for `null`. */
  commands: Array<Record<string, unknown> | undefined>;
  parallel: boolean;
}

/**
 * One command of a batch: the first method it sets, in Centrifugo's order. A `null` command is
 * 107; one that sets no method Sluice implements is 104.
 */
async function runCommand(node: Node, cmd: Record<string, unknown> | undefined): Promise<string> {
  if (cmd === undefined) return `{"error":{"code":107,"message":"bad request"}}`;
  const method = COMMAND_METHODS.find((m) => cmd[m] !== undefined);
  if (method === undefined) return `{"error":${JSON.stringify(notFound().toJSON())}}`;
  const args = cmd[method] as Record<string, unknown>;
  const r: Settled = await settle(node, method, () => apiMethods[method](node, args));
  return r.ok ? `{"${method}":${r.json}}` : `{"error":${JSON.stringify(r.error)}}`;
}

/** Runs `{"commands": [{"publish": {...}}, ...], "parallel": bool}`; one reply per command, in order. */
async function runBatch(node: Node, { commands, parallel }: BatchRequest): Promise<string> {
  // Centrifugo leaves out an empty list
  if (commands.length === 0) return "{}";
  const replies: string[] = new Array(commands.length);
  if (parallel) {
    let next = 0;
    const worker = async () => {
      while (next < commands.length) {
        const i = next++;
        replies[i] = await runCommand(node, commands[i]);
      }
    };
    await Promise.all(Array.from({ length: Math.min(BATCH_CONCURRENCY, commands.length) }, worker));
  } else {
    for (let i = 0; i < commands.length; i++) replies[i] = await runCommand(node, commands[i]);
  }
  return `{"replies":[${replies.join(",")}]}`;
}

// ---------------------------------------------------------------------------------- legacy endpoint

/**
 * Centrifugo's legacy method numbers (its `Command.MethodType`), for `"method": 6` and for names
 * in any case. Numbers of methods Sluice does not implement (PRO and newer ones) are 104.
 */
const LEGACY_METHODS: Record<string, number> = {
  PUBLISH: 0,
  BROADCAST: 1,
  UNSUBSCRIBE: 2,
  DISCONNECT: 3,
  PRESENCE: 4,
  PRESENCE_STATS: 5,
  HISTORY: 6,
  HISTORY_REMOVE: 7,
  CHANNELS: 8,
  INFO: 9,
  RPC: 10,
  SUBSCRIBE: 11,
  REFRESH: 12,
  CONNECTIONS: 14,
  UPDATE_USER_STATUS: 15,
  GET_USER_STATUS: 16,
  DELETE_USER_STATUS: 17,
  BLOCK_USER: 18,
  UNBLOCK_USER: 19,
  REVOKE_TOKEN: 20,
  INVALIDATE_USER_TOKENS: 21,
  DEVICE_REGISTER: 22,
  DEVICE_UPDATE: 23,
  DEVICE_REMOVE: 24,
  DEVICE_LIST: 25,
  DEVICE_TOPIC_LIST: 26,
  DEVICE_TOPIC_UPDATE: 27,
  USER_TOPIC_LIST: 28,
  USER_TOPIC_UPDATE: 29,
  SEND_PUSH_NOTIFICATION: 30,
  UPDATE_PUSH_STATUS: 31,
  CANCEL_PUSH: 32,
  MAP_PUBLISH: 33,
  MAP_REMOVE: 34,
  MAP_READ_STATE: 35,
  MAP_READ_STREAM: 36,
  MAP_STATS: 37,
  MAP_CLEAR: 38,
  SHARED_POLL_PUBLISH: 39,
};

const LEGACY_BY_NUMBER = new Map<number, MethodName>(
  Object.entries(LEGACY_METHODS)
    .filter(([name]) => Object.hasOwn(SHAPES, name.toLowerCase()))
    .map(([name, n]) => [n, name.toLowerCase() as MethodName]),
);

/** The legacy command's own fields (matched like every other request struct). */
const LEGACY_COMMAND = { id: "uint32" as const, method: "raw" as const, params: "raw" as const };

/**
 * `method` as Centrifugo reads it: a known name in any case, or an integer. Anything else (an
 * unknown name, null, a fraction) is a body it cannot decode: undefined.
 */
function legacyMethodNumber(v: unknown): number | undefined {
  if (v === undefined) return 0; // unset: 0, publish
  if (typeof v === "string") {
    const name = v.toUpperCase();
    return Object.hasOwn(LEGACY_METHODS, name) ? LEGACY_METHODS[name] : undefined;
  }
  if (typeof v !== "number" || !Number.isInteger(v) || Math.abs(v) >= 2 ** 63) return undefined;
  // Go converts the integer to its int32 method type: the low 32 bits, as a signed number
  return Number(BigInt.asIntN(32, BigInt(v)));
}

/**
 * `POST {api_handler_prefix}` (authorised as the per-method endpoints are): JSON commands one
 * after another (whitespace between them optional), each run in turn and answered by one line,
 * `{"id": …, "result": …}` or `{"id": …, "error": …}` (`id` left out when 0). A command whose
 * `params` do not fit its method is its own 107; a stream that stops being readable JSON is 400
 * — after the commands before it ran, as in Centrifugo. Never transport error mode.
 */
export async function legacyApiHandler(req: Request, node: Node): Promise<Response> {
  if (req.method !== "POST") return new Response(null, { status: 405, headers: { Allow: "POST" } });
  if (!authorized(req, node)) {
    node.log.info("api request unauthorized", { method: "legacy" });
    return new Response(null, { status: 401 });
  }
  if (node.draining) return new Response(null, { status: 503 });
  const text = await readBodyText(req, { maxBytes: MAX_API_BODY, timeoutMs: node.config.http_body_timeout });
  if (text instanceof Response) return text;
  if (text === "") return goBadRequest();
  const lines: string[] = [];
  for (let at = skipSpace(text, 0); at < text.length; at = skipSpace(text, at)) {
    const end = jsonValueEnd(text, at);
    let cmd: Record<string, unknown>;
    let method: number | undefined;
    try {
      cmd = decodeStruct(LEGACY_COMMAND, JSON.parse(text.slice(at, end)));
      method = legacyMethodNumber(cmd.method);
      if (method === undefined) throw new ShapeError("method", "a method name or number");
    } catch (err) {
      node.log.info("api request body refused", { method: "legacy", detail: (err as Error).message });
      return goBadRequest();
    }
    at = end;
    const id = cmd.id as number;
    const r = await runLegacyCommand(node, method, cmd.params);
    const idPart = id ? `"id":${id},` : "";
    lines.push(r.ok ? `{${idPart}"result":${r.json}}` : `{${idPart}"error":${JSON.stringify(r.error)}}`);
  }
  return new Response(lines.length ? `${lines.join("\n")}\n` : "", { headers: JSON_HEADERS });
}

async function runLegacyCommand(node: Node, number: number, params: unknown): Promise<Settled> {
  const method = LEGACY_BY_NUMBER.get(number);
  if (method === undefined) return { ok: false, error: { code: 104, message: "not found" } };
  const started = performance.now();
  const r = await settle(node, method, async () => {
    // `info` reads no params; for the others, missing or mistyped params are this command's 107.
    let request: Record<string, unknown> = {};
    if (method !== "info") {
      try {
        if (params === undefined) throw new ShapeError("params", "an object");
        request = decodeStruct(SHAPES[method], params, "params");
      } catch (err) {
        throw bad(`params: ${(err as Error).message}`);
      }
    }
    return await apiMethods[method](node, request);
  });
  node.metrics.apiCall(method, (performance.now() - started) / 1000, r.ok ? undefined : r.error.code);
  return r;
}

function skipSpace(text: string, at: number): number {
  while (at < text.length) {
    const c = text.charCodeAt(at);
    if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) break;
    at++;
  }
  return at;
}

/**
 * Where the JSON value starting at `at` ends: after its closing bracket or quote, or — for a
 * number or literal — at the next space, bracket or quote. Not a validator: JSON.parse judges the
 * slice.
 */
function jsonValueEnd(text: string, at: number): number {
  const first = text[at];
  if (first !== "{" && first !== "[" && first !== '"') {
    let i = at;
    while (i < text.length && !' \t\r\n{}[]",'.includes(text[i])) i++;
    return Math.max(i, at + 1);
  }
  let depth = 0;
  let inString = false;
  for (let i = at; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (c === "\\") i++;
      else if (c === '"') {
        inString = false;
        if (depth === 0) return i + 1;
      }
    } else if (c === '"') inString = true;
    else if (c === "{" || c === "[") depth++;
    else if (c === "}" || c === "]") {
      if (--depth === 0) return i + 1;
    }
  }
  return text.length;
}

// ---------------------------------------------------------------------------------- answers

/** Shared by every answer (the Response copies it). */
const JSON_HEADERS: Readonly<Record<string, string>> = Object.freeze({ "Content-Type": "application/json" });

/** A JSON body ending with a newline, as curl users expect (JSON readers ignore it). */
function jsonResponse(body: string, status = 200): Response {
  return new Response(`${body}\n`, { status, headers: JSON_HEADERS });
}

const goBadRequest = () => goError(400, "Bad Request");

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

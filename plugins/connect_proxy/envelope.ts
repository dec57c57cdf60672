/**
 * @module
 * What goes to the backend and what comes back. A request is a JSON object: the client's
 * identity and the event's fields, with empty strings left out as Go's `omitempty` does. An
 * answer is an envelope holding one of `{"result": {...}}`, `{"error": {code, message,
 * temporary}}` or `{"disconnect": {code, reason}}` — or none of them, Centrifugo's "no result".
 * An answer that breaks the protocol is a `fault`: a plain `Error`, which the hook runner logs
 * and answers with 100.
 */
import { type ClientContext, ClientError, type ConnectingEvent, Disconnect } from "sluice";
import type { Kind } from "./settings.ts";

/** What came back: at most one of these is set (none: Centrifugo's "no result"). */
export interface Envelope {
  result?: Record<string, unknown>;
  error?: ClientError;
  disconnect?: Disconnect;
}

/** The connect request: the connecting client and what it sent (there is no user yet). */
export function connectRequest(event: ConnectingEvent): Record<string, unknown> {
  const body: Record<string, unknown> = {
    client: event.client.id,
    transport: event.client.transport,
    protocol: event.protocol,
    encoding: "json",
  };
  if (event.name) body.name = event.name;
  if (event.version) body.version = event.version;
  if (event.data !== undefined) body.data = event.data;
  if (event.channels.length > 0) body.channels = event.channels;
  return body;
}

/**
 * A request on behalf of a connected client: its identity, the event's `fields`, then its meta
 * when the proxy includes it. `user` is always sent, as Centrifugo does ("" for an anonymous
 * client).
 */
export function clientRequest(
  client: ClientContext,
  fields: Record<string, unknown>,
  includeMeta: boolean,
): Record<string, unknown> {
  const body: Record<string, unknown> = {
    client: client.id,
    transport: client.transport,
    protocol: client.protocol,
    encoding: "json",
    user: client.user,
  };
  Object.assign(body, fields);
  if (includeMeta && client.meta !== undefined) body.meta = client.meta;
  return body;
}

/** A backend answer that breaks the protocol: the hook runner turns it into 100 and logs it. */
export function fault(kind: Kind, problem: string): Error {
  return new Error(`${kind} proxy: ${problem}`);
}

export function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

/** Go's uint32, which Centrifugo decodes codes into: a larger or negative one fails to decode. */
const MAX_CODE = 0xffff_ffff;

export function parseEnvelope(kind: Kind, text: string): Envelope {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw fault(kind, `response is not JSON: ${JSON.stringify(text.slice(0, 120))}`);
  }
  // `null` decodes to an empty answer in Centrifugo (Go leaves the struct as it was).
  if (body === null) return {};
  if (!isObject(body)) throw fault(kind, "response is not a JSON object");
  // Centrifugo looks at disconnect, then error, then result.
  if (body.disconnect !== undefined && body.disconnect !== null) {
    const d = body.disconnect;
    if (!isObject(d)) throw fault(kind, "disconnect must be an object {code, reason}");
    // Any code, as Centrifugo passes it (one no close frame can carry ends a WebSocket without one).
    if (!Number.isInteger(d.code) || (d.code as number) < 0 || (d.code as number) > MAX_CODE) {
      throw fault(kind, `disconnect.code must be a non-negative integer, got ${JSON.stringify(d.code)}`);
    }
    if (d.reason !== undefined && d.reason !== null && typeof d.reason !== "string") {
      throw fault(kind, "disconnect.reason must be a string");
    }
    return { disconnect: new Disconnect(d.code as number, (d.reason as string | undefined) ?? "") };
  }
  if (body.error !== undefined && body.error !== null) {
    const e = body.error;
    if (!isObject(e)) throw fault(kind, "error must be an object {code, message, temporary}");
    // Any code reaches the client as it is, as Centrifugo passes it (an application's own codes
    // are often 4xxx); only a code that is not a code at all is the backend's fault.
    if (!Number.isInteger(e.code) || (e.code as number) < 0 || (e.code as number) > MAX_CODE) {
      throw fault(kind, `error.code must be a non-negative integer, got ${JSON.stringify(e.code)}`);
    }
    if (e.message !== undefined && e.message !== null && typeof e.message !== "string") {
      throw fault(kind, "error.message must be a string");
    }
    if (e.temporary !== undefined && e.temporary !== null && typeof e.temporary !== "boolean") {
      throw fault(kind, "error.temporary must be a boolean");
    }
    const message = typeof e.message === "string" ? e.message : "";
    return { error: new ClientError(e.code as number, message, e.temporary === true) };
  }
  if (body.result !== undefined && body.result !== null) {
    if (!isObject(body.result)) throw fault(kind, "result must be an object");
    return { result: body.result };
  }
  // None of the three: what that means depends on the proxy (see each hook), as in Centrifugo.
  return {};
}

/** Error and disconnect answers, honoured for connect, subscribe, publish and rpc. */
export function resultOrThrow(envelope: Envelope): Record<string, unknown> | undefined {
  if (envelope.disconnect) throw envelope.disconnect;
  if (envelope.error) throw envelope.error;
  return envelope.result;
}

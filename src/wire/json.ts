/**
 * @module
 * JSON text of the wire types that brokers store and clients receive (client info, publications),
 * built by concatenation around payloads that are already JSON text.
 */
import type { ClientInfo, Publication } from "./protocol.ts";

export const str = (s: string): string => JSON.stringify(s);

export function encodeClientInfo(info: ClientInfo): string {
  let out = `{"user":${str(info.user)},"client":${str(info.client)}`;
  if (info.connInfo !== undefined) out += `,"conn_info":${info.connInfo}`;
  if (info.chanInfo !== undefined) out += `,"chan_info":${info.chanInfo}`;
  return out + "}";
}

export function encodePublication(pub: Publication): string {
  let out = `{"data":${pub.data}`;
  if (pub.info) out += `,"info":${encodeClientInfo(pub.info)}`;
  if (pub.offset) out += `,"offset":${pub.offset}`;
  if (pub.epoch) out += `,"epoch":${str(pub.epoch)}`;
  if (pub.tags && Object.keys(pub.tags).length > 0) out += `,"tags":${JSON.stringify(pub.tags)}`;
  return out + "}";
}

/** JSON text of a plugin- or API-supplied value, or undefined when absent. */
export function jsonText(value: unknown): string | undefined {
  return value === undefined ? undefined : JSON.stringify(value);
}

/** JSON text kept as it is inside a value being serialised (a payload already in JSON form). */
export class RawJson {
  constructor(readonly text: string) {}
}

/**
 * @module
 * Tokens of the "Simple SSE Server" drop-in: HMAC-signed JWTs with claims `userId`, `channel` and
 * `exp`. Compatibility first: `exp` may be a number or a numeric string (the original's README
 * shows a string), HS256/384/512 are accepted (nothing else), and `nbf`/`iat` are checked when
 * present. Unlike the original, a token must have an `exp` (one without would be valid forever
 * and could never be revoked; both of the original's token minters always set it), and a stream
 * ends when its token expires. Signature checking is jose's; the claim checks are ours because jose rejects a string
 * `exp`.
 */
import { compactVerify, SignJWT } from "jose";
import type { HmacKeys } from "./hmac_keys.ts";

export interface SimpleClaims {
  userId: string;
  channel: string;
  /** Unix seconds. */
  exp: number;
}

export class SimpleTokenError extends Error {
  override name = "SimpleTokenError";
}

const ALGS = ["HS256", "HS384", "HS512"];

export async function verifySimpleToken(
  token: string,
  keys: HmacKeys,
  now = Date.now() / 1000,
): Promise<SimpleClaims> {
  let payload: Record<string, unknown>;
  try {
    const { payload: bytes } = await compactVerify(token, (header) => keys(header.alg ?? ""), {
      algorithms: ALGS,
    });
    payload = JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    throw new SimpleTokenError("invalid token");
  }
  if (payload === null || typeof payload !== "object" || Array.isArray(payload)) {
    throw new SimpleTokenError("invalid token claims");
  }
  const userId = payload.userId;
  const channel = payload.channel;
  if (typeof userId !== "string" || userId === "") throw new SimpleTokenError("token has no userId");
  if (typeof channel !== "string" || channel === "") throw new SimpleTokenError("token has no channel");
  const exp = numericDate(payload.exp, "exp");
  if (exp === undefined) throw new SimpleTokenError("token has no exp");
  if (exp <= now) throw new SimpleTokenError("token expired");
  const nbf = numericDate(payload.nbf, "nbf");
  if (nbf !== undefined && nbf > now) throw new SimpleTokenError("token not valid yet");
  numericDate(payload.iat, "iat");
  return { userId, channel, exp };
}

/** A NumericDate given as a number or a numeric string; anything else is an invalid token. */
function numericDate(value: unknown, claim: string): number | undefined {
  if (value === undefined || value === null) return undefined;
  const n = typeof value === "string" && /^\s*\d+(\.\d+)?\s*$/.test(value) ? Number(value) : value;
  if (typeof n !== "number" || !Number.isFinite(n)) {
    throw new SimpleTokenError(`token ${claim} is not a date`);
  }
  return n;
}

/** Signs a token like the original `/token/` endpoint: HS256, `exp` = now + ttl seconds. */
export async function signSimpleToken(
  claims: { userId: string; channel: string },
  ttlSeconds: number,
  keys: HmacKeys,
) {
  return new SignJWT({ userId: claims.userId, channel: claims.channel })
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .setExpirationTime(Math.floor(Date.now() / 1000) + ttlSeconds)
    .sign(await keys("HS256"));
}

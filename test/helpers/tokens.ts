/** Signs test tokens with jose. */
import { SignJWT } from "jose";
import { SECRET } from "./server.ts";
import type { TokenConfig } from "../../src/auth/jwt.ts";

export interface TokenOptions {
  /** Seconds from now; negative = already expired; undefined = no exp claim. */
  ttl?: number;
  /** "Now" for `ttl`, in Unix seconds: a server's ManualClock's `seconds()`; the real time by default. */
  from?: number;
  secret?: string;
  alg?: string;
}

export function token(claims: Record<string, unknown>, opts: TokenOptions = {}): Promise<string> {
  const jwt = new SignJWT(claims).setProtectedHeader({ alg: opts.alg ?? "HS256" }).setIssuedAt();
  if (opts.ttl !== undefined) jwt.setExpirationTime((opts.from ?? Math.floor(Date.now() / 1000)) + opts.ttl);
  return jwt.sign(new TextEncoder().encode(opts.secret ?? SECRET));
}

export const userToken = (user: string, ttl = 3600, extra: Record<string, unknown> = {}) =>
  token({ sub: user, ...extra }, { ttl });

/** A TokenVerifier config with every key empty, then `over` (unit tests of jwt.ts). */
export function tokenConfig(over: Partial<TokenConfig> = {}): TokenConfig {
  return {
    token_hmac_secret_key: "",
    token_rsa_public_key: "",
    token_ecdsa_public_key: "",
    token_jwks_public_endpoint: "",
    token_audience: "",
    token_issuer: "",
    token_user_id_claim: "",
    ...over,
  };
}

/**
 * @module
 * Connection and subscription JWT verification with `jose`, as Centrifugo defines the claims.
 *
 * The accepted algorithms come from which keys are configured, never from the token header:
 * HS256/384/512 with `token_hmac_secret_key`, RS* and PS* with `token_rsa_public_key`, ES* with
 * `token_ecdsa_public_key`, or — when `token_jwks_public_endpoint` is set — RS*, PS*, ES* and EdDSA
 * keys from that JWKS (and nothing else). Failures become one of three errors the client layer maps
 * to Centrifugo's codes: expired (109), invalid (3500 / 103), unavailable (100, key source down).
 */
import { createRemoteJWKSet, errors as joseErrors, importSPKI, jwtVerify } from "jose";
import { hmacKeys } from "./hmac_keys.ts";
import { FastHmacVerifier, type Hmac } from "./hmac_fast.ts";
import type { CryptoKey, JWTPayload, JWTVerifyGetKey, ProtectedHeaderParameters } from "jose";
import { parseOverride, type SubscribeOverride } from "../wire/override.ts";
import { base64ToBytes } from "../wire/base64.ts";

export class TokenExpiredError extends Error {
  override name = "TokenExpiredError";
}

export class InvalidTokenError extends Error {
  override name = "InvalidTokenError";
}

/** The key source could not be reached (JWKS endpoint down); the client should retry later. */
export class TokenVerifierUnavailableError extends Error {
  override name = "TokenVerifierUnavailableError";
}

export interface TokenConfig {
  token_hmac_secret_key: string;
  token_rsa_public_key: string;
  token_ecdsa_public_key: string;
  token_jwks_public_endpoint: string;
  token_audience: string;
  token_issuer: string;
  token_user_id_claim: string;
}

export type { SubscribeOverride } from "../wire/override.ts";

/** Options for one server-side subscription from the `subs` claim. */
export interface TokenSubOptions {
  /** Channel info as JSON text. */
  info?: string;
  /** Subscribe data as JSON text. */
  data?: string;
  override?: SubscribeOverride;
}

export interface ConnectTokenClaims {
  user: string;
  /** Unix seconds when the connection expires; 0 = never. */
  expireAt: number;
  /** Connection info as JSON text (from `info` or decoded `b64info`). */
  info?: string;
  /** Server-side subscriptions from `channels`; empty when the token has `subs`. */
  channels: string[];
  subs: Record<string, TokenSubOptions>;
  /** Private metadata as JSON text; never sent to clients. */
  meta?: string;
}

export interface SubscriptionTokenClaims {
  user: string;
  channel: string;
  client?: string;
  expireAt: number;
  info?: string;
  data?: string;
  override?: SubscribeOverride;
}

const HMAC_ALGS = ["HS256", "HS384", "HS512"];
const RSA_ALGS = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512"];
const EC_ALGS = ["ES256", "ES384", "ES512"];
const JWKS_ALGS = [...RSA_ALGS, ...EC_ALGS, "EdDSA"];

export class TokenVerifier {
  readonly algorithms: string[];
  private readonly getKey: JWTVerifyGetKey | undefined;
  private readonly userClaim: string;
  private readonly audience?: string;
  private readonly issuer?: string;
  /** HS* tokens through a synchronous HMAC first; jose decides whatever it does not accept. */
  private readonly fast?: FastHmacVerifier;
  private readonly now: () => number;

  /**
   * `now` (ms since the epoch) is what `exp` and `nbf` are checked against: the node's clock.
   * `hmac`: the HMAC for HS* tokens, the runtime's (`Runtime.hmac`); node:crypto's when absent.
   */
  constructor(config: TokenConfig, opts: { now?: () => number; hmac?: Hmac } = {}) {
    this.now = opts.now ?? Date.now;
    const signer = opts.hmac;
    this.userClaim = config.token_user_id_claim || "sub";
    this.audience = config.token_audience || undefined;
    this.issuer = config.token_issuer || undefined;
    if (config.token_jwks_public_endpoint) {
      this.algorithms = JWKS_ALGS;
      const jwks = createRemoteJWKSet(new URL(config.token_jwks_public_endpoint), {
        timeoutDuration: 1000,
        cacheMaxAge: 3_600_000,
        cooldownDuration: 5_000,
      });
      this.getKey = jwks;
      return;
    }
    const algorithms: string[] = [];
    const hmac = config.token_hmac_secret_key ? hmacKeys(config.token_hmac_secret_key) : undefined;
    if (hmac) {
      algorithms.push(...HMAC_ALGS);
      this.fast = new FastHmacVerifier(config.token_hmac_secret_key, {
        algorithms: HMAC_ALGS,
        audience: this.audience,
        issuer: this.issuer,
        hmac: signer,
      });
    }
    const rsa = config.token_rsa_public_key ? keyCache(config.token_rsa_public_key) : undefined;
    if (rsa) algorithms.push(...RSA_ALGS);
    const ec = config.token_ecdsa_public_key ? keyCache(config.token_ecdsa_public_key) : undefined;
    if (ec) algorithms.push(...EC_ALGS);
    this.algorithms = algorithms;
    if (algorithms.length === 0) return;
    this.getKey = (header: ProtectedHeaderParameters) => {
      const alg = header.alg ?? "";
      if (hmac && HMAC_ALGS.includes(alg)) return hmac(alg);
      if (rsa && RSA_ALGS.includes(alg)) return rsa(alg);
      if (ec && EC_ALGS.includes(alg)) return ec(alg);
      throw new InvalidTokenError(`algorithm ${alg} is not configured`);
    };
  }

  /** Whether any key is configured; without one every token is invalid. */
  get enabled(): boolean {
    return this.getKey !== undefined;
  }

  async verifyConnectToken(token: string): Promise<ConnectTokenClaims> {
    const payload = await this.verify(token);
    if ("channel" in payload) {
      throw new InvalidTokenError("a connection token must not contain a channel claim");
    }
    const channels = readChannels(payload.channels);
    const subs = readSubs(payload.subs);
    return {
      user: this.readUser(payload),
      expireAt: readExpireAt(payload),
      info: readInfo(payload, "info", "b64info"),
      // As Centrifugo: a token with `subs` subscribes to those; `channels` counts only without them.
      channels: Object.keys(subs).length > 0 ? [] : channels,
      subs,
      meta: payload.meta === undefined ? undefined : JSON.stringify(payload.meta),
    };
  }

  async verifySubscriptionToken(token: string): Promise<SubscriptionTokenClaims> {
    const payload = await this.verify(token);
    if (typeof payload.channel !== "string" || payload.channel === "") {
      throw new InvalidTokenError("a subscription token needs a channel claim");
    }
    if (payload.client !== undefined && typeof payload.client !== "string") {
      throw new InvalidTokenError("client claim must be a string");
    }
    return {
      user: this.readUser(payload),
      channel: payload.channel,
      client: payload.client as string | undefined,
      expireAt: readExpireAt(payload),
      info: readInfo(payload, "info", "b64info"),
      data: readInfo(payload, "data", "b64data"),
      override: readOverride(payload.override, "override"),
    };
  }

  private async verify(token: string): Promise<JWTPayload> {
    if (!this.getKey) throw new InvalidTokenError("no token verification key is configured");
    if (typeof token !== "string" || token.length === 0) throw new InvalidTokenError("empty token");
    const accepted = this.fast?.verify(token, Math.floor(this.now() / 1000));
    if (accepted) return accepted as JWTPayload;
    try {
      const { payload } = await jwtVerify(token, this.getKey, {
        algorithms: this.algorithms,
        audience: this.audience,
        issuer: this.issuer,
        currentDate: new Date(this.now()),
      });
      return payload;
    } catch (err) {
      throw mapJoseError(err);
    }
  }

  private readUser(payload: JWTPayload): string {
    const user = payload[this.userClaim];
    if (user === undefined || user === null) return "";
    if (typeof user !== "string") throw new InvalidTokenError(`${this.userClaim} claim must be a string`);
    return user;
  }
}

/** Imports a PEM once per algorithm (a WebCrypto key is bound to its algorithm). */
function keyCache(pem: string): (alg: string) => Promise<CryptoKey> {
  const keys = new Map<string, Promise<CryptoKey>>();
  return (alg) => {
    let key = keys.get(alg);
    if (!key) {
      key = importSPKI(pem, alg);
      keys.set(alg, key);
      // A PEM that does not fit this algorithm must not poison later attempts.
      key.catch(() => keys.delete(alg));
    }
    return key.catch(() => {
      throw new InvalidTokenError(`configured public key cannot verify ${alg}`);
    });
  };
}

function mapJoseError(err: unknown): Error {
  if (err instanceof TokenExpiredError || err instanceof InvalidTokenError) return err;
  if (err instanceof joseErrors.JWTExpired) return new TokenExpiredError("token expired");
  if (
    err instanceof joseErrors.JWTClaimValidationFailed && err.claim === "nbf" && err.reason === "check_failed"
  ) {
    // Centrifugo reports a token that is not valid yet as expired, so the SDK fetches a new one.
    return new TokenExpiredError("token not valid yet");
  }
  if (err instanceof joseErrors.JWKSTimeout) {
    return new TokenVerifierUnavailableError("JWKS endpoint timed out");
  }
  if (
    err instanceof joseErrors.JWKSInvalid ||
    (err instanceof joseErrors.JOSEError && err.code === "ERR_JOSE_GENERIC" &&
      /JSON Web Key Set HTTP response/.test(err.message))
  ) {
    // A JWKS endpoint answering non-200 or garbage is an outage on our side, not a bad token.
    return new TokenVerifierUnavailableError(`JWKS endpoint failed: ${err.message}`);
  }
  if (err instanceof joseErrors.JOSEError) return new InvalidTokenError(`${err.code}: ${err.message}`);
  if (err instanceof TypeError || (err instanceof Error && /fetch|network|connect/i.test(err.message))) {
    // createRemoteJWKSet surfaces network failures as plain errors.
    return new TokenVerifierUnavailableError(`key source unavailable: ${err.message}`);
  }
  return new InvalidTokenError(err instanceof Error ? err.message : String(err));
}

function readExpireAt(payload: JWTPayload): number {
  const v = payload.expire_at;
  if (v === undefined || v === null) return typeof payload.exp === "number" ? payload.exp : 0;
  if (typeof v !== "number" || !Number.isFinite(v) || v < 0) {
    throw new InvalidTokenError("expire_at claim must be a non-negative number");
  }
  return Math.floor(v);
}

/** Returns JSON text for `info`/`data`, or the decoded bytes of the base64 variant (which wins). */
function readInfo(payload: Record<string, unknown>, jsonKey: string, b64Key: string): string | undefined {
  const b64 = payload[b64Key];
  if (b64 !== undefined) {
    if (typeof b64 !== "string") throw new InvalidTokenError(`${b64Key} claim must be a base64 string`);
    const text = decodeBase64Json(b64);
    if (text === undefined) throw new InvalidTokenError(`${b64Key} claim is not base64-encoded JSON`);
    return text;
  }
  const v = payload[jsonKey];
  return v === undefined ? undefined : JSON.stringify(v);
}

/** JSON clients can only carry JSON, so base64 payloads must decode to JSON text. */
function decodeBase64Json(b64: string): string | undefined {
  try {
    const text = new TextDecoder("utf-8", { fatal: true }).decode(base64ToBytes(b64));
    return JSON.stringify(JSON.parse(text));
  } catch {
    return undefined;
  }
}

function readChannels(v: unknown): string[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v) || !v.every((c) => typeof c === "string")) {
    throw new InvalidTokenError("channels claim must be an array of strings");
  }
  return v;
}

function readSubs(v: unknown): Record<string, TokenSubOptions> {
  if (v === undefined || v === null) return {};
  if (typeof v !== "object" || Array.isArray(v)) throw new InvalidTokenError("subs claim must be an object");
  const out: Record<string, TokenSubOptions> = {};
  for (const [channel, raw] of Object.entries(v as Record<string, unknown>)) {
    const opts = (raw ?? {}) as Record<string, unknown>;
    if (typeof opts !== "object" || Array.isArray(opts)) {
      throw new InvalidTokenError(`subs["${channel}"] must be an object`);
    }
    out[channel] = {
      info: readInfo(opts, "info", "b64info"),
      data: readInfo(opts, "data", "b64data"),
      override: readOverride(opts.override, `subs["${channel}"].override`),
    };
  }
  return out;
}

function readOverride(v: unknown, where: string): SubscribeOverride | undefined {
  try {
    return parseOverride(v, where, { unknown: "ignore" });
  } catch (err) {
    throw new InvalidTokenError((err as Error).message);
  }
}

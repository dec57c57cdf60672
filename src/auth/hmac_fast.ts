/**
 * @module
 * A fast path for HS256/384/512 tokens: a synchronous HMAC (the runtime's fastest, `Runtime.hmac`,
 * handed in; `node:crypto` by default) instead of WebCrypto through jose, which costs ~50 µs per
 * token on Bun and ~100 µs on Deno against ~1 (Bun.CryptoHasher) / ~20 (Deno's createHmac).
 *
 * It only ever *accepts*: a token passes here when it has the common shape (three base64url parts,
 * a JSON header with an allowed `alg` and no `crit` / `b64`, a JSON object payload), the signature
 * matches, and every claim check jose would make with Sluice's options (`iss`, `aud`, `iat` / `nbf` /
 * `exp` types and times) passes. Anything else returns `undefined` and the caller runs jose, whose
 * verdict and error are then the answer — so what is accepted is a subset of what jose accepts, and
 * every rejection is jose's own. test/auth/hmac_fast_test.ts checks this against jose on generated
 * tokens, with each runtime's HMAC.
 */
import { createHmac } from "node:crypto";
import { Buffer } from "node:buffer";
import { constantTimeEqual } from "./constant_time.ts";

const HASH = { HS256: "sha256", HS384: "sha384", HS512: "sha512" } as const;
type Algorithm = keyof typeof HASH;
const BASE64URL = /^[A-Za-z0-9_-]*$/;
const utf8 = new TextDecoder("utf-8", { fatal: true });

/** The HMAC of a text's UTF-8 bytes under one key, as unpadded base64url (`Runtime`'s `HmacSign`). */
export type HmacSign = (data: string) => string;
/** A signer for a key (`Runtime.hmac`'s shape; auth/ sits below runtime/ and names no runtime). */
export type Hmac = (hash: "sha256" | "sha384" | "sha512", key: Uint8Array) => HmacSign;

/** `node:crypto`'s HMAC, which both runtimes have: the choice when no runtime hands in its own. */
export const nodeHmac: Hmac = (hash, key) => {
  // Raw bytes, not a KeyObject: Deno's node:crypto takes ~8 µs longer per HMAC with one.
  const bytes = Buffer.from(key);
  return (data) => createHmac(hash, bytes).update(data).digest("base64url");
};

export interface FastHmacOptions {
  /** The HS* algorithms allowed (the configured ones). */
  algorithms: readonly string[];
  audience?: string;
  issuer?: string;
  /** The HMAC to sign with: the runtime's (`Runtime.hmac`); `nodeHmac` when absent. */
  hmac?: Hmac;
}

/** Headers remembered per verifier: a deployment signs with one or two header texts. */
const MAX_KNOWN_HEADERS = 16;

export class FastHmacVerifier {
  /** A signer per allowed algorithm, its key prepared once. */
  private readonly signers = new Map<string, HmacSign>();
  /**
   * Header text → its algorithm, for headers of tokens whose signature matched: only what the key
   * holder signed gets in, so clients cannot fill it (and it stops growing at MAX_KNOWN_HEADERS).
   */
  private readonly knownHeaders = new Map<string, HmacSign>();

  constructor(secret: string, private readonly opts: FastHmacOptions) {
    const key = new TextEncoder().encode(secret);
    const hmac = opts.hmac ?? nodeHmac;
    for (const alg of opts.algorithms) {
      if (Object.hasOwn(HASH, alg)) this.signers.set(alg, hmac(HASH[alg as Algorithm], key));
    }
  }

  /** The payload when the token is certainly valid; undefined = ask jose. */
  verify(token: string, nowSeconds = Math.floor(Date.now() / 1000)): Record<string, unknown> | undefined {
    const dot1 = token.indexOf(".");
    const dot2 = token.indexOf(".", dot1 + 1);
    if (dot1 < 0 || dot2 < 0 || token.indexOf(".", dot2 + 1) >= 0) return undefined;
    const h = token.slice(0, dot1);
    const known = this.knownHeaders.get(h);
    const sign = known ?? this.signerOf(h);
    if (sign === undefined) return undefined;

    // The expected signature as canonical base64url text: equal text means equal bytes, and that
    // the token's signature is canonically encoded — no decoding, no buffer per token.
    if (!constantTimeEqual(sign(token.slice(0, dot2)), token.slice(dot2 + 1))) return undefined;
    if (known === undefined && this.knownHeaders.size < MAX_KNOWN_HEADERS) this.knownHeaders.set(h, sign);

    const claims = parseObject(token.slice(dot1 + 1, dot2));
    if (!claims) return undefined;
    return this.claimsPass(claims, nowSeconds) ? claims : undefined;
  }

  /** The signer of a header's allowed HS* algorithm, if jose would read the header the same way. */
  private signerOf(h: string): HmacSign | undefined {
    const header = parseObject(h);
    if (!header || "crit" in header || "b64" in header) return undefined;
    const alg = header.alg;
    return typeof alg === "string" ? this.signers.get(alg) : undefined;
  }

  /** jose's `validateClaimsSet` with Sluice's options, as a yes / "ask jose". */
  private claimsPass(c: Record<string, unknown>, now: number): boolean {
    const { issuer, audience } = this.opts;
    if (issuer !== undefined && (!Object.hasOwn(c, "iss") || c.iss !== issuer)) return false;
    if (audience !== undefined) {
      if (!Object.hasOwn(c, "aud")) return false;
      const aud = c.aud;
      const ok = typeof aud === "string" ? aud === audience : Array.isArray(aud) && aud.includes(audience);
      if (!ok) return false;
    }
    for (const claim of ["iat", "nbf", "exp"]) {
      if (c[claim] !== undefined && typeof c[claim] !== "number") return false;
    }
    if (typeof c.nbf === "number" && c.nbf > now) return false;
    if (typeof c.exp === "number" && c.exp <= now) return false;
    return true;
  }
}

/**
 * Canonical base64url (no padding): what jose's decoder reads to the same bytes. The alphabet and
 * length say it is base64url; canonical means the bits of the last character that carry no data
 * are zero (else another text decodes to the same bytes).
 */
function isBase64url(part: string): boolean {
  const rest = part.length % 4;
  if (rest === 1 || !BASE64URL.test(part)) return false;
  if (rest === 0) return true;
  return (sextet(part.charCodeAt(part.length - 1)) & (rest === 2 ? 0x0f : 0x03)) === 0;
}

/** The 6-bit value of a base64url character (already known to be one). */
function sextet(c: number): number {
  if (c >= 0x61) return c - 0x61 + 26; // a-z
  if (c >= 0x41) return c === 0x5f ? 63 : c - 0x41; // A-Z, _
  return c === 0x2d ? 62 : c - 0x30 + 52; // -, 0-9
}

/** A base64url JSON text (canonically encoded) that is a plain object, or undefined. */
function parseObject(part: string): Record<string, unknown> | undefined {
  if (!isBase64url(part)) return undefined;
  try {
    const value: unknown = JSON.parse(utf8.decode(Buffer.from(part, "base64url")));
    return value !== null && typeof value === "object" && !Array.isArray(value)
      ? value as Record<string, unknown>
      : undefined;
  } catch {
    return undefined;
  }
}

/**
 * @module
 * HMAC-SHA256 (RFC 2104, FIPS 180-4) in plain JavaScript, for a runtime whose native HMAC costs
 * more per call than hashing a token does: on Deno `node:crypto`'s `createHmac` takes 15–40 µs
 * per connection token and `crypto.subtle` more, while this takes 2–5 µs. The key's two padded
 * blocks are hashed once per key; a token then costs its own blocks and one more.
 *
 * No secret-dependent timing: SHA-256 is additions, rotations and logic on 32-bit words with no
 * table indexed by data (the MAC's base64url digits are picked from a string, as by any encoder),
 * and the caller compares MACs in constant time.
 */
import type { HmacSign } from "./types.ts";

/** The round constants (FIPS 180-4, 4.2.2). */
const K = new Int32Array([
  0x428a2f98,
  0x71374491,
  0xb5c0fbcf,
  0xe9b5dba5,
  0x3956c25b,
  0x59f111f1,
  0x923f82a4,
  0xab1c5ed5,
  0xd807aa98,
  0x12835b01,
  0x243185be,
  0x550c7dc3,
  0x72be5d74,
  0x80deb1fe,
  0x9bdc06a7,
  0xc19bf174,
  0xe49b69c1,
  0xefbe4786,
  0x0fc19dc6,
  0x240ca1cc,
  0x2de92c6f,
  0x4a7484aa,
  0x5cb0a9dc,
  0x76f988da,
  0x983e5152,
  0xa831c66d,
  0xb00327c8,
  0xbf597fc7,
  0xc6e00bf3,
  0xd5a79147,
  0x06ca6351,
  0x14292967,
  0x27b70a85,
  0x2e1b2138,
  0x4d2c6dfc,
  0x53380d13,
  0x650a7354,
  0x766a0abb,
  0x81c2c92e,
  0x92722c85,
  0xa2bfe8a1,
  0xa81a664b,
  0xc24b8b70,
  0xc76c51a3,
  0xd192e819,
  0xd6990624,
  0xf40e3585,
  0x106aa070,
  0x19a4c116,
  0x1e376c08,
  0x2748774c,
  0x34b0bcb5,
  0x391c0cb3,
  0x4ed8aa4a,
  0x5b9cca4f,
  0x682e6ff3,
  0x748f82ee,
  0x78a5636f,
  0x84c87814,
  0x8cc70208,
  0x90befffa,
  0xa4506ceb,
  0xbef9a3f7,
  0xc67178f2,
]);
/** The initial hash value (FIPS 180-4, 5.3.3). */
const IV = [0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19];
const BLOCK = 64;
const BASE64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

// Scratch space shared by every key: a MAC is computed synchronously from start to end.
const w = new Int32Array(64);
const state = new Int32Array(8);
/** The outer hash's message: the inner digest (32 bytes), then its padding. */
const outerBlock = new Uint8Array(BLOCK);
const encoder = new TextEncoder();
/** Texts up to this many UTF-16 units are encoded into `message`; longer ones (rare) into their own. */
const MESSAGE_UNITS = 4096;
// UTF-8 takes at most 3 bytes per UTF-16 unit; then room for the padding (at most 72 bytes).
const message = new Uint8Array(MESSAGE_UNITS * 3 + 72);

/** A signer for one key: the unpadded base64url HMAC-SHA256 of a text's UTF-8 bytes. */
export function hmacSha256(key: Uint8Array): HmacSign {
  if (key.length > BLOCK) key = sha256(key);
  const pad = new Uint8Array(BLOCK);
  const inner = padState(pad, key, 0x36);
  const outer = padState(pad, key, 0x5c);
  return (data) => {
    const buf = data.length <= MESSAGE_UNITS ? message : new Uint8Array(data.length * 3 + 72);
    const n = encoder.encodeInto(data, buf).written;
    state.set(inner);
    finish(buf, n, BLOCK + n);
    digestInto(outerBlock);
    state.set(outer);
    finish(outerBlock, 32, BLOCK + 32);
    return base64url();
  };
}

/** The state after hashing the key's padded block (key XOR `byte` repeated): once per key. */
function padState(pad: Uint8Array, key: Uint8Array, byte: number): Int32Array {
  pad.fill(byte);
  for (let i = 0; i < key.length; i++) pad[i] ^= key[i];
  state.set(IV);
  compress(pad, BLOCK);
  return state.slice();
}

/** SHA-256 of `bytes` (a key longer than a block, which HMAC hashes first). */
function sha256(bytes: Uint8Array): Uint8Array {
  const buf = new Uint8Array(bytes.length + 72);
  buf.set(bytes);
  state.set(IV);
  finish(buf, bytes.length, bytes.length);
  const out = new Uint8Array(32);
  digestInto(out);
  return out;
}

/**
 * Pads the `n` bytes at the start of `buf` (which has room for the padding) and hashes them into
 * `state`; `total` is the length of the whole message, including blocks already hashed.
 */
function finish(buf: Uint8Array, n: number, total: number): void {
  const end = (n + 9 + BLOCK - 1) & ~(BLOCK - 1);
  buf[n] = 0x80;
  buf.fill(0, n + 1, end);
  const bits = total * 8; // below 2^53: exact in a double
  const high = Math.floor(bits / 0x1_0000_0000);
  buf[end - 8] = high >>> 24;
  buf[end - 7] = high >>> 16;
  buf[end - 6] = high >>> 8;
  buf[end - 5] = high;
  buf[end - 4] = bits >>> 24;
  buf[end - 3] = bits >>> 16;
  buf[end - 2] = bits >>> 8;
  buf[end - 1] = bits;
  compress(buf, end);
}

/** Hashes the whole blocks of `m` below `end` into `state`. */
function compress(m: Uint8Array, end: number): void {
  let h0 = state[0], h1 = state[1], h2 = state[2], h3 = state[3];
  let h4 = state[4], h5 = state[5], h6 = state[6], h7 = state[7];
  for (let off = 0; off < end; off += BLOCK) {
    for (let i = 0; i < 16; i++) {
      const j = off + i * 4;
      w[i] = (m[j] << 24) | (m[j + 1] << 16) | (m[j + 2] << 8) | m[j + 3];
    }
    for (let i = 16; i < 64; i++) {
      const x = w[i - 15], y = w[i - 2];
      const s0 = ((x >>> 7) | (x << 25)) ^ ((x >>> 18) | (x << 14)) ^ (x >>> 3);
      const s1 = ((y >>> 17) | (y << 15)) ^ ((y >>> 19) | (y << 13)) ^ (y >>> 10);
      w[i] = (w[i - 16] + s0 + w[i - 7] + s1) | 0;
    }
    let a = h0, b = h1, c = h2, d = h3, e = h4, f = h5, g = h6, h = h7;
    for (let i = 0; i < 64; i++) {
      const S1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
      const t1 = (h + S1 + ((e & f) ^ (~e & g)) + K[i] + w[i]) | 0;
      const S0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
      const t2 = (S0 + ((a & b) ^ (a & c) ^ (b & c))) | 0;
      h = g;
      g = f;
      f = e;
      e = (d + t1) | 0;
      d = c;
      c = b;
      b = a;
      a = (t1 + t2) | 0;
    }
    h0 = (h0 + a) | 0;
    h1 = (h1 + b) | 0;
    h2 = (h2 + c) | 0;
    h3 = (h3 + d) | 0;
    h4 = (h4 + e) | 0;
    h5 = (h5 + f) | 0;
    h6 = (h6 + g) | 0;
    h7 = (h7 + h) | 0;
  }
  state[0] = h0;
  state[1] = h1;
  state[2] = h2;
  state[3] = h3;
  state[4] = h4;
  state[5] = h5;
  state[6] = h6;
  state[7] = h7;
}

/** The digest in `state` as 32 big-endian bytes at the start of `out`. */
function digestInto(out: Uint8Array): void {
  for (let i = 0; i < 8; i++) {
    const v = state[i];
    out[i * 4] = v >>> 24;
    out[i * 4 + 1] = v >>> 16;
    out[i * 4 + 2] = v >>> 8;
    out[i * 4 + 3] = v;
  }
}

/** The digest in `state` as 43 base64url characters (32 bytes, no padding). */
function base64url(): string {
  digestInto(outerBlock);
  const d = outerBlock;
  let s = "";
  for (let i = 0; i < 30; i += 3) {
    const v = (d[i] << 16) | (d[i + 1] << 8) | d[i + 2];
    s += BASE64URL[v >>> 18] + BASE64URL[(v >>> 12) & 63] + BASE64URL[(v >>> 6) & 63] + BASE64URL[v & 63];
  }
  const v = (d[30] << 8) | d[31];
  return s + BASE64URL[v >>> 10] + BASE64URL[(v >>> 4) & 63] + BASE64URL[(v << 2) & 63];
}

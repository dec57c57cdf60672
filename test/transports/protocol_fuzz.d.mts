// Types of protocol_fuzz.mjs for the TypeScript suite.
import type * as fcModule from "fast-check";
export const fc: typeof fcModule.default;
export interface FuzzRequest {
  kind: "stream" | "api" | "plain";
  method: string;
  path: string;
  headers?: Record<string, string>;
  body?: string;
}
export function signedToken(claims: unknown, secret: string, alg?: string): string;
export function requestArb(opts: { secret: string; apiKey: string }): fcModule.Arbitrary<FuzzRequest>;
export function checkRequest(
  baseUrl: string,
  req: FuzzRequest,
  opts?: { streamMs?: number },
): Promise<string[]>;
export const FUZZ_CONFIG: Record<string, unknown>;
export function sessionFramesArb(secret: string): fcModule.Arbitrary<string[]>;
export function checkSession(
  baseUrl: string,
  secret: string,
  frames: string[],
  opts?: { streamMs?: number },
): Promise<string[]>;

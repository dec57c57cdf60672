/** Connection tokens of the connect bench's shape, shared by the micro-benchmarks. */
import { SignJWT } from "jose";

/** `count` HS256 tokens for users u0…, each with its personal channel and one of 100 groups. */
export async function connectTokens(secret: string, count = 1000): Promise<string[]> {
  const key = new TextEncoder().encode(secret);
  const tokens: string[] = [];
  for (let i = 0; i < count; i++) {
    tokens.push(
      await new SignJWT({ sub: `u${i}`, channels: [`u${i}`, `g${i % 100}`] }).setProtectedHeader({
        alg: "HS256",
      })
        .setExpirationTime("1h").sign(key),
    );
  }
  return tokens;
}

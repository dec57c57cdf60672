/**
 * @module
 * Comparing secrets (API keys, passwords, token signatures) without an early exit that would leak
 * how many leading characters match.
 */

/** True when `a` and `b` are the same string; the time taken depends on their lengths only. */
export function constantTimeEqual(a: string, b: string): boolean {
  // UTF-16 code units compared directly: equal strings have equal units, and no bytes are made
  // per call (this runs on every server API request and every token).
  const n = Math.max(a.length, b.length);
  let diff = a.length ^ b.length;
  for (let i = 0; i < n; i++) diff |= (a.charCodeAt(i) | 0) ^ (b.charCodeAt(i) | 0);
  return diff === 0;
}

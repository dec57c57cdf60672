/**
 * @module
 * `allowed_origins`: which web pages may open connections. Requests without an `Origin` header
 * (servers, CLIs, mobile apps) always pass. With an empty list every browser origin is refused;
 * `"*"` allows all; patterns are globs (`https://*.example.com`) matched against the lower-cased
 * Origin. Unlike Centrifugo (which only omits CORS headers), a refused origin gets 403.
 */
import { globToRegExp } from "../core/glob.ts";

export class OriginPolicy {
  private readonly anyOrigin: boolean;
  private readonly patterns: RegExp[];

  constructor(allowed: string[]) {
    this.anyOrigin = allowed.includes("*");
    this.patterns = allowed.filter((p) => p !== "*").map((p) => globToRegExp(p, { ignoreCase: true }));
  }

  /** Whether a request with this Origin header value (or none) may proceed. */
  allows(origin: string | null): boolean {
    if (origin === null) return true;
    if (this.anyOrigin) return true;
    const lower = origin.toLowerCase();
    return this.patterns.some((re) => re.test(lower));
  }

  /** Response headers granting CORS to an allowed origin (none when no Origin was sent). */
  corsHeaders(req: Request): Record<string, string> {
    const origin = req.headers.get("origin");
    if (origin === null) return {};
    const headers: Record<string, string> = {
      "Access-Control-Allow-Origin": origin,
      "Access-Control-Allow-Credentials": "true",
      "Vary": "Origin",
    };
    const requested = req.headers.get("access-control-request-headers");
    if (requested) headers["Access-Control-Allow-Headers"] = requested;
    return headers;
  }
}

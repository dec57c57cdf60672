/**
 * @module
 * `allowed_origins`: which web pages may open connections. Requests without an `Origin` header
 * (servers, CLIs, mobile apps) always pass. With an empty list every browser origin is refused;
 * `"*"` allows all; patterns are globs (`https://*.example.com`) matched against the lower-cased
 * Origin. Unlike Centrifugo (which only omits CORS headers), a refused origin gets 403.
 *
 * CORS: an origin that matches a listed pattern is trusted — it is echoed with
 * `Access-Control-Allow-Credentials: true` (cookies reach a connect hook) and may send any header.
 * An origin allowed only by `"*"` is not: it gets `Access-Control-Allow-Origin: *`, no credentials
 * (so a foreign page cannot ride a user's cookies: no CSRF through Sluice) and the few headers the
 * SDK and EventSource polyfills send. The official SDK sends no credentials cross-origin anyway.
 *
 * `originChecked` puts a connection endpoint behind both: the check first, then CORS headers on
 * its answers and a preflight answer where the endpoint takes `OPTIONS`.
 */
import { globToRegExp } from "../core/glob.ts";
import type { Logger } from "../log.ts";
import type { Handler } from "./handler.ts";
import { pathOf } from "./request_url.ts";
import { textResponse } from "./responses.ts";

/** No CORS headers (no Origin, or one CORS does not answer for): shared, nothing to set. */
const NO_CORS: Readonly<Record<string, string>> = Object.freeze({});
/** CORS for an origin allowed only by `"*"`: anyone may read, nobody's credentials are sent. */
const ANY_ORIGIN: Readonly<Record<string, string>> = Object.freeze({ "Access-Control-Allow-Origin": "*" });
const ANY_ORIGIN_PREFLIGHT: Readonly<Record<string, string>> = Object.freeze({
  ...ANY_ORIGIN,
  "Access-Control-Allow-Headers": "Content-Type, Authorization, Last-Event-ID",
});

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
    return this.anyOrigin || this.listed(origin);
  }

  /**
   * Response headers granting CORS to an allowed origin (none when no Origin was sent); `origin`
   * when the caller has already read the header.
   */
  corsHeaders(req: Request, origin = req.headers.get("origin")): Readonly<Record<string, string>> {
    if (origin === null) return NO_CORS;
    if (!this.listed(origin)) {
      if (!this.anyOrigin) return NO_CORS;
      return req.headers.has("access-control-request-headers") ? ANY_ORIGIN_PREFLIGHT : ANY_ORIGIN;
    }
    const headers: Record<string, string> = {
      "Access-Control-Allow-Origin": origin,
      "Access-Control-Allow-Credentials": "true",
      "Vary": "Origin",
    };
    const requested = req.headers.get("access-control-request-headers");
    if (requested) headers["Access-Control-Allow-Headers"] = requested;
    return headers;
  }

  /** Whether the origin matches a pattern other than `"*"`. */
  private listed(origin: string): boolean {
    const lower = origin.toLowerCase();
    return this.patterns.some((re) => re.test(lower));
  }
}

/**
 * A connection endpoint behind the Origin check. `methods` are those it takes (the preflight's
 * `Access-Control-Allow-Methods`); `cors: false` for a WebSocket upgrade, which is checked (403
 * before upgrading) but needs no CORS headers.
 */
export function originChecked(
  origins: OriginPolicy,
  log: Logger,
  handler: Handler,
  methods: string,
  cors = true,
): Handler {
  return async (req, conn) => {
    const origin = req.headers.get("origin");
    if (!origins.allows(origin)) {
      log.info("request origin is not allowed", { origin, path: pathOf(req.url) });
      return textResponse(403, "Forbidden: origin not allowed");
    }
    if (!cors) return handler(req, conn);
    const corsHeaders = origins.corsHeaders(req, origin);
    // A preflight where the endpoint takes one (Centrifugo's SSE endpoints do not: 405 there).
    if (req.method === "OPTIONS" && methods.includes("OPTIONS")) {
      return new Response(null, {
        status: 204,
        headers: {
          ...corsHeaders,
          "Access-Control-Max-Age": "300",
          "Access-Control-Allow-Methods": methods,
        },
      });
    }
    const res = await handler(req, conn);
    for (const k in corsHeaders) res.headers.set(k, corsHeaders[k]);
    return res;
  };
}

/**
 * @module
 * Example plugin: authenticate connections with the web app's own session cookie, so browsers
 * connect without a token. Copy it into your `plugins/` folder and adapt the lookup.
 *
 * Enable it from the config by path or, once copied to `plugins_dir`, by name:
 *
 * ```json
 * { "plugins": { "./plugins/cookie_session.ts": {
 *     "cookie": "session",
 *     "sessions": { "abc": { "user": "42", "info": { "name": "Ada" } } } } } }
 * ```
 *
 * Options:
 * - `cookie` — the cookie's name (default `"session"`).
 * - `sessions` — a fixed map `{ "<session id>": { "user": "42", "info"?: {...} } }` (demos, tests).
 * - `lookup_url` — your app's endpoint: Sluice POSTs `{"session": "<id>"}` and expects 200 with
 *   `{"user": "42", "info"?: {...}}`, or 404 for an unknown session.
 * - `lookup` — when used programmatically: `async (sessionId, signal) => ({user, info}) | undefined`.
 *
 * Outcomes, and what the SDK does with each:
 * - no session cookie → `undefined`: the next plugin, or the connection token, decides;
 * - a malformed cookie value → `ClientError(101)`: the connect command fails, the SDK stops;
 * - an unknown session → `Disconnect(4501, "bad session")`: terminal, the SDK does not reconnect
 *   (send the user to your login page);
 * - the lookup itself fails (your app is down) → a plain error: Sluice answers 100 (temporary),
 *   logs it with the plugin's name, and the SDK retries with backoff.
 *
 * It imports Sluice's public API as `"sluice"`, which works wherever the file lives: in this
 * repository, copied into your app's folder, on Deno, on Bun and in the compiled binary.
 */
import { ClientError, definePlugin, Disconnect, type Plugin } from "sluice";

export interface Session {
  user: string;
  info?: unknown;
}

export interface CookieSessionOptions {
  cookie?: string;
  sessions?: Record<string, Session>;
  lookup_url?: string;
  lookup?: (sessionId: string, signal: AbortSignal) => Promise<Session | undefined>;
}

/** Session ids are opaque tokens; anything else in the cookie is refused before any lookup. */
const SESSION_ID = /^[A-Za-z0-9._~+/=-]{1,256}$/;

export default function cookieSession(options: CookieSessionOptions = {}): Plugin {
  const cookieName = options.cookie ?? "session";
  const lookup = sessionLookup(options);
  return definePlugin({
    name: "cookie_session",
    async onConnecting(event) {
      const id = readCookie(event.client.headers.get("cookie"), cookieName);
      if (id === undefined) return undefined; // no cookie: let a token (or another plugin) decide
      if (!SESSION_ID.test(id)) throw new ClientError(101, "unauthorized");
      const session = await lookup(id, event.signal);
      if (!session) throw new Disconnect(4501, "bad session");
      return { user: session.user, info: session.info };
    },
  });
}

function sessionLookup(options: CookieSessionOptions): NonNullable<CookieSessionOptions["lookup"]> {
  if (options.lookup) return options.lookup;
  if (options.lookup_url) {
    const url = options.lookup_url;
    return async (id, signal) => {
      const res = await fetch(url, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ session: id }),
        signal,
      });
      if (res.status === 404) return undefined;
      if (!res.ok) throw new Error(`session lookup answered ${res.status}`);
      return await res.json() as Session;
    };
  }
  if (options.sessions) {
    const sessions = new Map(Object.entries(options.sessions));
    return (id) => Promise.resolve(sessions.get(id));
  }
  throw new Error('cookie_session: set "sessions", "lookup_url" or "lookup"');
}

/** The value of cookie `name` in a `Cookie` header, or undefined. */
function readCookie(header: string | null, name: string): string | undefined {
  for (const part of header?.split(";") ?? []) {
    const at = part.indexOf("=");
    if (at < 0 || part.slice(0, at).trim() !== name) continue;
    const value = part.slice(at + 1).trim().replace(/^"(.*)"$/, "$1");
    try {
      return decodeURIComponent(value);
    } catch {
      return value; // not URI-encoded: the regex check decides
    }
  }
  return undefined;
}

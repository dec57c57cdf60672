/**
 * @module
 * The admin page (`admin: true`): the page at `admin_handler_prefix`, a login that answers the
 * right `admin_password` with a session cookie (a JWT signed with `admin_secret`: HttpOnly,
 * SameSite=Strict), and the server API behind that session at `{prefix}/api/<method>` — the API
 * key never reaches the browser. `admin_insecure` skips the login (for a page behind something
 * that authenticates). Failed logins are limited per address.
 */
import { jwtVerify, SignJWT } from "jose";
import type { Config } from "../config/mod.ts";
import type { Node } from "../core/node.ts";
import type { ConnInfo } from "../runtime/types.ts";
import { textResponse } from "../http/responses.ts";
import { readBodyText } from "../http/request_body.ts";
import { runApiCall } from "./http_api.ts";
import { constantTimeEqual } from "../auth/constant_time.ts";
import { ADMIN_PAGE } from "./admin_page.ts";

const COOKIE = "sluice_admin";
const SESSION_SECONDS = 12 * 3600;
/** Login bodies are a password in JSON: anything larger is not one. */
const MAX_LOGIN_BODY = 4096;

export class AdminSite {
  private readonly prefix: string;
  private readonly key: Uint8Array;
  private readonly throttle = new LoginThrottle();

  constructor(private readonly config: Config, private readonly node: Node) {
    this.prefix = config.admin_handler_prefix;
    this.key = new TextEncoder().encode(config.admin_secret);
  }

  /** Paths this site answers: the prefix itself and everything under it. */
  get routes(): string[] {
    return [this.prefix || "/", `${this.prefix}/*`];
  }

  async handle(req: Request, conn: ConnInfo): Promise<Response> {
    const path = new URL(req.url).pathname.slice(this.prefix.length).replace(/\/+$/, "");
    if (path === "" && req.method === "GET") return page();
    if (!sameOrigin(req)) return textResponse(403, "Forbidden: cross-origin admin request");
    if (path === "/login" && req.method === "POST") return await this.login(req, conn);
    if (path === "/logout" && req.method === "POST") return this.logout();
    if (path === "/session" && req.method === "GET") {
      return (await this.signedIn(req)) ? json({ insecure: this.config.admin_insecure }) : unauthorized();
    }
    const method = /^\/api\/([a-z_]+)$/.exec(path)?.[1];
    if ((method || path === "/stats") && req.method !== (method ? "POST" : "GET")) {
      return new Response(null, { status: 405, headers: { Allow: method ? "POST" : "GET" } });
    }
    if (method || path === "/stats") {
      if (!(await this.signedIn(req))) return unauthorized();
      if (path === "/stats") return json(this.stats());
      // A JSON content type cannot come from a plain cross-site form (belt and braces with SameSite).
      if (!req.headers.get("content-type")?.startsWith("application/json")) {
        return textResponse(415, "Unsupported Media Type: send Content-Type: application/json");
      }
      return await runApiCall(req, this.node, method!);
    }
    return textResponse(404, "Not Found");
  }

  private async login(req: Request, conn: ConnInfo): Promise<Response> {
    const from = conn.remoteAddr ?? "unknown";
    const wait = this.throttle.blockedFor(from);
    if (wait > 0) {
      return new Response('{"error":"too many failed logins; try again later"}\n', {
        status: 429,
        headers: { "Content-Type": "application/json", "Retry-After": String(Math.ceil(wait / 1000)) },
      });
    }
    const text = await readBodyText(req, {
      maxBytes: MAX_LOGIN_BODY,
      timeoutMs: this.config.http_body_timeout,
    });
    if (text instanceof Response) return text;
    let password: unknown;
    try {
      password = (JSON.parse(text) as { password?: unknown })?.password;
    } catch {
      return textResponse(400, 'Bad Request: send {"password": "…"}');
    }
    if (!this.config.admin_insecure) {
      if (typeof password !== "string" || !constantTimeEqual(password, this.config.admin_password)) {
        this.throttle.failed(from);
        this.node.log.warn("admin login refused", { remote: from });
        return json({ error: "wrong password" }, 401);
      }
    }
    this.node.log.info("admin logged in", { remote: from });
    const token = await new SignJWT({ sub: "admin" })
      .setProtectedHeader({ alg: "HS256" })
      .setIssuedAt()
      .setExpirationTime(`${SESSION_SECONDS}s`)
      .sign(this.key);
    return json({ ok: true }, 200, { "Set-Cookie": this.cookie(token, SESSION_SECONDS) });
  }

  private logout(): Response {
    return json({ ok: true }, 200, { "Set-Cookie": this.cookie("", 0) });
  }

  private cookie(value: string, maxAge: number): string {
    const secure = this.config.tls_cert ? "; Secure" : "";
    return `${COOKIE}=${value}; Path=${
      this.prefix || "/"
    }; Max-Age=${maxAge}; HttpOnly; SameSite=Strict${secure}`;
  }

  private async signedIn(req: Request): Promise<boolean> {
    if (this.config.admin_insecure) return true;
    const token = cookieValue(req.headers.get("cookie"), COOKIE);
    if (!token) return false;
    try {
      const { payload } = await jwtVerify(token, this.key, { algorithms: ["HS256"] });
      return payload.sub === "admin";
    } catch {
      return false;
    }
  }

  /** What the page's chart samples every few seconds: every node's counts and this node's traffic. */
  private stats(): Record<string, unknown> {
    let sent = 0;
    for (const { count } of this.node.metrics.byTransport.values()) sent += count;
    return {
      time: Date.now(),
      nodes: this.node.nodes(),
      messages_sent: sent,
      publications_received: this.node.metrics.received.publication,
    };
  }
}

/**
 * Failed logins per address: after `MAX_FAILURES` within `WINDOW_MS`, further attempts wait out
 * the window. At most `MAX_ADDRESSES` are remembered (the oldest forgotten first), so a flood of
 * addresses cannot grow the table.
 */
export class LoginThrottle {
  static readonly MAX_FAILURES = 5;
  static readonly WINDOW_MS = 60_000;
  static readonly MAX_ADDRESSES = 10_000;
  private readonly failures = new Map<string, { count: number; since: number }>();

  constructor(private readonly now: () => number = Date.now) {}

  /** ms this address must wait before trying again; 0 = it may try. */
  blockedFor(address: string): number {
    const entry = this.failures.get(address);
    if (!entry) return 0;
    const left = entry.since + LoginThrottle.WINDOW_MS - this.now();
    if (left <= 0) {
      this.failures.delete(address);
      return 0;
    }
    return entry.count >= LoginThrottle.MAX_FAILURES ? left : 0;
  }

  failed(address: string): void {
    const entry = this.failures.get(address);
    if (entry && entry.since + LoginThrottle.WINDOW_MS > this.now()) {
      entry.count++;
      return;
    }
    this.failures.delete(address);
    if (this.failures.size >= LoginThrottle.MAX_ADDRESSES) {
      this.failures.delete(this.failures.keys().next().value!);
    }
    this.failures.set(address, { count: 1, since: this.now() });
  }

  get size(): number {
    return this.failures.size;
  }
}

function page(): Response {
  return new Response(ADMIN_PAGE, {
    headers: {
      "Content-Type": "text/html; charset=utf-8",
      "Cache-Control": "no-store",
      // The page is inline and talks only to its own origin.
      "Content-Security-Policy":
        "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; frame-ancestors 'none'",
      "X-Frame-Options": "DENY",
    },
  });
}

/** A browser names the page's origin on POSTs; it must be this server (by host, as a proxy may end TLS). */
function sameOrigin(req: Request): boolean {
  const origin = req.headers.get("origin");
  if (origin === null) return true;
  try {
    return new URL(origin).host === (req.headers.get("host") ?? new URL(req.url).host);
  } catch {
    return false;
  }
}

function cookieValue(header: string | null, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(";")) {
    const eq = part.indexOf("=");
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

const unauthorized = () => json({ error: "log in first" }, 401);

function json(body: unknown, status = 200, headers: Record<string, string> = {}): Response {
  return new Response(`${JSON.stringify(body)}\n`, {
    status,
    headers: { "Content-Type": "application/json", "Cache-Control": "no-store", ...headers },
  });
}

/**
 * @module
 * The application backend both servers' proxies call (Centrifugo's proxy, Sluice's connect_proxy
 * plugin), for the `proxy` profile. A scenario tells it what to answer through the request itself:
 * the `data` a client sends (connect data, subscribe data, the publication, the RPC payload)
 * carries `{"answer": <the JSON the backend answers>}`, or `"answer": "http 500"` / `"not json"` /
 * `"slow"` for a broken backend. Every request is kept, so a scenario can compare what each
 * server sent to the backend, not only what it sent to the client.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";

export interface ProxyRequest {
  path: string;
  /** The request body as the server sent it (parsed JSON, or the text when it was not JSON). */
  body: unknown;
  /** Headers worth comparing (Content-Type and what a proxy forwards). */
  headers: Record<string, string>;
  raw: string;
}

export interface ProxyBackend {
  url: string;
  /** Requests whose body mentions `marker` (a scenario's run id), in arrival order. */
  requests(marker: string): ProxyRequest[];
  close(): Promise<void>;
}

// (not User-Agent: that names the HTTP client library, Go's or the runtime's)
const FORWARDED = ["content-type", "authorization", "x-custom", "origin"];

/** Where configs point their proxies; the runner puts the backend's address in its place. */
export const PROXY_PLACEHOLDER = "http://proxy.invalid";

/** The backend of this run (started by the runner before any server). */
export const proxy: { backend?: ProxyBackend } = {};

/** The redis-server under each server of a Redis profile, by the server's URL (to stop it). */
export const redisUnder = new Map<string, { stop(): Promise<void> }>();

export function startProxyBackend(): Promise<ProxyBackend> {
  const seen: ProxyRequest[] = [];
  const server = http.createServer((req, res) => {
    let raw = "";
    req.on("data", (c) => (raw += c));
    req.on("end", () => {
      let body: unknown = raw;
      try {
        body = JSON.parse(raw);
      } catch {
        // kept as text
      }
      const headers: Record<string, string> = {};
      for (const h of FORWARDED) {
        if (typeof req.headers[h] === "string") headers[h] = req.headers[h] as string;
      }
      seen.push({ path: req.url ?? "", body, headers, raw });
      if (seen.length > 10_000) seen.shift();
      const answer = answerIn(body);
      if (answer === "http 500") {
        res.writeHead(500).end("backend broke");
      } else if (answer === "not json") {
        res.writeHead(200, { "Content-Type": "application/json" }).end("<html>not json</html>");
      } else if (answer === "slow") {
        setTimeout(() => res.writeHead(200, { "Content-Type": "application/json" }).end("{}"), 3000);
      } else {
        res.writeHead(200, { "Content-Type": "application/json" }).end(JSON.stringify(answer ?? {}));
      }
    });
  });
  return new Promise((resolve) => {
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as AddressInfo;
      resolve({
        url: `http://127.0.0.1:${port}`,
        requests: (marker) => seen.filter((r) => r.raw.includes(marker)),
        close: () =>
          new Promise<void>((r) => {
            server.closeAllConnections?.();
            server.close(() => r());
          }),
      });
    });
  });
}

/**
 * `data.answer` of a proxy request (data is JSON, or base64 of JSON with `b64data`), else
 * `meta.answer`: requests without data (refresh, sub_refresh) are answered from the connection's
 * meta, which the connect answer chose.
 */
function answerIn(body: unknown): unknown {
  if (!body || typeof body !== "object") return undefined;
  const b = body as { data?: unknown; b64data?: string; meta?: unknown };
  let data = b.data;
  if (data === undefined && typeof b.b64data === "string") {
    try {
      data = JSON.parse(atob(b.b64data));
    } catch {
      return undefined;
    }
  }
  const answer = (v: unknown) => v && typeof v === "object" ? (v as { answer?: unknown }).answer : undefined;
  return answer(data) ?? answer(b.meta);
}

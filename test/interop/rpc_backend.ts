/**
 * For the control target only: Centrifugo answers the suites' RPC through its RPC proxy, so this
 * small HTTP backend answers as `plugins/interop_rpc.ts` does in Sluice (same data, same error).
 */
import http from "node:http";
import type { AddressInfo } from "node:net";

export interface Backend {
  url: string;
  close(): Promise<void>;
}

export function startRpcBackend(): Promise<Backend> {
  const server = http.createServer((req, res) => {
    let body = "";
    req.on("data", (c) => (body += c));
    req.on("end", () => {
      let answer: unknown;
      try {
        const r = JSON.parse(body) as { method?: string; data?: unknown; user?: string };
        if (r.method === "echo") answer = { result: { data: { echo: r.data ?? null, user: r.user ?? "" } } };
        else if (r.method === "fail") answer = { error: { code: 4001, message: "rpc failed on purpose" } };
        else answer = { error: { code: 104, message: "method not found" } };
      } catch {
        answer = { error: { code: 107, message: "bad request" } };
      }
      res.writeHead(200, { "Content-Type": "application/json" });
      res.end(JSON.stringify(answer));
    });
  });
  return new Promise((resolve) => {
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as AddressInfo;
      resolve({
        url: `http://127.0.0.1:${port}/rpc`,
        close: () => new Promise<void>((r) => server.close(() => r())),
      });
    });
  });
}

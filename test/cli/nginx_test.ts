/**
 * The README's nginx server block, run in a real nginx (`nginx-light`) in front of a Sluice process:
 * the SDK over HTTP streaming with `/emulation` through nginx, a uni_sse stream (unbuffered: the
 * connect push arrives before anything else happens), and the SDK over WebSocket.
 */
import { test } from "../harness.ts";
import { assertEquals, assertMatch } from "../assert.ts";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Centrifuge } from "centrifuge";
import { readmeExample } from "../helpers/readme.ts";
import { freePort, sluice, start, tempDir, writeConfig } from "../helpers/process.ts";
import { openRaw } from "../helpers/raw.ts";
import { once } from "../helpers/sdk.ts";
import { userToken } from "../helpers/tokens.ts";
import { API_KEY, SECRET } from "../helpers/server.ts";

const NGINX = ["/usr/sbin/nginx", "/usr/local/sbin/nginx"].find((p) => existsSync(p));

/** The README's block, pointed at `sluicePort`, listening on `nginxPort`, inside a minimal nginx.conf. */
function nginxConf(dir: string, sluicePort: number, nginxPort: number): string {
  const block = readmeExample("nginx").body
    .replace("server 127.0.0.1:8000;", `server 127.0.0.1:${sluicePort};`)
    .replace("listen 80;", `listen 127.0.0.1:${nginxPort};`);
  return `worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
${block}
}
`;
}

test(
  "README: Sluice behind nginx — HTTP streaming + /emulation, SSE and WebSocket through the proxy",
  async (t) => {
    if (!NGINX) throw new Error("nginx is not installed (apt-get install nginx-light; .ci/run does)");
    const config = writeConfig({
      token_hmac_secret_key: SECRET,
      api_key: API_KEY,
      http_stream: true,
      uni_sse: true,
      allow_subscribe_for_client: true,
    });
    const server = sluice(t, ["--config", config, "--port", "0", "--address", "127.0.0.1"]);
    const sluicePort = Number((await server.waitFor(/sluice started .*address=127\.0\.0\.1:(\d+)/))[1]);
    const dir = tempDir();
    mkdirSync(join(dir, "logs"), { recursive: true });
    const nginxPort = await freePort();
    writeFileSync(join(dir, "nginx.conf"), nginxConf(dir, sluicePort, nginxPort));
    const nginx = start(t, NGINX, ["-p", dir, "-c", join(dir, "nginx.conf"), "-g", "daemon off;"], {}, dir);
    t.onFailure(() =>
      `    --- nginx ---\n${nginx.output()}\n${readFileSync(join(dir, "error.log"), "utf8")}`
    );
    const url = `http://127.0.0.1:${nginxPort}`;
    for (let i = 0; i < 50; i++) {
      const ok = await fetch(`${url}/health`).then((r) => r.status === 200, () => false);
      if (ok) break;
      await new Promise((r) => setTimeout(r, 100));
    }

    // uni_sse: the connect push must arrive at once (nothing buffers it)
    const token = await userToken("behind", 3600, { channels: ["news"] });
    const sse = await openRaw(
      `${url}/connection/uni_sse?cf_connect=${encodeURIComponent(JSON.stringify({ token }))}`,
      {},
      "sse",
    );
    t.cleanup(() => sse.close());
    assertMatch((await sse.next(3000))!, { connect: { subs: { news: {} } } });

    // the SDK: http_stream with its commands through /emulation, then websocket
    for (const transport of ["http_stream", "websocket"] as const) {
      const endpoint = transport === "websocket"
        ? `${url.replace("http", "ws")}/connection/websocket`
        : `${url}/connection/http_stream`;
      const client = new Centrifuge([{ transport, endpoint }], {
        token: await userToken(`sdk-${transport}`),
        emulationEndpoint: `${url}/emulation`,
        websocket: WebSocket,
        fetch: globalThis.fetch.bind(globalThis),
        readableStream: ReadableStream,
      });
      t.cleanup(() => client.disconnect());
      const connected = once<{ transport: string }>(client, "connected");
      client.connect();
      assertEquals((await connected).transport, transport);
      const sub = client.newSubscription("news");
      const got = once<{ data: unknown }>(sub, "publication");
      const ready = once(sub, "subscribed");
      sub.subscribe(); // through /emulation on http_stream
      await ready;
      const res = await fetch(`${url}/api/publish`, {
        method: "POST",
        headers: { "X-API-Key": API_KEY },
        body: JSON.stringify({ channel: "news", data: { via: transport } }),
      });
      assertEquals(res.status, 200);
      assertEquals((await got).data, { via: transport });
      client.disconnect();
    }
    assertMatch((await sse.until((m) => !!(m as { pub?: unknown }).pub))!, { channel: "news" });
  },
  { timeout: 30_000 },
);

/**
 * @module
 * Dev mode's page at `/`: the official SDK's browser build (served by Sluice at
 * `/_sluice/centrifuge.js`, no CDN), connecting websocket → http_stream → sse (whichever are on),
 * showing the transport in use, live publications on `news`, a publish box and who is present. A
 * token for a fresh user is minted per page load. No build step: the page is this string.
 */
import { SignJWT } from "jose";
import type { Config } from "../config/mod.ts";
import { getRuntime } from "../runtime/serve.ts";

const escape = (s: string) => s.replace(/</g, "\\u003c");

export async function demoPage(config: Config): Promise<Response> {
  const user = `web-${crypto.randomUUID().slice(0, 6)}`;
  const token = await new SignJWT({ sub: user })
    .setProtectedHeader({ alg: "HS256" })
    .setIssuedAt()
    .setExpirationTime("24h")
    .sign(new TextEncoder().encode(config.token_hmac_secret_key));
  const transports: Array<{ transport: string; path: string }> = [];
  if (!config.websocket_disable) {
    transports.push({ transport: "websocket", path: config.websocket_handler_prefix });
  }
  if (config.http_stream) {
    transports.push({ transport: "http_stream", path: config.http_stream_handler_prefix });
  }
  if (config.sse) transports.push({ transport: "sse", path: config.sse_handler_prefix });
  const setup = JSON.stringify({ token, user, transports, emulation: config.emulation_handler_prefix });
  return new Response(PAGE.replace("__SETUP__", escape(setup)), {
    headers: { "Content-Type": "text/html; charset=utf-8", "Cache-Control": "no-store" },
  });
}

/** The SDK's browser build for the page (`/_sluice/centrifuge.js`), read once per server, when first asked for. */
export function sdkScript(): () => Promise<Response> {
  let sdk: Promise<string> | undefined;
  return async () => {
    sdk ??= getRuntime().then((r) => r.sdkBrowserBuild());
    return new Response(await sdk, {
      headers: {
        "Content-Type": "text/javascript; charset=utf-8",
        "Cache-Control": "public, max-age=3600",
      },
    });
  };
}

const PAGE = `<!doctype html>
<html lang="en">
<meta charset="utf-8">
<title>Sluice — dev mode</title>
<style>
  body { font: 15px/1.4 system-ui, sans-serif; max-width: 42rem; margin: 2rem auto; padding: 0 1rem; }
  #log { list-style: none; padding: 0; } #log li { border-bottom: 1px solid #eee; padding: .3rem 0; }
  code { background: #f4f4f4; padding: 0 .2rem; }
</style>
<h1>Sluice</h1>
<p>Transport: <b id="transport">connecting…</b> · you are <b id="user"></b> · channel <code>news</code></p>
<form id="publish"><input id="text" placeholder="Say something" autocomplete="off"> <button>Publish</button></form>
<h2>Publications</h2>
<ul id="log"></ul>
<h2>Present</h2>
<ul id="present"></ul>
<p>Publish from a terminal too: see the curl line the server printed.</p>
<script src="/_sluice/centrifuge.js"></script>
<script>
  const setup = __SETUP__;
  const origin = location.origin;
  const ws = origin.replace(/^http/, "ws");
  const $ = (id) => document.getElementById(id);
  $("user").textContent = setup.user;
  const client = new Centrifuge(
    setup.transports.map((t) => ({ transport: t.transport, endpoint: (t.transport === "websocket" ? ws : origin) + t.path })),
    { token: setup.token, emulationEndpoint: origin + setup.emulation },
  );
  client.on("connected", (ctx) => { $("transport").textContent = ctx.transport; });
  client.on("disconnected", (ctx) => { $("transport").textContent = "disconnected (" + ctx.code + ")"; });
  const sub = client.newSubscription("news", { joinLeave: true });
  sub.on("publication", (ctx) => {
    const li = document.createElement("li");
    li.textContent = (ctx.info ? ctx.info.user + ": " : "") + JSON.stringify(ctx.data);
    $("log").prepend(li);
  });
  async function present() {
    const { clients } = await sub.presence();
    const users = [...new Set(Object.values(clients).map((c) => c.user))].sort();
    $("present").replaceChildren(...users.map((u) => Object.assign(document.createElement("li"), { textContent: u })));
  }
  sub.on("subscribed", present);
  sub.on("join", present);
  sub.on("leave", present);
  $("publish").addEventListener("submit", (e) => {
    e.preventDefault();
    const text = $("text").value.trim();
    if (text) sub.publish({ text });
    $("text").value = "";
  });
  sub.subscribe();
  client.connect();
</script>
</html>
`;

/**
 * @module
 * The admin page: one HTML string, no build step, no secrets in it. It logs in at `./login`, then
 * talks to `./api/<method>` (the server API behind the admin session) and samples `./stats` for
 * the chart. Everything is plain DOM; text from the server is set as text, never as HTML.
 */
export const ADMIN_PAGE = `<!doctype html>
<html lang="en">
<meta charset="utf-8">
<title>Sluice admin</title>
<style>
  body { font: 14px/1.4 system-ui, sans-serif; max-width: 64rem; margin: 1.5rem auto; padding: 0 1rem; color: #222; }
  h1 { font-size: 1.4rem; } h2 { font-size: 1.05rem; margin: 1.4rem 0 .4rem; }
  table { border-collapse: collapse; width: 100%; } th, td { text-align: left; padding: .25rem .5rem; border-bottom: 1px solid #eee; }
  td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; }
  .grid { display: grid; grid-template-columns: 1fr 1fr; gap: 0 2rem; }
  .error { color: #b00; } .ok { color: #070; } [hidden] { display: none !important; }
  textarea { width: 100%; font-family: ui-monospace, monospace; } input[type=text] { width: 14rem; }
  button.link { background: none; border: 0; color: #06c; cursor: pointer; padding: 0; font: inherit; }
  pre { background: #f6f6f6; padding: .4rem; overflow: auto; max-height: 14rem; margin: .2rem 0; }
  .legend span { margin-right: 1rem; } svg { width: 100%; height: 140px; background: #fafafa; }
</style>
<h1>Sluice admin</h1>

<form id="login" hidden>
  <label>Password <input id="password" type="password" autocomplete="current-password"></label>
  <button>Log in</button>
  <p id="login-error" class="error"></p>
</form>

<div id="app" hidden>
  <p><button id="logout">Log out</button> <span id="status"></span></p>

  <h2>Nodes</h2>
  <table><thead><tr><th>Name</th><th class="n">Uptime</th><th class="n">Clients</th><th class="n">Users</th>
    <th class="n">Channels</th><th class="n">Subscriptions</th></tr></thead><tbody id="nodes"></tbody></table>

  <h2>Over time <small>(every 2 s; messages/s on this node)</small></h2>
  <svg id="chart" viewBox="0 0 600 140" preserveAspectRatio="none"></svg>
  <p class="legend"><span style="color:#06c">■ clients <b id="m-clients">0</b></span>
    <span style="color:#c60">■ subscriptions <b id="m-subs">0</b></span>
    <span style="color:#090">■ messages/s <b id="m-rate">0</b></span></p>

  <div class="grid">
    <div>
      <h2>Channels</h2>
      <input id="pattern" type="text" placeholder="filter, e.g. chat:*">
      <table><thead><tr><th>Channel</th><th class="n">Subscribers</th></tr></thead><tbody id="channels"></tbody></table>
      <p id="channels-empty">No channel has subscribers.</p>
    </div>
    <div id="channel" hidden>
      <h2>Channel <code id="channel-name"></code></h2>
      <p>Present (<span id="presence-count">0</span>):</p><ul id="presence"></ul>
      <p>History: <button class="link" id="history-remove">remove</button></p><pre id="history"></pre>
      <p id="channel-error" class="error"></p>
    </div>
  </div>

  <div class="grid">
    <form id="publish">
      <h2>Publish</h2>
      <p><input id="pub-channel" type="text" placeholder="channel"></p>
      <p><textarea id="pub-data" rows="3">{"text": "hello"}</textarea></p>
      <button>Publish</button> <span id="pub-result"></span>
    </form>
    <form id="disconnect">
      <h2>Disconnect a user</h2>
      <p><input id="dc-user" type="text" placeholder="user ID"></p>
      <button>Disconnect</button> <span id="dc-result"></span>
    </form>
  </div>
</div>

<script>
  const base = location.pathname.replace(/\\/+$/, "");
  const $ = (id) => document.getElementById(id);
  const cell = (text, numeric) => Object.assign(document.createElement("td"), { textContent: String(text), className: numeric ? "n" : "" });
  let timer, selected, samples = [];

  async function call(method, params) {
    const res = await fetch(base + "/api/" + method, {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(params || {}),
    });
    if (res.status === 401) { showLogin(); throw new Error("logged out"); }
    const body = await res.json();
    if (body.error) throw new Error(body.error.message + " (" + body.error.code + ")");
    return body.result;
  }
  function say(el, text, ok) { el.textContent = text; el.className = ok ? "ok" : "error"; }
  function uptime(s) {
    const d = Math.floor(s / 86400), h = Math.floor(s % 86400 / 3600), m = Math.floor(s % 3600 / 60);
    return (d ? d + "d " : "") + (d || h ? h + "h " : "") + (d || h || m ? m + "m " : "") + (s % 60) + "s";
  }

  function showLogin() {
    clearInterval(timer);
    $("app").hidden = true; $("login").hidden = false; $("password").focus();
  }
  function showApp() {
    $("login").hidden = true; $("app").hidden = false;
    refresh(); clearInterval(timer); timer = setInterval(refresh, 2000);
  }

  async function refresh() {
    try {
      const res = await fetch(base + "/stats");
      if (res.status === 401) return showLogin();
      const stats = await res.json();
      $("nodes").replaceChildren(...stats.nodes.map((n) => {
        const tr = document.createElement("tr");
        tr.append(cell(n.name), cell(uptime(n.uptime), 1), cell(n.num_clients, 1), cell(n.num_users, 1),
          cell(n.num_channels, 1), cell(n.num_subs, 1));
        return tr;
      }));
      sample(stats);
      const pattern = $("pattern").value.trim();
      const { channels } = await call("channels", pattern ? { pattern } : {});
      const names = Object.keys(channels).sort();
      $("channels-empty").hidden = names.length > 0;
      $("channels").replaceChildren(...names.map((name) => {
        const tr = document.createElement("tr");
        const open = Object.assign(document.createElement("button"), { className: "link", textContent: name });
        open.addEventListener("click", () => { selected = name; showChannel(); });
        const td = document.createElement("td"); td.append(open);
        tr.append(td, cell(channels[name].num_clients, 1));
        return tr;
      }));
      if (selected) await showChannel();
      say($("status"), "updated " + new Date(stats.time).toLocaleTimeString(), true);
    } catch (err) {
      say($("status"), String(err.message || err));
    }
  }

  async function showChannel() {
    $("channel").hidden = false;
    $("channel-name").textContent = selected;
    $("pub-channel").value ||= selected;
    $("channel-error").textContent = "";
    const [presence, history] = await Promise.allSettled([
      call("presence", { channel: selected }), call("history", { channel: selected, limit: 10, reverse: true }),
    ]);
    if (presence.status === "fulfilled") {
      const clients = Object.values(presence.value.presence);
      $("presence-count").textContent = clients.length;
      $("presence").replaceChildren(...clients.map((c) =>
        Object.assign(document.createElement("li"), { textContent: (c.user || "(anonymous)") + " · " + c.client })));
    } else {
      $("presence-count").textContent = "–";
      $("presence").replaceChildren();
    }
    $("history").textContent = history.status === "fulfilled"
      ? history.value.publications.map((p) => p.offset + ": " + JSON.stringify(p.data)).join("\\n") || "(empty)"
      : "(" + history.reason.message + ")";
  }

  function sample(stats) {
    const sum = (k) => stats.nodes.reduce((a, n) => a + n[k], 0);
    const last = samples.at(-1);
    const rate = last ? (stats.messages_sent - last.sent) / ((stats.time - last.time) / 1000) : 0;
    samples.push({ time: stats.time, sent: stats.messages_sent, clients: sum("num_clients"), subs: sum("num_subs"), rate: Math.max(0, rate) });
    samples = samples.slice(-60);
    $("m-clients").textContent = samples.at(-1).clients;
    $("m-subs").textContent = samples.at(-1).subs;
    $("m-rate").textContent = Math.round(samples.at(-1).rate);
    const line = (key, color, dash) => {
      const max = Math.max(1, ...samples.map((s) => s[key]));
      const points = samples.map((s, i) => (i * 600 / 59).toFixed(1) + "," + (135 - s[key] / max * 125).toFixed(1)).join(" ");
      const el = document.createElementNS("http://www.w3.org/2000/svg", "polyline");
      el.setAttribute("points", points); el.setAttribute("fill", "none");
      el.setAttribute("stroke", color); el.setAttribute("stroke-width", "2");
      if (dash) el.setAttribute("stroke-dasharray", "6 4");
      el.dataset.series = key;
      return el;
    };
    $("chart").replaceChildren(line("clients", "#06c"), line("subs", "#c60", true), line("rate", "#090"));
  }

  $("login").addEventListener("submit", async (e) => {
    e.preventDefault();
    const res = await fetch(base + "/login", {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ password: $("password").value }),
    });
    $("password").value = "";
    if (res.ok) { $("login-error").textContent = ""; return showApp(); }
    const body = await res.json().catch(() => ({}));
    $("login-error").textContent = res.status === 401 ? "Wrong password" : (body.error || "Login failed (" + res.status + ")");
  });
  $("logout").addEventListener("click", async () => {
    await fetch(base + "/logout", { method: "POST" });
    showLogin();
  });
  $("publish").addEventListener("submit", async (e) => {
    e.preventDefault();
    try {
      const data = JSON.parse($("pub-data").value);
      const r = await call("publish", { channel: $("pub-channel").value.trim(), data });
      say($("pub-result"), "published at offset " + (r.offset ?? 0), true);
      refresh();
    } catch (err) {
      say($("pub-result"), err instanceof SyntaxError ? "data must be JSON" : err.message);
    }
  });
  $("disconnect").addEventListener("submit", async (e) => {
    e.preventDefault();
    try {
      await call("disconnect", { user: $("dc-user").value.trim() });
      say($("dc-result"), "disconnected", true);
      refresh();
    } catch (err) {
      say($("dc-result"), err.message);
    }
  });
  $("history-remove").addEventListener("click", async () => {
    try { await call("history_remove", { channel: selected }); await showChannel(); }
    catch (err) { say($("channel-error"), err.message); }
  });
  $("pattern").addEventListener("input", () => refresh());

  fetch(base + "/session").then((res) => res.ok ? showApp() : showLogin(), showLogin);
</script>
</html>
`;

/**
 * The admin page's HTTP contract, over a real listener: off unless configured, a login that sets an
 * HttpOnly SameSite cookie, the server API behind that session (never the API key), refusals for
 * wrong or forged sessions and cross-origin requests, failed logins limited per address, where it
 * is mounted when `internal_port` is set, and the config rules. The page itself is driven in
 * Chromium by test/cli/admin_page_test.ts.
 */
import { test } from "../harness.ts";
import { assert, assertEquals, assertRejects } from "../assert.ts";

const assertFits = (text: string, re: RegExp) =>
  assert(re.test(text), `${JSON.stringify(text)} should match ${re}`);
import { API_KEY, startServer } from "../helpers/server.ts";
import { loadConfig } from "../../src/config/mod.ts";
import { createServer } from "../../src/server.ts";
import { LoginThrottle } from "../../src/api/admin.ts";
import { readmeExample } from "../helpers/readme.ts";

const ADMIN = { admin: true, admin_password: "correct horse", admin_secret: "admin-secret-0123456789" };

async function login(url: string, password: string, headers: Record<string, string> = {}) {
  return await fetch(`${url}/admin/login`, {
    method: "POST",
    headers: { "Content-Type": "application/json", ...headers },
    body: JSON.stringify({ password }),
  });
}

const cookieOf = (res: Response) => res.headers.get("set-cookie")!.split(";")[0];

function adminApi(url: string, method: string, cookie: string | undefined, body: unknown = {}) {
  return fetch(`${url}/admin/api/${method}`, {
    method: "POST",
    headers: { "Content-Type": "application/json", ...(cookie ? { Cookie: cookie } : {}) },
    body: JSON.stringify(body),
  });
}

test("admin is off unless configured: /admin is not there", async (t) => {
  const s = await startServer(t, {});
  assertEquals((await fetch(`${s.url}/admin`)).status, 404);
  assertEquals((await login(s.url, "anything")).status, 404);
});

test("admin login: a wrong password is refused; the right one sets an HttpOnly SameSite cookie", async (t) => {
  const s = await startServer(t, ADMIN);
  const page = await fetch(`${s.url}/admin`);
  assertEquals(page.status, 200);
  const html = await page.text();
  assert(html.includes("Sluice admin"), "the page");
  assert(!html.includes(API_KEY) && !html.includes(ADMIN.admin_password), "no secret in the page");
  assertFits(page.headers.get("content-security-policy")!, /connect-src 'self'/);

  const wrong = await login(s.url, "battery staple");
  assertEquals(wrong.status, 401);
  assertEquals(await wrong.json(), { error: "wrong password" });
  assertEquals(wrong.headers.get("set-cookie"), null);
  assertEquals((await login(s.url, "")).status, 401);
  const notJson = await fetch(`${s.url}/admin/login`, { method: "POST", body: "password=x" });
  assertEquals(notJson.status, 400);

  const ok = await login(s.url, ADMIN.admin_password);
  assertEquals(ok.status, 200);
  const cookie = ok.headers.get("set-cookie")!;
  assertFits(
    cookie,
    /^sluice_admin=[\w-]+\.[\w-]+\.[\w-]+; Path=\/admin; Max-Age=\d+; HttpOnly; SameSite=Strict$/,
  );
  assertEquals((await fetch(`${s.url}/admin/session`, { headers: { Cookie: cookieOf(ok) } })).status, 200);
  assertEquals((await fetch(`${s.url}/admin/session`)).status, 401);
});

test("admin API: the server API behind the session; refused without it, with a forged one, cross-origin", async (t) => {
  const s = await startServer(t, {
    ...ADMIN,
    namespaces: [{ name: "hist", history_size: 5, history_ttl: "60s" }],
  });
  const cookie = cookieOf(await login(s.url, ADMIN.admin_password));

  const pub = await adminApi(s.url, "publish", cookie, { channel: "hist:1", data: { text: "hi" } });
  assertEquals(pub.status, 200);
  assertEquals((await pub.json()).result.offset, 1);
  const hist = await (await adminApi(s.url, "history", cookie, { channel: "hist:1", limit: 5 })).json();
  assertEquals(hist.result.publications[0].data, { text: "hi" });
  const info = await (await adminApi(s.url, "info", cookie)).json();
  assertEquals(info.result.nodes.length, 1);
  const unknown = await adminApi(s.url, "nope", cookie);
  assertEquals(unknown.status, 404);
  const stats = await (await fetch(`${s.url}/admin/stats`, { headers: { Cookie: cookie } })).json();
  assertEquals(stats.nodes[0].uid, s.node.id);
  assertEquals(typeof stats.messages_sent, "number");

  assertEquals((await adminApi(s.url, "publish", undefined, { channel: "hist:1", data: 1 })).status, 401);
  // The API key is not an admin session, and an admin session is not an API key.
  const withKey = await fetch(`${s.url}/admin/api/info`, {
    method: "POST",
    headers: { "Content-Type": "application/json", "X-API-Key": API_KEY },
    body: "{}",
  });
  assertEquals(withKey.status, 401);
  assertEquals(
    (await fetch(`${s.url}/api/info`, { method: "POST", headers: { Cookie: cookie }, body: "{}" })).status,
    401,
  );

  const [head, payload] = cookie.slice("sluice_admin=".length).split(".");
  const forged = `sluice_admin=${head}.${payload}.${"A".repeat(43)}`;
  assertEquals((await adminApi(s.url, "info", forged)).status, 401);
  const unsigned = `sluice_admin=${btoa('{"alg":"none"}').replace(/=+$/, "")}.${payload}.`;
  assertEquals((await adminApi(s.url, "info", unsigned)).status, 401);

  const crossSite = await fetch(`${s.url}/admin/api/publish`, {
    method: "POST",
    headers: { "Content-Type": "application/json", Cookie: cookie, Origin: "http://evil.example" },
    body: JSON.stringify({ channel: "hist:1", data: 2 }),
  });
  assertEquals(crossSite.status, 403);
  const formPost = await fetch(`${s.url}/admin/api/publish`, {
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded", Cookie: cookie },
    body: "channel=h:1",
  });
  assertEquals(formPost.status, 415);
  const offset =
    (await (await adminApi(s.url, "history", cookie, { channel: "hist:1" })).json()).result.offset;
  assertEquals(offset, 1, "nothing refused was published");

  const out = await fetch(`${s.url}/admin/logout`, { method: "POST", headers: { Cookie: cookie } });
  assertFits(out.headers.get("set-cookie")!, /^sluice_admin=; Path=\/admin; Max-Age=0/);
});

test("admin login: five failures from one address, then 429 with Retry-After; the right password waits too", async (t) => {
  const s = await startServer(t, ADMIN);
  for (let i = 0; i < LoginThrottle.MAX_FAILURES; i++) {
    assertEquals((await login(s.url, `guess ${i}`)).status, 401);
  }
  const blocked = await login(s.url, ADMIN.admin_password);
  assertEquals(blocked.status, 429);
  assert(Number(blocked.headers.get("retry-after")) > 0, "Retry-After");
});

test("LoginThrottle: windows expire, and the table stays bounded under many addresses", () => {
  let now = 0;
  const throttle = new LoginThrottle(() => now);
  for (let i = 0; i < LoginThrottle.MAX_FAILURES; i++) throttle.failed("a");
  assert(throttle.blockedFor("a") > 0, "blocked");
  now += LoginThrottle.WINDOW_MS;
  assertEquals(throttle.blockedFor("a"), 0);
  assertEquals(throttle.size, 0, "released once the window is over");
  for (let i = 0; i < LoginThrottle.MAX_ADDRESSES + 500; i++) throttle.failed(`10.0.${i >> 8}.${i & 255}`);
  assertEquals(throttle.size, LoginThrottle.MAX_ADDRESSES);
});

test("admin_insecure: no login needed", async (t) => {
  const s = await startServer(t, { admin: true, admin_insecure: true });
  assertEquals((await fetch(`${s.url}/admin/session`)).status, 200);
  assertEquals((await adminApi(s.url, "info", undefined)).status, 200);
});

test("admin with internal_port: on the internal listener only, unless admin_external", async () => {
  const req = () => new Request("http://127.0.0.1/admin");
  const { config } = loadConfig({ file: { ...ADMIN, internal_port: 9999 } });
  const internal = createServer(config);
  assertEquals((await internal.fetch(req())).status, 404);
  assertEquals((await internal.internalFetch!(req())).status, 200);
  const { config: external } = loadConfig({ file: { ...ADMIN, internal_port: 9999, admin_external: true } });
  const ext = createServer(external);
  assertEquals((await ext.fetch(req())).status, 200);
  assertEquals((await ext.internalFetch!(req())).status, 404);
  await internal.close();
  await ext.close();
});

test("admin config: a password and a secret (unless insecure), a path below /; v6 names map", async () => {
  const fails = (file: Record<string, unknown>, key: string) =>
    assertRejects(
      () => Promise.resolve().then(() => loadConfig({ file })),
      (err) => (err as { key?: string }).key === key,
    );
  await fails({ admin: true, admin_secret: "s" }, "admin_password");
  await fails({ admin: true, admin_password: "p" }, "admin_secret");
  await fails({ ...ADMIN, admin_handler_prefix: "" }, "admin_handler_prefix");
  await fails({ ...ADMIN, admin_handler_prefix: "/admin/" }, "admin_handler_prefix");
  const { config } = loadConfig({
    file: { admin: { enabled: true, password: "p", secret: "s", handler_prefix: "/ops", external: true } },
  });
  assertEquals(
    [
      config.admin,
      config.admin_password,
      config.admin_secret,
      config.admin_handler_prefix,
      config.admin_external,
    ],
    [true, "p", "s", "/ops", true],
  );
});

test("README's admin config: the page, a login with its password, the API behind the session", async (t) => {
  const file = JSON.parse(readmeExample("admin-config").body);
  const s = await startServer(t, file);
  assertEquals((await fetch(`${s.url}/admin`)).status, 200);
  const cookie = cookieOf(await login(s.url, file.admin_password));
  assertEquals((await adminApi(s.url, "info", cookie)).status, 200);
});

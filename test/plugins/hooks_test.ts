/**
 * The plugin hook table through createTestServer: decide / transform / observe / app semantics,
 * the error policy (ClientError, Disconnect, anything else or a timeout → 100 and a log line),
 * result validation, and the lifecycle order.
 */
import { test } from "../harness.ts";
import { assert, assertEquals, assertMatch, assertRejects, waitFor } from "../assert.ts";
import { ClientError, createTestServer, definePlugin, Disconnect, TestConnectError } from "../../mod.ts";
import type { Plugin } from "../../mod.ts";
import { SignJWT } from "jose";

const sign = (claims: Record<string, unknown>) =>
  new SignJWT(claims).setProtectedHeader({ alg: "HS256" }).setExpirationTime("1h")
    .sign(new TextEncoder().encode("test-secret"));

const entries = (s: { logs: string[] }) => s.logs.map((l) => JSON.parse(l) as Record<string, unknown>);

const codeOf = (p: Promise<unknown>) => p.then(() => undefined, (e) => (e as { code: number }).code);

async function server(
  t: { cleanup(fn: () => unknown): void },
  plugins: Plugin[],
  config: Record<string, unknown> = {},
) {
  const s = await createTestServer({ plugins, config });
  t.cleanup(() => s.close());
  return s;
}

test("onConnecting decides who connects; the first answer wins; undefined passes to JWT", async (t) => {
  const calls: string[] = [];
  const s = await server(t, [
    {
      name: "first",
      onConnecting: (
        e,
      ) => (calls.push("first"),
        e.data === "guest" ? { user: "guest-1", info: { role: "guest" }, data: { hello: 1 } } : undefined),
    },
    { name: "second", onConnecting: () => (calls.push("second"), undefined) },
  ]);
  const guest = await s.connect({ data: "guest" });
  assertMatch(guest.connect, { data: { hello: 1 } });
  assertEquals(calls, ["first"]);
  calls.length = 0;
  const viaToken = await s.connect({ token: await sign({ sub: "jwt-user" }) });
  assertEquals(calls, ["first", "second"]);
  assert(viaToken.id.length > 0);
  const presenceInfo = await s.connect({ data: "guest" });
  assert(presenceInfo.id !== guest.id);
  // nobody answers and there is no token: no credentials (3501)
  const refused = await assertRejects(() => s.connect({})) as TestConnectError;
  assertEquals(refused.code, 3501);
});

test("onConnecting: ClientError → error reply, Disconnect → close, other throw/timeout/bad result → 100 with a log line", async (t) => {
  const s = await server(t, [
    definePlugin({
      name: "gate",
      async onConnecting(e) {
        switch (e.data) {
          case "client-error":
            throw new ClientError(4001, "not today");
          case "disconnect":
            throw new Disconnect(4501, "go away");
          case "boom":
            throw new Error("database down");
          case "slow":
            await new Promise((r) => setTimeout(r, 5000));
            return { user: "late" };
          case "bad":
            return { user: 42 } as unknown as { user: string };
          case "foreign":
            // an error from another copy of Sluice (or a plugin that cannot import it): recognised by shape
            throw Object.assign(new Error("shape only"), { name: "ClientError", code: 4002 });
        }
        return { user: "ok" };
      },
    }),
  ], { plugin_hook_timeout: "200ms" });
  assertEquals(
    (await assertRejects(() => s.connect({ data: "client-error" })) as TestConnectError).code,
    4001,
  );
  assertEquals((await assertRejects(() => s.connect({ data: "disconnect" })) as TestConnectError).code, 4501);
  assertEquals((await assertRejects(() => s.connect({ data: "boom" })) as TestConnectError).code, 100);
  assertEquals((await assertRejects(() => s.connect({ data: "slow" })) as TestConnectError).code, 100);
  assertEquals((await assertRejects(() => s.connect({ data: "bad" })) as TestConnectError).code, 100);
  assertEquals((await assertRejects(() => s.connect({ data: "foreign" })) as TestConnectError).code, 4002);
  const faults = s.logs.map((l) => JSON.parse(l)).filter((l) => l.msg === "plugin hook failed");
  assertEquals(faults.length, 3, "boom, slow and bad are logged");
  assert(
    faults.every((l) => l.plugin === "gate" && l.hook === "onConnecting" && typeof l.client === "string"),
  );
  assert(faults.some((l) => String(l.err).includes("database down")));
  assert(faults.some((l) => String(l.err).includes("timed out")));
  await s.connect({ data: "fine" }); // the server is unharmed
});

test("onConnecting on a unidirectional connection: failures become disconnects", async (t) => {
  const s = await server(t, [{
    name: "uni",
    onConnecting: (e) => {
      if (e.data === "boom") throw new Error("x");
      return { user: "u", channels: ["news"] };
    },
  }]);
  const ok = await s.connect({ kind: "unidirectional" });
  assertMatch(ok.connect, { subs: { news: {} } });
  const failed = await assertRejects(() =>
    s.connect({ kind: "unidirectional", data: "boom" })
  ) as TestConnectError;
  assertEquals(failed.code, 3004);
});

test("onSubscribe allows beyond the namespace rules, refuses with a ClientError, passes with undefined", async (t) => {
  const s = await server(t, [{
    name: "acl",
    onSubscribe(e) {
      if (e.channel === "vip:lounge") {
        return e.client.user === "vip" ? { data: { welcome: true }, info: { seat: 1 } } : undefined;
      }
      if (e.channel === "news") throw new ClientError(4030, "news is closed");
      return undefined;
    },
  }], {
    namespaces: [{ name: "vip", presence: true, allow_presence_for_subscriber: true }, {
      name: "open",
      allow_subscribe_for_client: true,
    }],
  });
  const vip = await s.connect({ token: await sign({ sub: "vip" }) });
  assertMatch(await vip.subscribe("vip:lounge"), { data: { welcome: true } });
  const presence = await vip.presence("vip:lounge");
  assertMatch(Object.values(presence)[0] as Record<string, unknown>, { user: "vip", chan_info: { seat: 1 } });
  const other = await s.connect({ token: await sign({ sub: "nobody" }) });
  assertEquals(await codeOf(other.subscribe("vip:lounge")), 103, "hook passed, namespace rules refuse");
  assertEquals(await codeOf(other.subscribe("news")), 4030);
  await other.subscribe("open:x"); // hook passed, namespace allows
});

test("proxy_subscribe / proxy_publish namespaces without a hook answer 108", async (t) => {
  const s = await server(t, [], {
    namespaces: [{
      name: "px",
      proxy_subscribe: true,
      proxy_publish: true,
      allow_subscribe_for_client: true,
    }],
  });
  const c = await s.connect({ token: await sign({ sub: "a" }) });
  assertEquals(await codeOf(c.subscribe("px:1")), 108);
  assertEquals(await codeOf(c.publish("px:1", {})), 108);
});

test("onPublish is a waterfall: each plugin sees the previous one's data; errors refuse", async (t) => {
  const s = await server(t, [
    { name: "stamp", onPublish: (e) => ({ data: { ...(e.data as object), stamped: true } }) },
    {
      name: "guard",
      onPublish(e) {
        const d = e.data as { text?: string; stamped?: boolean };
        if (!d.stamped) throw new Error("stamp did not run first");
        if (d.text === "spam") throw new ClientError(4100, "spam");
        return { data: { ...d, text: d.text?.toUpperCase() }, tags: { checked: "yes" } };
      },
    },
  ], { allow_subscribe_for_client: true, allow_publish_for_subscriber: true });
  const c = await s.connect({ token: await sign({ sub: "p" }) });
  await c.subscribe("room");
  await c.publish("room", { text: "hi" });
  await c.waitForPush((p) => p.channel === "room");
  assertEquals(c.publications("room"), [{ text: "HI", stamped: true }]);
  assertEquals(await codeOf(c.publish("room", { text: "spam" })), 4100);
  // server API publishes are trusted and skip onPublish
  await s.api("publish", { channel: "room", data: { text: "api" } });
  await c.waitForPush((p) => (p.pub as { data: { text: string } } | undefined)?.data.text === "api");
});

test("onRpc answers client rpc; nobody answering is 104", async (t) => {
  const s = await server(t, [{
    name: "rpc",
    onRpc: (
      e,
    ) => (e.method === "sum"
      ? { data: { sum: (e.data as number[]).reduce((a, b) => a + b, 0) } }
      : undefined),
  }]);
  const c = await s.connect({ token: await sign({ sub: "r" }) });
  assertEquals(await c.rpc("sum", [1, 2, 3]), { sum: 6 });
  assertEquals(await codeOf(c.rpc("nope", {})), 104);
});

test("onRefresh refreshes expiring connections server-side; {expired:true} closes with 3005", async (t) => {
  let grant = 3;
  const s = await server(t, [{
    name: "keepalive",
    setup: (ctx) => ctx.refreshOnServer("connections"),
    onConnecting: () => ({ user: "k", expireAt: Math.floor(Date.now() / 1000) + 1 }),
    onRefresh: () => (grant-- > 0
      ? { expireAt: Math.floor(Date.now() / 1000) + 1, info: { refreshed: true } }
      : { expired: true }),
  }]);
  const c = await s.connect({});
  assertEquals(c.connect.expires, undefined, "the SDK is not asked to refresh");
  await waitFor(() => c.disconnected, "expiry after the grants run out", 8000);
  assertEquals(c.disconnected!.code, 3005);
  assertEquals(grant, -1);
}, { timeout: 15_000 });

test("refresh hooks without refreshOnServer: clients refresh their own tokens, and the author is told", async (t) => {
  const s = await server(t, [{
    name: "forgetful",
    onConnecting: () => ({ user: "k", expireAt: Math.floor(Date.now() / 1000) + 60 }),
    onRefresh: () => ({ expireAt: Math.floor(Date.now() / 1000) + 60 }),
  }]);
  const c = await s.connect({});
  assertEquals(c.connect.expires, true, "the SDK refreshes with its getToken");
  const warning = entries(s).find((l) => l.level === "warn" && l.plugin === "forgetful");
  assertMatch(warning!, { hook: "onRefresh" });
  assert(String(warning!.msg).includes('ctx.refreshOnServer("connections")'), String(warning!.msg));
  await assertRejects(() =>
    createTestServer({
      plugins: [{ name: "nohook", setup: (ctx) => ctx.refreshOnServer("subscriptions") }],
    })
  );
});

test("onSubRefresh extends hook-granted subscriptions, then expires them (unsubscribe 2501)", async (t) => {
  let grants = 1;
  const s = await server(t, [{
    name: "subs",
    setup: (ctx) => ctx.refreshOnServer("subscriptions"),
    onSubscribe: () => ({ expireAt: Math.floor(Date.now() / 1000) + 1 }),
    onSubRefresh: () => (grants-- > 0 ? { expireAt: Math.floor(Date.now() / 1000) + 1 } : { expired: true }),
  }]);
  const c = await s.connect({ token: await sign({ sub: "s" }) });
  const result = await c.subscribe("timed");
  assertEquals(result.expires, undefined);
  const unsub = await c.waitForPush((p) => p.channel === "timed" && !!p.unsubscribe, 8000);
  assertMatch(unsub, { unsubscribe: { code: 2501 } });
  assertEquals(grants, -1);
}, { timeout: 15_000 });

test("observe hooks see connect, subscribe, unsubscribe and disconnect (with codes); their errors are only logged", async (t) => {
  const events: string[] = [];
  const s = await server(t, [{
    name: "audit",
    onConnect: (e) => void events.push(`connect ${e.client.user}`),
    onSubscribed: (e) => void events.push(`subscribed ${e.channel}`),
    onUnsubscribe: (e) => void events.push(`unsubscribe ${e.channel}`),
    onDisconnect: (e) => {
      events.push(`disconnect ${e.code}`);
      throw new Error("observer bug");
    },
  }], { allow_subscribe_for_client: true });
  const c = await s.connect({ token: await sign({ sub: "o" }) });
  await c.subscribe("a");
  await c.unsubscribe("a");
  await c.subscribe("b");
  await s.api("disconnect", { user: "o", disconnect: { code: 4000, reason: "bye" } });
  await waitFor(() => events.includes("disconnect 4000"), "disconnect observed");
  assertEquals(events, [
    "connect o",
    "subscribed a",
    "unsubscribe a",
    "subscribed b",
    "unsubscribe b",
    "disconnect 4000",
  ]);
  await waitFor(() => s.logs.some((l) => l.includes("observer bug")), "observer failure logged");
});

test("setup, onReady, onClose and teardowns run in order; shutdown in reverse", async () => {
  const order: string[] = [];
  const plugin = (name: string): Plugin => ({
    name,
    setup(ctx) {
      order.push(`setup ${name} ${JSON.stringify(ctx.options)}`);
      return () => void order.push(`teardown ${name}`);
    },
    onReady: () => void order.push(`ready ${name}`),
    onClose: () => void order.push(`close ${name}`),
  });
  const s = await createTestServer({ plugins: [plugin("a"), plugin("b")] });
  await s.close();
  assertEquals(order, [
    "setup a {}",
    "setup b {}",
    "ready a",
    "ready b",
    "close b",
    "close a",
    "teardown b",
    "teardown a",
  ]);
});

test("a plugin's setup can use the node facade; the hook's signal aborts on timeout", async (t) => {
  let aborted = false;
  const s = await server(t, [{
    name: "facade",
    async setup(ctx) {
      await ctx.node.publish("boot", { booted: true });
    },
    async onRpc(e) {
      // Answers only once the timeout has aborted it: too late to be the reply.
      await new Promise((resolve) => e.signal.addEventListener("abort", resolve));
      aborted = true;
      return { data: 1 };
    },
  }], { history_size: 10, history_ttl: "60s", plugin_hook_timeout: "100ms" });
  const h = await s.api("history", { channel: "boot", limit: -1 }) as {
    publications: Array<{ data: unknown }>;
  };
  assertEquals(h.publications.map((p) => p.data), [{ booted: true }]);
  const c = await s.connect({ token: await sign({ sub: "f" }) });
  assertEquals(await codeOf(c.rpc("slow", {})), 100);
  await waitFor(() => aborted, "signal aborted");
});

test("every hook answer is checked strictly: unknown keys are the plugin's fault, named with a hint", async (t) => {
  const s = await server(t, [
    {
      name: "sloppy",
      onConnecting: (e) =>
        e.data === "typo" ? { user: "u", expire_at: 1 } as unknown as { user: string } : undefined,
      onSubscribe: (e) => e.channel === "bad" ? { expires: 1 } as unknown as { info: unknown } : undefined,
      onPublish: (e) => ({ temp: (e.data as { temp: number }).temp }) as unknown as { data: unknown },
      onRpc: () => ({ answer: 42 }) as unknown as { data: unknown },
    },
  ], { allow_subscribe_for_client: true, allow_publish_for_subscriber: true });
  assertEquals((await assertRejects(() => s.connect({ data: "typo" })) as TestConnectError).code, 100);
  const c = await s.connect({ token: await sign({ sub: "u" }) });
  assertEquals(await codeOf(c.subscribe("bad")), 100);
  await c.subscribe("room");
  assertEquals(await codeOf(c.publish("room", { temp: 42 })), 100, "the original is not delivered");
  assertEquals(await codeOf(c.rpc("m")), 100);
  const errors = entries(s).filter((l) => l.msg === "plugin hook failed");
  const errOf = (hook: string) => String(errors.find((l) => l.hook === hook)?.err);
  assert(errors.every((l) => l.plugin === "sloppy"), JSON.stringify(errors));
  assert(
    /unknown key "expire_at" \(did you mean "expireAt"\?\)/.test(errOf("onConnecting")),
    errOf("onConnecting"),
  );
  assert(
    /unknown key "expires".*\{info\?, data\?, expireAt\?, override\?, clientRefresh\?\}/.test(
      errOf("onSubscribe"),
    ),
    errOf("onSubscribe"),
  );
  assert(
    /unknown key "temp".*to replace what is published, return \{data: …\}/.test(errOf("onPublish")),
    errOf("onPublish"),
  );
  assert(/unknown key "answer".*\{data: …\}/.test(errOf("onRpc")), errOf("onRpc"));
  assertEquals(c.publications("room"), []);
});

test("mistakes that used to pass silently get one warning each, saying what to do instead", async (t) => {
  let failure: unknown;
  const s = await server(t, [{
    name: "app",
    onConnecting: (e) => {
      if (e.data === "string-code") {
        throw Object.assign(new Error("bad key"), { name: "Disconnect", code: "4501" });
      }
      if (e.data === "casing") throw Object.assign(new Error("bad key"), { name: "disconnect", code: 4501 });
      if (e.data === "plain") throw failure;
      return undefined;
    },
    // auth written in an observe hook
    onConnect: () => ({ user: "nobody" }) as unknown as void,
    onSubscribed: () => {
      throw new Disconnect(4500, "not here");
    },
  }], { allow_subscribe_for_client: true });
  const code = async (data: string) =>
    (await assertRejects(() => s.connect({ data })) as TestConnectError).code;
  assertEquals(await code("string-code"), 100);
  assertEquals(await code("string-code"), 100);
  assertEquals(await code("casing"), 100);
  failure = new Error("unknown device");
  assertEquals(await code("plain"), 100);
  failure = new TypeError("fetch failed", { cause: new Error("connect ECONNREFUSED 127.0.0.1:9") });
  assertEquals(await code("plain"), 100);
  const token = await sign({ sub: "u" });
  const c1 = await s.connect({ token });
  await s.connect({ token });
  await c1.subscribe("news");
  await waitFor(() => entries(s).some((l) => l.hook === "onSubscribed"), "onSubscribed warning");

  const warnings = entries(s).filter((l) => l.level === "warn" && l.plugin === "app");
  const about = (re: RegExp) => warnings.filter((l) => re.test(String(l.msg)));
  assertEquals(about(/needs an integer code, not "4501".*new Disconnect\(code/).length, 1, "once");
  assertEquals(about(/its name is "disconnect", not "Disconnect"/).length, 1);
  assertEquals(about(/onConnecting threw .*right when your backend is down.*new Disconnect\(4500/).length, 1);
  assertEquals(about(/onConnect is an observe hook: what it returns is ignored.*onConnecting/).length, 1);
  assertEquals(
    about(/onSubscribed is an observe hook: a Disconnect thrown from it is ignored.*onSubscribe/).length,
    1,
  );
  const faults = entries(s).filter((l) => l.msg === "plugin hook failed");
  assert(
    faults.some((l) => String(l.err) === "fetch failed (cause: connect ECONNREFUSED 127.0.0.1:9)"),
    `the cause is logged: ${JSON.stringify(faults.map((l) => l.err))}`,
  );
});

test("a hook over plugin_hook_timeout is logged naming the key; the default leaves the SDK's 5 s room", async (t) => {
  const s = await server(t, [{
    name: "slow",
    onConnecting: () => new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), 1000)),
  }], { plugin_hook_timeout: "100ms" });
  assertEquals((await assertRejects(() => s.connect({})) as TestConnectError).code, 100);
  const fault = entries(s).find((l) => l.msg === "plugin hook failed");
  assertEquals(fault?.err, "timed out after 100 ms (plugin_hook_timeout)");
  assert(!entries(s).some((l) => l.level === "warn"), "a timeout is not a mistake to warn about");
  const { defaultConfig } = await import("../../mod.ts");
  assert(defaultConfig().plugin_hook_timeout < 5000, "below centrifuge-js's default request timeout");
});

/**
 * Server HTTP API: authentication, publish/broadcast result shapes, validation errors.
 */
import { test } from "../harness.ts";
import { assert, assertEquals, assertMatch } from "../assert.ts";
import { API_KEY, startServer } from "../helpers/server.ts";

const config = {
  namespaces: [{ name: "hist", history_size: 10, history_ttl: "60s" }],
};

test("API key: X-API-Key, Authorization apikey, api_key query; wrong or missing → 401", async (t) => {
  const s = await startServer(t, config);
  const body = { channel: "news", data: { a: 1 } };
  assertEquals((await s.api("publish", body)).status, 200);
  assertEquals((await s.api("publish", body, { Authorization: `apikey ${API_KEY}` })).status, 200);
  assertEquals((await s.api("publish", body, { Authorization: `ApiKey ${API_KEY}` })).status, 200);
  const viaQuery = await fetch(`${s.url}/api/publish?api_key=${API_KEY}`, {
    method: "POST",
    body: JSON.stringify(body),
  });
  assertEquals(viaQuery.status, 200);
  const attempts: Record<string, string>[] = [
    {},
    { "X-API-Key": "wrong" },
    { Authorization: "apikey wrong" },
    { Authorization: `Bearer ${API_KEY}` },
  ];
  for (const headers of attempts) {
    const res = await s.api("publish", body, headers);
    assertEquals(res.status, 401, JSON.stringify(headers));
    assertEquals(await res.text(), "");
  }
});

test("api_insecure disables the key check; an empty key without it refuses everything", async (t) => {
  const open = await startServer(t, { api_insecure: true, api_key: "" });
  assertEquals((await open.api("publish", { channel: "x", data: 1 }, {})).status, 200);
  const closed = await startServer(t, { api_key: "" });
  assertEquals((await closed.api("publish", { channel: "x", data: 1 }, { "X-API-Key": "" })).status, 401);
});

test("publish returns the stream position for channels with history, {} otherwise", async (t) => {
  const s = await startServer(t, config);
  assertEquals(await s.apiJson("publish", { channel: "news", data: "x" }), { result: {} });
  const r1 = await s.apiJson("publish", { channel: "hist:a", data: { n: 1 } }) as {
    result: { offset: number; epoch: string };
  };
  const r2 = await s.apiJson("publish", { channel: "hist:a", data: { n: 2 } }) as {
    result: { offset: number; epoch: string };
  };
  assertEquals(r1.result.offset, 1);
  assertEquals(r2.result.offset, 2);
  assert(
    typeof r1.result.epoch === "string" && r1.result.epoch.length > 0 && r1.result.epoch === r2.result.epoch,
  );
  const skipped = await s.apiJson("publish", { channel: "hist:a", data: 3, skip_history: true });
  assertEquals(skipped, { result: {} });
  const again = await s.apiJson("publish", { channel: "hist:a", data: 4, idempotency_key: "k1" });
  const dup = await s.apiJson("publish", { channel: "hist:a", data: 4, idempotency_key: "k1" });
  assertEquals(dup, again);
});

test("broadcast answers one response per channel, errors per item", async (t) => {
  const s = await startServer(t, config);
  const res = await s.apiJson("broadcast", { channels: ["news", "hist:b", "unknown:c"], data: { hi: true } });
  const responses = (res.result as { responses: unknown[] }).responses;
  assertEquals(responses.length, 3);
  assertEquals(responses[0], { result: {} });
  assertMatch(responses[1] as Record<string, unknown>, { result: { offset: 1 } });
  assertEquals(responses[2], { error: { code: 102, message: "unknown channel" } });
});

test("validation errors are 107 (never 500); unknown namespace 102; bad JSON 400", async (t) => {
  const s = await startServer(t, config);
  const cases: Array<[string, unknown, number]> = [
    ["publish", { data: 1 }, 107],
    ["publish", { channel: "", data: 1 }, 107],
    ["publish", { channel: 5, data: 1 }, 107],
    ["publish", { channel: "news" }, 107],
    ["publish", { channel: "news", data: 1, tags: { a: 1 } }, 107],
    ["publish", { channel: "news", data: 1, skip_history: "yes" }, 107],
    ["publish", { channel: "x".repeat(300), data: 1 }, 107],
    ["publish", { channel: "nope:x", data: 1 }, 102],
    ["broadcast", { channels: [], data: 1 }, 107],
    ["broadcast", { channels: "news", data: 1 }, 107],
  ];
  for (const [method, body, code] of cases) {
    const res = await s.apiJson(method, body);
    assertMatch(res, { error: { code } }, JSON.stringify(body));
  }
  const post = (path: string, body: string, method = "POST") =>
    fetch(`${s.url}/api/${path}`, {
      method,
      headers: { "X-API-Key": API_KEY },
      body: method === "GET" ? undefined : body,
    });
  assertEquals((await post("publish", "{oops")).status, 400);
  assertEquals((await post("publish", "[1]")).status, 400);
  assertEquals((await post("no_such_method", "{}")).status, 404);
  assertEquals((await post("publish", "", "GET")).status, 405);
});

test("GET /health answers 200", async (t) => {
  const s = await startServer(t);
  const res = await fetch(`${s.url}/health`);
  assertEquals(res.status, 200);
  assertEquals(await res.json(), {});
});

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

/** The status, content type and body of an answer. */
async function answer(res: Response): Promise<[number, string | null, string]> {
  return [res.status, res.headers.get("content-type"), await res.text()];
}

const BAD_REQUEST = { error: { code: 107, message: "bad request" } };

test('semantic errors are 200 + 107 "bad request" (the reason in the log); unknown namespace 102', async (t) => {
  const s = await startServer(t, config);
  const cases: Array<[string, unknown, unknown]> = [
    ["publish", { data: 1 }, BAD_REQUEST],
    ["publish", { channel: "", data: 1 }, BAD_REQUEST],
    ["publish", { channel: "news" }, BAD_REQUEST],
    ["publish", { channel: "news", b64data: "eyJhIjoxfQ" }, BAD_REQUEST], // Go wants the padding
    ["publish", { channel: "nope:x", data: 1 }, { error: { code: 102, message: "unknown channel" } }],
    ["publish", { channel: "nope:x" }, { error: { code: 102, message: "unknown channel" } }], // 102 first
    ["broadcast", { channels: [], data: 1 }, BAD_REQUEST],
    // no data is each channel's own error
    ["broadcast", { channels: ["news"] }, { result: { responses: [BAD_REQUEST] } }],
    ["rpc", {}, BAD_REQUEST],
    ["rpc", { method: "x" }, { error: { code: 104, message: "not found" } }],
  ];
  for (const [method, body, expected] of cases) {
    assertEquals(await s.apiJson(method, body), expected, JSON.stringify(body));
  }
  const why = s.logEntries().filter((e) => e.msg === "api bad request").map((e) => e.detail);
  assert(why.includes("channel required") && why.includes("data required"), JSON.stringify(why));
  assert(why.includes("b64data is not base64"), JSON.stringify(why));
});

test("a body Go's typed decoding refuses is 400 Bad Request in Go's words, and nothing runs", async (t) => {
  const s = await startServer(t, config);
  const post = (path: string, body: string) =>
    fetch(`${s.url}/api/${path}`, { method: "POST", headers: { "X-API-Key": API_KEY }, body });
  const bodies = [
    "{oops",
    "",
    "  ",
    "[1]",
    '"publish"',
    '{"channel":"hist:r","data":1} {}',
    '{"channel":5,"data":1}',
    '{"channel":"hist:r","data":1,"tags":{"a":1}}',
    '{"channel":"hist:r","data":1,"skip_history":"yes"}',
  ];
  for (const body of bodies) {
    assertEquals(await answer(await post("publish", body)), [
      400,
      "text/plain; charset=utf-8",
      "Bad Request\n",
    ], body);
  }
  assertMatch(await s.apiJson("history", { channel: "hist:r", limit: -1 }), {
    result: { publications: [], offset: 0 },
  });
  assert(s.logs.some((l) => l.includes("api request body refused")), "the reason is logged");
});

test("fields as Go reads them: any case, null is unset, a null tag is empty", async (t) => {
  const s = await startServer(t, config);
  assertMatch(await s.apiJson("publish", { Channel: "hist:f", DATA: { n: 1 }, Tags: { a: null } }), {
    result: { offset: 1 },
  });
  assertMatch(await s.apiJson("publish", { channel: "hist:f", data: 2, tags: null, skip_history: null }), {
    result: { offset: 2 },
  });
  assertEquals(await s.apiJson("publish", { channel: null, data: 1 }), BAD_REQUEST);
  assertEquals(
    (await fetch(`${s.url}/api/publish`, { method: "POST", headers: { "X-API-Key": API_KEY }, body: "null" }))
      .status,
    200,
  );
  const h = await s.apiJson("history", { CHANNEL: "hist:f", limit: -1 }) as {
    result: { publications: unknown[] };
  };
  assertEquals(h.result.publications, [{ data: { n: 1 }, offset: 1, tags: { a: "" } }, {
    data: 2,
    offset: 2,
  }]);
  // The client protocol's channel name rules are not the API's (Centrifugo checks them for clients only).
  assertEquals(await s.apiJson("publish", { channel: "x".repeat(300), data: 1 }), { result: {} });
  assertEquals(await s.apiJson("publish", { channel: "ü", data: 1 }), { result: {} });
});

test("an unknown method is Go's 404 page, whatever the key and the HTTP method", async (t) => {
  const s = await startServer(t, config);
  for (
    const [path, init] of [
      ["/api/no_such_method", { method: "POST", headers: { "X-API-Key": API_KEY }, body: "{}" }],
      ["/api/no_such_method", { method: "POST", body: "{}" }],
      ["/api/no_such_method", { method: "GET" }],
      ["/api/publish/", { method: "POST", headers: { "X-API-Key": API_KEY }, body: "{}" }],
      ["/api/Publish", { method: "POST", headers: { "X-API-Key": API_KEY }, body: "{}" }],
    ] as Array<[string, RequestInit]>
  ) {
    assertEquals(await answer(await fetch(`${s.url}${path}`, init)), [
      404,
      "text/plain; charset=utf-8",
      "404 page not found\n",
    ], path);
  }
  assertEquals((await fetch(`${s.url}/api/publish`, { headers: { "X-API-Key": API_KEY } })).status, 405);
});

// ---------------------------------------------------------------- the legacy single endpoint

const legacy = (
  s: { url: string },
  body: string,
  headers: Record<string, string> = { "X-API-Key": API_KEY },
) => fetch(`${s.url}/api`, { method: "POST", headers, body });

test("legacy POST /api: one reply line per command, ids echoed, method names in any case or as numbers", async (t) => {
  const s = await startServer(t, config);
  const commands = [
    { id: 1, method: "publish", params: { channel: "hist:l", data: 1 } },
    { id: 2, method: "PUBLISH", params: { channel: "", data: 1 } },
    { method: 6, params: { channel: "hist:l", limit: -1 } },
    { id: 4, method: "broadcast", params: { channels: ["hist:l", "nope:x"], data: 2 } },
    { id: 5, method: "rpc", params: { method: "x" } },
    { id: 6, method: 13 },
    { id: 7, method: "publish" },
  ];
  // newline-delimited, or one JSON value right after another
  const text = commands.slice(0, 4).map((c) => JSON.stringify(c)).join("\n") +
    commands.slice(4).map((c) => JSON.stringify(c)).join("");
  const res = await legacy(s, text);
  assertEquals(res.status, 200);
  assertEquals(res.headers.get("content-type"), "application/json");
  const lines = (await res.text()).trim().split("\n").map((l) => JSON.parse(l));
  const epoch = lines[0].result?.epoch;
  assert(typeof epoch === "string" && epoch !== "", JSON.stringify(lines[0]));
  assertEquals(lines, [
    { id: 1, result: { offset: 1, epoch } },
    { id: 2, ...BAD_REQUEST },
    { result: { publications: [{ data: 1, offset: 1 }], epoch, offset: 1 } },
    {
      id: 4,
      result: {
        responses: [{ result: { offset: 2, epoch } }, { error: { code: 102, message: "unknown channel" } }],
      },
    },
    { id: 5, error: { code: 104, message: "not found" } },
    { id: 6, error: { code: 104, message: "not found" } },
    { id: 7, ...BAD_REQUEST }, // no params
  ]);
});

test("legacy POST /api: the key, the method, an unreadable stream (after what came before it ran)", async (t) => {
  const s = await startServer(t, config);
  assertEquals((await legacy(s, '{"method":"info"}', {})).status, 401);
  assertEquals((await fetch(`${s.url}/api`, { headers: { "X-API-Key": API_KEY } })).status, 405);
  for (
    const body of [
      "",
      '{"method":"nosuch","params":{}}',
      '{"method":"","params":{}}',
      '{"method":null}',
      '{"id":-1,"method":"info"}',
      "[1]",
      '{"method":"publish","params":{"channel":"hist:m","data":1}}\n{"oops',
    ]
  ) {
    assertEquals(
      await answer(await legacy(s, body)),
      [400, "text/plain; charset=utf-8", "Bad Request\n"],
      body,
    );
  }
  assertMatch(await s.apiJson("history", { channel: "hist:m", limit: -1 }), { result: { offset: 1 } });
  // only whitespace: no commands, no lines
  assertEquals(await answer(await legacy(s, " \n ")), [200, "application/json", ""]);
  // never transport error mode: errors stay in the line
  const res = await legacy(s, '{"method":"publish","params":{"channel":"nope:x","data":1}}', {
    "X-API-Key": API_KEY,
    "X-Centrifugo-Error-Mode": "transport",
  });
  assertEquals(await answer(res), [
    200,
    "application/json",
    '{"error":{"code":102,"message":"unknown channel"}}\n',
  ]);
  // info reads no params at all
  const info = JSON.parse(await (await legacy(s, '{"method":"info","params":5}')).text());
  assertEquals(info.result.nodes.length, 1);
});

test("GET /health answers 200", async (t) => {
  const s = await startServer(t);
  const res = await fetch(`${s.url}/health`);
  assertEquals(res.status, 200);
  assertEquals(await res.json(), {});
});

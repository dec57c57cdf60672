/**
 * README examples run as written against the real dev-mode server (`$TOKEN` and the API key from its
 * banner): the "Without an SDK" curl lines (the shell's double quotes and `$TOKEN` resolved, each
 * request made with fetch as curl would make it) — every stream subscribed to `news` and getting an
 * API publication, SSE events with `id:` lines as the sample shows — and every example of the Server
 * API table (`$API`, `$KEY`), each answering a result.
 */
import { test } from "../harness.ts";
import { assert, assertEquals, assertMatch } from "../assert.ts";
import { sluice } from "../helpers/process.ts";
import { readmeExample, readmeText } from "../helpers/readme.ts";
import { openRaw, type RawStream } from "../helpers/raw.ts";

interface CurlLine {
  url: string;
  method: string;
  body?: string;
}

/** The curl lines of the README's "Without an SDK" block. */
function readmeCurls(token: string, base: string): CurlLine[] {
  const block = readmeExample("uni-curls").body;
  return block.split("\n").filter((l) => l.startsWith("curl ")).map((line) => {
    // The shell's view: double-quoted words with \" inside, $TOKEN expanded.
    const words = [...line.matchAll(/"((?:[^"\\]|\\.)*)"|(\S+)/g)].map((m) =>
      (m[1] !== undefined ? m[1].replace(/\\"/g, '"') : m[2]).replaceAll("$TOKEN", token)
    );
    const url = words.find((w) => w.startsWith("http://"))!.replace("http://localhost:8000", base);
    const method = words.includes("-X") ? words[words.indexOf("-X") + 1] : "GET";
    const body = words.includes("-d") ? words[words.indexOf("-d") + 1] : undefined;
    return { url, method, body };
  });
}

test("README: the uni_sse / uni_http_stream curl lines work as written against the dev server", async (t) => {
  const p = sluice(t, ["--port", "0"]);
  await p.waitFor(/Publish to it/);
  const out = p.output();
  const base = /URL:\s+(\S+)/.exec(out)![1].replace("localhost", "127.0.0.1");
  const apiKey = /API key:\s+(\S+)/.exec(out)![1];
  const token = /Token:\s+(\S+)/.exec(out)![1];
  const curls = readmeCurls(token, base);
  assertEquals(curls.map((c) => `${c.method} ${new URL(c.url).pathname}`), [
    "GET /connection/uni_sse",
    "POST /connection/uni_sse",
    "POST /connection/uni_http_stream",
  ]);
  const streams: RawStream[] = [];
  const connects: Record<string, unknown>[] = [];
  for (const c of curls) {
    const framing = c.url.includes("uni_sse") ? "sse" : "ndjson";
    const s = await openRaw(c.url, { method: c.method, body: c.body }, framing);
    t.cleanup(() => s.close());
    streams.push(s);
    const first = (await s.next())!;
    assertMatch(first, { connect: { subs: { news: {} } } });
    connects.push(first.connect as Record<string, unknown>);
  }
  const res = await fetch(`${base}/api/publish`, {
    method: "POST",
    headers: { "X-API-Key": apiKey },
    body: JSON.stringify({ channel: "news", data: { text: "hello" } }),
  });
  assertEquals(res.status, 200);
  for (const s of streams) {
    assertMatch((await s.next())!, { channel: "news", pub: { data: { text: "hello" }, offset: 1 } });
  }
  for (const s of streams.slice(0, 2)) {
    assert(/^id: \S+\ndata: \{"channel":"news"/m.test(s.text()), `id: lines as in the sample:\n${s.text()}`);
    assert(/^\s*retry: 1000\n/.test(s.text()), `the default retry: first, as in the sample:\n${s.text()}`);
  }
  // The sample output's lines, field by field, are what the GET stream sent (up to the ping).
  const fields = (text: string) => text.split("\n").map((l) => /^(\w*)/.exec(l)![1]);
  const sample = readmeExample("uni-sse-output").body;
  const upToPing = fields(sample.slice(0, sample.indexOf("event: ping")).trimEnd());
  assertEquals(fields(streams[0].text().trimStart()).slice(0, upToPing.length), upToPing);
  const connect = JSON.parse(/^data: (.*)$/m.exec(sample)![1]);
  assertEquals(Object.keys(connect.connect).sort(), Object.keys(connects[0]).sort());
});

test("README: every Server API example in the table answers as shown against the dev server", async (t) => {
  const p = sluice(t, ["--port", "0"]);
  await p.waitFor(/Publish to it/);
  const out = p.output();
  const base = /URL:\s+(\S+)/.exec(out)![1].replace("localhost", "127.0.0.1");
  const apiKey = /API key:\s+(\S+)/.exec(out)![1];
  const readme = readmeText();
  // The block above the table: where $API points and what $KEY stands for.
  const env = readmeExample("api-env").body;
  assertEquals(/API=(\S+)/.exec(env)![1], "http://localhost:8000/api");
  assert(/KEY=your-api-key/.test(env), env);
  const section = readme.slice(readme.indexOf("## Server API"), readme.indexOf("## Write a plugin"));
  const rows = [...section.matchAll(/^\| `(\w+)`\s*\| `(curl [^`]+)`/gm)];
  assert(rows.length >= 13, `found ${rows.length} examples`);
  for (const [, method, curl] of rows) {
    const path = /\$API(\/\w+)/.exec(curl)![1];
    const body = /-d '([^']*)'/.exec(curl)![1];
    const res = await fetch(`${base}/api${path}`, {
      method: "POST",
      headers: { "X-API-Key": apiKey },
      body,
    });
    assertEquals(res.status, 200, method);
    const json = await res.json() as Record<string, unknown>;
    assert(!("error" in json), `${method}: ${JSON.stringify(json)}`);
    assert(
      method === "batch" ? Array.isArray(json.replies) : "result" in json,
      `${method}: ${JSON.stringify(json)}`,
    );
  }
});

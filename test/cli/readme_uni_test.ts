/**
 * The README's "Without an SDK" block, as written: each `curl` line (the shell's double quotes and
 * `$TOKEN` resolved, the request made with fetch as curl would make it) against the real dev-mode
 * server, with `$TOKEN` from its banner. Every stream gets its connect push subscribed to `news`
 * and an API publication; the SSE ones carry `id:` lines, as the sample output shows.
 */
import { test } from "../harness.ts";
import { assert, assertEquals, assertMatch } from "../assert.ts";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { root, sluice } from "../helpers/process.ts";
import { openRaw, type RawStream } from "../helpers/raw.ts";

interface CurlLine {
  url: string;
  method: string;
  body?: string;
}

/** The curl lines of the README block that follows the "Without an SDK" heading. */
function readmeCurls(token: string, base: string): CurlLine[] {
  const readme = readFileSync(join(root, "README.md"), "utf8");
  const section = readme.slice(readme.indexOf("### Without an SDK"));
  const block = section.slice(
    section.indexOf("```sh\n") + 6,
    section.indexOf("\n```", section.indexOf("```sh\n")),
  );
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
  for (const c of curls) {
    const framing = c.url.includes("uni_sse") ? "sse" : "ndjson";
    const s = await openRaw(c.url, { method: c.method, body: c.body }, framing);
    t.cleanup(() => s.close());
    streams.push(s);
    assertMatch((await s.next())!, { connect: { subs: { news: {} } } });
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
  }
});

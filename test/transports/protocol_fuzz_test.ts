/**
 * The protocol fuzzer (test/transports/protocol_fuzz.mjs) against a real server over HTTP: a few hundred
 * generated requests per run — commands, emulation bodies, uni requests, API bodies and tokens of
 * every shape. No answer may be a 5xx or carry a code outside Centrifugo's; afterwards the server
 * still serves and every connection it opened is released. `npm run soak -- --only=fuzz` runs the
 * same generators far longer against a server process.
 */
import { test } from "../harness.ts";
import { assert, assertEquals, waitFor } from "../assert.ts";
import { API_KEY, SECRET, startServer } from "../helpers/server.ts";
// @ts-types="./protocol_fuzz.d.mts"
import {
  checkRequest,
  checkSession,
  fc,
  FUZZ_CONFIG,
  requestArb,
  sessionFramesArb,
} from "./protocol_fuzz.mjs";

test("fuzzed requests get 4xx or Centrifugo codes, never a crash, and leave nothing behind", async (t) => {
  const s = await startServer(t, { ...FUZZ_CONFIG, allowed_origins: [] });
  const failures: string[] = [];
  await fc.assert(
    fc.asyncProperty(requestArb({ secret: SECRET, apiKey: API_KEY }), async (req) => {
      const problems = await checkRequest(s.url, req, { streamMs: 100 });
      if (problems.length) {
        failures.push(`${JSON.stringify(req).slice(0, 300)}\n      → ${problems.join("; ")}`);
      }
      return problems.length === 0;
    }),
    { numRuns: 250, seed: Number(Date.now() % 2 ** 31), endOnFailure: true },
  ).catch((err) => failures.push(String((err as Error).message).slice(0, 1500)));
  assertEquals(failures, []);
  assertEquals((await fetch(`${s.url}/health`)).status, 200);
  await waitFor(() => s.node.hub.numClients === 0, "every fuzzed connection released");
  assert(!s.logs.some((l) => l.includes('"level":"error"') && l.includes("command processing failed")));
});

test("fuzzed commands into a live session get replies or disconnects with Centrifugo codes", async (t) => {
  const s = await startServer(t, { ...FUZZ_CONFIG, allowed_origins: [] });
  const failures: string[] = [];
  await fc.assert(
    fc.asyncProperty(sessionFramesArb(SECRET), async (frames) => {
      const problems = await checkSession(s.url, SECRET, frames, { streamMs: 100 });
      if (problems.length) {
        failures.push(`${JSON.stringify(frames).slice(0, 300)}\n      → ${problems.join("; ")}`);
      }
      return problems.length === 0;
    }),
    { numRuns: 120, seed: Number(Date.now() % 2 ** 31), endOnFailure: true },
  ).catch((err) => failures.push(String((err as Error).message).slice(0, 1500)));
  assertEquals(failures, []);
  await waitFor(() => s.node.hub.numClients === 0, "every fuzzed session released");
  assertEquals(s.node.timers.size <= 1, true, `${s.node.timers.size} timers left`);
});

/**
 * Dev mode's page in a real browser: Debian's chromium, driven by playwright-core in a Node process
 * (test/browser/demo_page.mjs), against the dev-mode server started as users start it. The page
 * loads the SDK's browser build from Sluice itself, connects over WebSocket (on both runtimes), shows
 * a publication sent through the API, publishes from its box and lists who is present.
 */
import { test } from "../harness.ts";
import { assert, assertEquals } from "../assert.ts";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { devBanner, root, sluice, spawnGroup } from "../helpers/process.ts";

test(
  "dev mode's page in Chromium: transport, a publication from the API, one from the page, presence",
  async (t) => {
    assert(existsSync("/usr/bin/chromium"), "chromium is installed (apt-get install chromium; .ci/run does)");
    const p = sluice(t, ["--port", "0"]);
    await p.waitFor(/Publish to it/);
    const { base: url, apiKey } = devBanner(p);
    const page = await (await fetch(`${url}/`)).text();
    assert(page.includes('<script src="/_sluice/centrifuge.js">'), "the page loads the SDK from Sluice");
    const sdk = await fetch(`${url}/_sluice/centrifuge.js`);
    assertEquals(sdk.headers.get("content-type"), "text/javascript; charset=utf-8");
    assert((await sdk.text()).includes("Centrifuge"), "the SDK's browser build");

    const browser = spawnGroup("node", [join(root, "test", "browser", "demo_page.mjs"), `${url}/`, apiKey]);
    t.onFailure(() =>
      `    --- browser ---\n${browser.output()}\n    --- server ---\n${p.output().slice(-2000)}`
    );
    assertEquals(await browser.exited, 0, browser.output());
    const seen = JSON.parse(browser.output().trim().split("\n").at(-1)!);
    assertEquals(seen.transport, "websocket");
    assertEquals(seen.apiStatus, 200);
    assert(seen.present.length === 1 && /^web-/.test(seen.present[0]), JSON.stringify(seen.present));
    assert(seen.log.some((l: string) => l.includes("from the API")), JSON.stringify(seen.log));
    assert(
      seen.log.some((l: string) => l.includes("typed in the page") && l.startsWith("web-")),
      JSON.stringify(seen.log),
    );
    assertEquals(seen.pageError, undefined);
  },
  { timeout: 60_000 },
);

/**
 * The admin page in a real browser (Debian's chromium, playwright-core from Node:
 * test/browser/admin_page.mjs) against dev mode started as users start it, with dev mode's page open
 * in another tab as the subscriber. The banner prints where the admin page is and its password.
 */
import { test } from "../harness.ts";
import { assert, assertEquals } from "../assert.ts";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { devBanner, root, sluice, spawnGroup } from "../helpers/process.ts";

test(
  "admin page in Chromium: wrong password refused; nodes, the channel and its count, presence, history, " +
    "chart; publish reaches the demo tab; disconnect ends it; logout",
  async (t) => {
    assert(existsSync("/usr/bin/chromium"), "chromium is installed (apt-get install chromium; .ci/run does)");
    const p = sluice(t, ["--port", "0"]);
    await p.waitFor(/Publish to it/);
    const { base: url, apiKey } = devBanner(p);
    const [, adminUrl, password] = /Admin:\s+(\S+)\s+\(password (\S+)\)/.exec(p.output())!;
    assertEquals(adminUrl.replace("localhost", "127.0.0.1"), `${url}/admin`);

    const browser = spawnGroup("node", [
      join(root, "test", "browser", "admin_page.mjs"),
      url,
      password,
      apiKey,
    ]);
    t.onFailure(() =>
      `    --- browser ---\n${browser.output()}\n    --- server ---\n${p.output().slice(-2000)}`
    );
    assertEquals(await browser.exited, 0, browser.output());
    const seen = JSON.parse(browser.output().trim().split("\n").at(-1)!);
    assertEquals(seen.htmlHasApiKey, false);
    assertEquals(seen.apiBeforeLogin, 401);
    assertEquals(seen.wrongPassword, "Wrong password");
    assertEquals(seen.appHiddenAfterWrong, true);
    assertEquals(seen.channels, [["news", "1"]]);
    assertEquals(seen.nodes.length, 1);
    assertEquals(seen.nodes[0].slice(2), ["1", "1", "1", "1"], "clients, users, channels, subscriptions");
    assertEquals(seen.presence.length, 1);
    assert(seen.presence[0].startsWith(`${seen.demoUser} · `), JSON.stringify(seen.presence));
    assert(seen.history.includes("before the admin came"), seen.history);
    assertEquals(seen.demoGotAdminPublication, true);
    assertEquals(seen.badData, "data must be JSON");
    assertEquals(seen.chartClients, "1");
    assert(/^disconnected \(\d+\)$/.test(seen.demoAfterDisconnect), seen.demoAfterDisconnect);
    assertEquals(seen.statsAfterLogout, 401);
    assertEquals(seen.pageErrors, []);
  },
  { timeout: 60_000 },
);

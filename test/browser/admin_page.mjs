#!/usr/bin/env node
// Drives Debian's chromium (playwright-core) through Sluice's admin page like a person would, with
// dev mode's page open in another tab as the subscriber: a wrong password is refused, the right one
// shows the nodes, the channel with its subscriber count, its presence and history, the chart;
// publishing from the admin page reaches the other tab; disconnecting its user ends that tab's
// connection; logging out ends the session. Run by test/cli/admin_page_test.ts with Node. Prints one
// JSON line with what it saw; exits 1 on failure.
//
//   node test/browser/admin_page.mjs <server url> <admin password> <api key>
import { launchChromium } from "./chromium.mjs";

const [url, password, apiKey] = process.argv.slice(2);
const seen = { pageErrors: [] };
const wait = { timeout: 10_000 };
const browser = await launchChromium();
try {
  const context = await browser.newContext();
  const demo = await context.newPage();
  demo.on("pageerror", (err) => seen.pageErrors.push(`demo: ${err}`));
  await demo.goto(`${url}/`);
  await demo.waitForFunction(() => document.querySelectorAll("#present li").length > 0, null, wait);
  seen.demoUser = await demo.textContent("#user");
  // Something in history before the admin looks at the channel.
  await fetch(`${url}/api/publish`, {
    method: "POST",
    headers: { "X-API-Key": apiKey },
    body: JSON.stringify({ channel: "news", data: { text: "before the admin came" } }),
  });

  const admin = await context.newPage();
  admin.on("pageerror", (err) => seen.pageErrors.push(`admin: ${err}`));
  await admin.goto(`${url}/admin`);
  await admin.waitForSelector("#login:not([hidden])", wait);
  seen.htmlHasApiKey = (await admin.content()).includes(apiKey);
  seen.apiBeforeLogin = await admin.evaluate(async () =>
    (await fetch("/admin/api/info", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: "{}",
    }))
      .status
  );

  await admin.fill("#password", "not the password");
  await admin.click("#login button");
  await admin.waitForFunction(() => document.getElementById("login-error").textContent !== "", null, wait);
  seen.wrongPassword = await admin.textContent("#login-error");
  seen.appHiddenAfterWrong = await admin.$eval("#app", (el) => el.hidden);

  await admin.fill("#password", password);
  await admin.click("#login button");
  await admin.waitForSelector("#app:not([hidden])", wait);
  await admin.waitForFunction(
    () => [...document.querySelectorAll("#channels tr")].some((tr) => tr.textContent.startsWith("news")),
    null,
    wait,
  );
  seen.channels = await admin.$$eval(
    "#channels tr",
    (trs) => trs.map((tr) => [...tr.cells].map((c) => c.textContent)),
  );
  seen.nodes = await admin.$$eval(
    "#nodes tr",
    (trs) => trs.map((tr) => [...tr.cells].map((c) => c.textContent)),
  );

  await admin.click("#channels button:text('news')");
  await admin.waitForFunction(() => document.querySelectorAll("#presence li").length > 0, null, wait);
  seen.presence = await admin.$$eval("#presence li", (lis) => lis.map((li) => li.textContent));
  seen.history = await admin.textContent("#history");

  await admin.fill("#pub-data", '{"text": "from the admin page"}');
  await admin.click("#publish button");
  await admin.waitForFunction(
    () => /published/.test(document.getElementById("pub-result").textContent),
    null,
    wait,
  );
  await demo.waitForFunction(
    () => document.getElementById("log").textContent.includes("from the admin page"),
    null,
    wait,
  );
  seen.demoGotAdminPublication = true;

  await admin.fill("#pub-data", "not json");
  await admin.click("#publish button");
  await admin.waitForFunction(
    () => /JSON/.test(document.getElementById("pub-result").textContent),
    null,
    wait,
  );
  seen.badData = await admin.textContent("#pub-result");

  // Two samples draw a line: wait for the chart's second point.
  await admin.waitForFunction(
    () =>
      (document.querySelector("#chart polyline[data-series=clients]")?.getAttribute("points") ?? "").split(
        " ",
      ).length >= 2,
    null,
    wait,
  );
  seen.chartClients = await admin.textContent("#m-clients");

  await admin.fill("#dc-user", seen.demoUser);
  await admin.click("#disconnect button");
  await demo.waitForFunction(
    () => /disconnected/.test(document.getElementById("transport").textContent),
    null,
    wait,
  );
  seen.demoAfterDisconnect = await demo.textContent("#transport");
  await admin.waitForFunction(() => document.querySelectorAll("#channels tr").length === 0, null, wait);

  await admin.click("#logout");
  await admin.waitForSelector("#login:not([hidden])", wait);
  seen.statsAfterLogout = await admin.evaluate(async () => (await fetch("/admin/stats")).status);
  console.log(JSON.stringify(seen));
} catch (err) {
  console.log(JSON.stringify({ ...seen, error: String(err) }));
  process.exitCode = 1;
} finally {
  await browser.close();
}

#!/usr/bin/env node
// Drives Debian's chromium (playwright-core) through Sluice's dev-mode page like a person would:
// open it, wait for the transport, see a publication sent through the API arrive, publish from
// the page's box, see who is present. Run by test/cli/demo_page_test.ts (on both runtimes' suites)
// with Node, where playwright is at home. Prints one JSON line with what it saw; exits 1 on failure.
//
//   node test/browser/demo_page.mjs <page url> <api key>
import { launchChromium } from "./chromium.mjs";

const [url, apiKey] = process.argv.slice(2);
const seen = {};
const browser = await launchChromium();
try {
  const page = await browser.newPage();
  page.on("pageerror", (err) => (seen.pageError = String(err)));
  await page.goto(url);
  await page.waitForFunction(
    () => !/connecting/.test(document.getElementById("transport").textContent),
    null,
    {
      timeout: 10_000,
    },
  );
  seen.transport = await page.textContent("#transport");
  await page.waitForFunction(() => document.querySelectorAll("#present li").length > 0, null, {
    timeout: 10_000,
  });
  seen.present = await page.$$eval("#present li", (lis) => lis.map((li) => li.textContent));
  const res = await fetch(new URL("/api/publish", url), {
    method: "POST",
    headers: { "X-API-Key": apiKey },
    body: JSON.stringify({ channel: "news", data: { text: "from the API" } }),
  });
  seen.apiStatus = res.status;
  await page.waitForFunction(
    () => document.getElementById("log").textContent.includes("from the API"),
    null,
    {
      timeout: 10_000,
    },
  );
  await page.fill("#text", "typed in the page");
  await page.click("#publish button");
  await page.waitForFunction(
    () => document.getElementById("log").textContent.includes("typed in the page"),
    null,
    {
      timeout: 10_000,
    },
  );
  seen.log = await page.$$eval("#log li", (lis) => lis.map((li) => li.textContent));
  console.log(JSON.stringify(seen));
} catch (err) {
  console.log(JSON.stringify({ ...seen, error: String(err) }));
  process.exitCode = 1;
} finally {
  await browser.close();
}

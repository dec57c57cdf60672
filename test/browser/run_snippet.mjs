#!/usr/bin/env node
// Runs a script in a page of Debian's chromium (playwright-core) and prints what it returns as one
// JSON line: README snippets that need a browser (EventSource) run as a page runs them. Exits 1 on
// an error (thrown, or a page error).
//
//   node test/browser/run_snippet.mjs <page url> <async function body>
import { launchChromium } from "./chromium.mjs";

const [url, body] = process.argv.slice(2);
const browser = await launchChromium();
try {
  const page = await browser.newPage();
  const errors = [];
  page.on("pageerror", (err) => errors.push(String(err)));
  await page.goto(url);
  const result = await page.evaluate(`(async () => { ${body} })()`);
  if (errors.length) throw new Error(errors.join("\n"));
  console.log(JSON.stringify(result));
} catch (err) {
  console.log(String(err));
  process.exitCode = 1;
} finally {
  await browser.close();
}

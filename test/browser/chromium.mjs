// Debian's chromium through playwright-core, as every browser script here launches it
// (CHROMIUM overrides the path).
import { chromium } from "playwright-core";

export function launchChromium() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    args: ["--no-sandbox", "--headless=new"],
  });
}

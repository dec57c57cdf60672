// The machine and the versions measured (Sluice and its commit, Bun, Deno, Node, nginx, nchan, CPU,
// memory, kernel, ulimit -n): printed with every result.
import { execFileSync } from "node:child_process";
import os from "node:os";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { BIN, NCHAN_MODULE, ROOT } from "./paths.mjs";

export function versionOf(cmd, args, re) {
  try {
    const out = execFileSync(cmd, args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
    return (re ? re.exec(out)?.[1] : out.trim().split("\n")[0]) ?? out.trim();
  } catch (err) {
    const out = String(err.stderr ?? "") + String(err.stdout ?? "");
    return (re ? re.exec(out)?.[1] : null) ?? "unavailable";
  }
}
export function environment() {
  let nchan = "unavailable";
  try {
    const so = readFileSync(NCHAN_MODULE).toString("latin1");
    nchan = so.split("\0").find((x) => /^\d+\.\d+\.\d+$/.test(x)) ?? "present";
  } catch { /* missing */ }
  // `nginx -v` prints to stderr
  let nginx = "unavailable";
  try {
    const res = execFileSync("sh", ["-c", `"${BIN.nginx}" -v 2>&1`], { encoding: "utf8" });
    nginx = /nginx\/([\d.]+)/.exec(res)?.[1] ?? res.trim();
  } catch { /* missing */ }
  let sluice = "unknown";
  try {
    sluice = /VERSION\s*=\s*"([^"]+)"/.exec(readFileSync(join(ROOT, "src", "version.ts"), "utf8"))?.[1] ??
      sluice;
  } catch { /* ignore */ }
  let commit = "";
  try {
    commit = execFileSync("git", ["rev-parse", "--short", "HEAD"], {
      cwd: ROOT,
      encoding: "utf8",
      stdio: ["ignore", "pipe", "ignore"],
    }).trim();
    const dirty = execFileSync("git", ["status", "--porcelain", "src", "plugins", "mod.ts"], {
      cwd: ROOT,
      encoding: "utf8",
      stdio: ["ignore", "pipe", "ignore"],
    }).trim();
    if (dirty) commit += "+uncommitted";
  } catch { /* not a repo */ }
  const cpu = os.cpus();
  return {
    date: new Date().toISOString(),
    sluice: `${sluice}${commit ? ` (${commit})` : ""}`,
    bun: versionOf(BIN.bun, ["--version"]),
    deno: versionOf(BIN.deno, ["--version"], /deno (\S+)/),
    node: process.versions.node,
    nginx,
    nchan,
    cpu: `${cpu[0]?.model ?? "?"} × ${os.availableParallelism?.() ?? cpu.length}`,
    memGB: +(os.totalmem() / 2 ** 30).toFixed(1),
    kernel: os.release(),
    nofile: versionOf("sh", ["-c", "ulimit -n"]),
  };
}

// Where the bench finds things: the repository, its bench/ folder, the runtimes in node_modules,
// nginx and the nchan module (NCHAN_MODULE overrides its path).
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
export const BENCH = join(ROOT, "bench");
export const BIN = {
  bun: join(ROOT, "node_modules", ".bin", "bun"),
  deno: join(ROOT, "node_modules", ".bin", "deno"),
  nginx: ["/usr/sbin/nginx", "/usr/local/sbin/nginx", "/usr/local/nginx/sbin/nginx"].find(existsSync) ??
    "nginx",
};
export const NCHAN_MODULE = process.env.NCHAN_MODULE ?? "/usr/lib/nginx/modules/ngx_nchan_module.so";

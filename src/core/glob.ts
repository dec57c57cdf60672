/**
 * @module
 * Glob patterns as Centrifugo uses them (`allowed_origins`, the `channels` API pattern):
 * `*` matches any run of characters, `?` one character, everything else is literal.
 */
export function globToRegExp(glob: string, opts: { ignoreCase?: boolean } = {}): RegExp {
  let out = "";
  for (const ch of opts.ignoreCase ? glob.toLowerCase() : glob) {
    if (ch === "*") out += ".*";
    else if (ch === "?") out += ".";
    else out += ch.replace(/[.+^${}()|[\]\\/]/g, "\\$&");
  }
  return new RegExp(`^${out}$`, "s");
}

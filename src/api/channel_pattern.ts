/**
 * @module
 * The `channels` API method's `pattern`, in the glob syntax Centrifugo compiles it with (gobwas/glob,
 * no separators): `*` any run of characters, `?` one character, `[abc]` / `[!abc]` one of (not one
 * of) the listed characters, `[a-z]` / `[!a-z]` a range, `{a,b*}` any of the alternatives (nested
 * patterns), `\` makes the next character literal. `]` and `}` outside their brackets, and `,`
 * outside braces, are literal. A pattern that does not compile (an unclosed `[`, an empty or
 * reversed range) is `undefined`.
 */

/** A RegExp that matches whole channel names, or undefined when the pattern does not compile. */
export function compileChannelPattern(pattern: string): RegExp | undefined {
  // The glob's reader stops at U+FFFD (what Go makes of invalid UTF-8): the pattern fails.
  if (pattern.includes("\ufffd")) return undefined;
  const chars = [...pattern];
  let pos = 0;
  let depth = 0; // inside how many `{…}`
  let out = "";
  const lit = (c: string) => `\\u{${c.codePointAt(0)!.toString(16)}}`;

  /** Literal text up to (not including) one of `stops`; `\` escapes the next character. */
  const text = (stops: string): string => {
    let s = "";
    while (pos < chars.length) {
      let c = chars[pos];
      if (c === "\\") {
        pos++;
        if (pos >= chars.length) break; // a trailing `\` is dropped
        c = chars[pos];
      } else if (stops.includes(c)) break;
      s += c;
      pos++;
    }
    return s;
  };

  /** After `[`: a range `a-z` or a list of characters, optionally negated by a leading `!`. */
  const range = (): string | undefined => {
    let not = false;
    if (chars[pos] === "!") {
      not = true;
      pos++;
    }
    if (pos >= chars.length) return undefined;
    let body: string;
    if (chars[pos + 1] === "-") {
      const lo = chars[pos];
      const hi = chars[pos + 2];
      pos += 3;
      const [l, h] = [lo.codePointAt(0)!, hi?.codePointAt(0) ?? 0];
      // a NUL end reads as "no range" there, which does not compile either
      if (l === 0 || h === 0 || h < l) return undefined;
      body = `${lit(lo)}-${lit(hi)}`;
    } else {
      const list = text("]");
      if (list === "") return undefined;
      body = [...list].map(lit).join("");
    }
    if (chars[pos] !== "]") return undefined;
    pos++;
    return `[${not ? "^" : ""}${body}]`;
  };

  while (pos < chars.length) {
    const c = chars[pos];
    if (c === "{") {
      depth++;
      pos++;
      out += "(?:";
    } else if (c === "," && depth > 0) {
      pos++;
      out += "|";
    } else if (c === "}" && depth > 0) {
      depth--;
      pos++;
      out += ")";
    } else if (c === "[") {
      pos++;
      const r = range();
      if (r === undefined) return undefined;
      out += r;
    } else if (c === "?") {
      pos++;
      out += ".";
    } else if (c === "*") {
      pos++;
      out += ".*";
    } else {
      out += [...text(depth > 0 ? "?*[{}," : "?*[{")].map(lit).join("");
    }
  }
  // an unclosed `{` ends its alternatives at the end of the pattern
  out += ")".repeat(depth);
  return new RegExp(`^${out}$`, "su");
}

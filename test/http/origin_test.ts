/**
 * allowed_origins: OriginPolicy decisions, glob patterns and the CORS headers it grants.
 */
import { test } from "../harness.ts";
import { assert, assertEquals } from "../assert.ts";
import { OriginPolicy } from "../../src/http/origin.ts";
import { globToRegExp } from "../../src/core/glob.ts";

test("OriginPolicy: a request without an Origin header always passes", () => {
  assert(new OriginPolicy([]).allows(null), "empty list");
  assert(new OriginPolicy(["https://a.example"]).allows(null), "explicit list");
  assert(new OriginPolicy(["*"]).allows(null), "wildcard");
});

test("OriginPolicy: an empty list refuses every origin", () => {
  const p = new OriginPolicy([]);
  for (const o of ["https://example.com", "http://localhost:3000", "null", ""]) {
    assert(!p.allows(o), `refuses ${JSON.stringify(o)}`);
  }
});

test('OriginPolicy: "*" allows every origin, also next to other patterns', () => {
  for (const p of [new OriginPolicy(["*"]), new OriginPolicy(["https://a.example", "*"])]) {
    assert(p.allows("https://anything.example"), "any origin");
    assert(p.allows("null"), "opaque origin");
  }
});

test("OriginPolicy: exact origins match exactly (scheme and port included)", () => {
  const p = new OriginPolicy(["https://app.example.com", "http://localhost:3000"]);
  assert(p.allows("https://app.example.com"), "exact");
  assert(p.allows("http://localhost:3000"), "exact with port");
  assert(!p.allows("http://app.example.com"), "other scheme");
  assert(!p.allows("https://app.example.com:8443"), "other port");
  assert(!p.allows("http://localhost:30000"), "port prefix");
  assert(!p.allows("https://app.example.com.evil.com"), "suffix added");
  assert(!p.allows("https://evil-app.example.com"), "prefix added");
});

test("OriginPolicy: https://*.example.com matches subdomains only", () => {
  const p = new OriginPolicy(["https://*.example.com"]);
  assert(p.allows("https://a.example.com"), "subdomain");
  assert(p.allows("https://a.b.example.com"), "nested subdomain");
  assert(!p.allows("https://example.com"), "apex");
  assert(!p.allows("http://a.example.com"), "other scheme");
  assert(!p.allows("https://a.example.com.evil.com"), "suffix added");
  assert(!p.allows("https://aexample.com"), "no dot before example.com");
  assert(!p.allows("https://a.example.community"), "longer TLD");
});

test("OriginPolicy: matching is case-insensitive", () => {
  const p = new OriginPolicy(["https://App.Example.COM", "https://*.Sub.Example.org"]);
  assert(p.allows("https://app.example.com"), "lower-case origin, mixed-case pattern");
  assert(p.allows("HTTPS://APP.EXAMPLE.COM"), "upper-case origin");
  assert(p.allows("https://X.SUB.example.ORG"), "glob, mixed case");
});

test("OriginPolicy: regex metacharacters in patterns are literal", () => {
  const dot = new OriginPolicy(["https://a.example.com"]);
  assert(!dot.allows("https://aXexample.com"), "'.' is not any character");
  const meta = new OriginPolicy([
    "https://a+b.example.com",
    "https://(x|y).example.com",
    "https://[ab].example.com",
  ]);
  assert(meta.allows("https://a+b.example.com"), "literal +");
  assert(!meta.allows("https://aab.example.com"), "+ is not a quantifier");
  assert(meta.allows("https://(x|y).example.com"), "literal parentheses and bar");
  assert(!meta.allows("https://x.example.com"), "| is not alternation");
  assert(meta.allows("https://[ab].example.com"), "literal brackets");
  assert(!meta.allows("https://a.example.com"), "[] is not a class");
  const anchors = new OriginPolicy(["^https://x.example$"]);
  assert(!anchors.allows("https://x.example"), "^ and $ are literal");
  assert(anchors.allows("^https://x.example$"), "^ and $ match themselves");
  const backslash = new OriginPolicy(["https://x\\d.example"]);
  assert(!backslash.allows("https://x1.example"), "\\d is not a digit class");
});

test("globToRegExp: * is any run, ? is one character, anchored at both ends", () => {
  const star = globToRegExp("http://localhost:*");
  assert(star.test("http://localhost:3000"), "* matches digits");
  assert(star.test("http://localhost:"), "* matches nothing");
  assert(!star.test("xhttp://localhost:1"), "anchored at the start");
  const q = globToRegExp("http://host?.example");
  assert(q.test("http://host1.example"), "? matches one character");
  assert(!q.test("http://host.example"), "? needs a character");
  assert(!q.test("http://host12.example"), "? is exactly one");
  assertEquals(globToRegExp("A.B", { ignoreCase: true }).test("a.b"), true, "pattern is lower-cased");
  assertEquals(globToRegExp("A.B").test("a.b"), false, "case-sensitive by default");
});

test("corsHeaders: echoes the origin, allows credentials, varies on Origin", () => {
  const p = new OriginPolicy(["https://app.example"]);
  const h = p.corsHeaders(
    new Request("http://server/connection/sse", { headers: { Origin: "https://app.example" } }),
  );
  assertEquals(h, {
    "Access-Control-Allow-Origin": "https://app.example",
    "Access-Control-Allow-Credentials": "true",
    "Vary": "Origin",
  });
});

test("corsHeaders: echoes the requested headers of a preflight from a listed origin", () => {
  const p = new OriginPolicy(["https://*.example"]);
  const req = new Request("http://server/emulation", {
    method: "OPTIONS",
    headers: {
      Origin: "https://any.example",
      "Access-Control-Request-Method": "POST",
      "Access-Control-Request-Headers": "content-type, x-custom",
    },
  });
  const h = p.corsHeaders(req);
  assertEquals(h["Access-Control-Allow-Origin"], "https://any.example");
  assertEquals(h["Access-Control-Allow-Headers"], "content-type, x-custom");
  assertEquals(h["Access-Control-Allow-Credentials"], "true");
});

test('corsHeaders: "*" allows reading without credentials and only the SDK\'s headers', () => {
  const p = new OriginPolicy(["*"]);
  const preflight = new Request("http://server/emulation", {
    method: "OPTIONS",
    headers: {
      Origin: "https://evil.example",
      "Access-Control-Request-Method": "POST",
      "Access-Control-Request-Headers": "content-type, x-custom",
    },
  });
  assertEquals(p.corsHeaders(preflight), {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Headers": "Content-Type, Authorization, Last-Event-ID",
  });
  const get = new Request("http://server/connection/sse", { headers: { Origin: "https://evil.example" } });
  assertEquals(p.corsHeaders(get), { "Access-Control-Allow-Origin": "*" });
});

test('corsHeaders: next to "*", a listed origin still gets credentials', () => {
  const p = new OriginPolicy(["*", "https://app.example"]);
  const listed = p.corsHeaders(new Request("http://s/x", { headers: { Origin: "https://app.example" } }));
  assertEquals(listed["Access-Control-Allow-Credentials"], "true");
  assertEquals(listed["Access-Control-Allow-Origin"], "https://app.example");
  const other = p.corsHeaders(new Request("http://s/x", { headers: { Origin: "https://other.example" } }));
  assertEquals(other, { "Access-Control-Allow-Origin": "*" });
});

test("corsHeaders: nothing without an Origin header", () => {
  const p = new OriginPolicy(["*"]);
  assertEquals(p.corsHeaders(new Request("http://server/x")), {});
});

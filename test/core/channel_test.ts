/**
 * ChannelRules: name validation, namespace resolution (with the private prefix), user-limited
 * channels and channel_regex, with Centrifugo's default boundaries and with custom ones.
 */
import { test } from "../harness.ts";
import { assert, assertEquals } from "../assert.ts";
import { ChannelRules, hasHistory } from "../../src/core/channel.ts";
import { loadConfig } from "../../src/config/mod.ts";

function rules(file: Record<string, unknown> = {}): ChannelRules {
  return new ChannelRules(loadConfig({ file }).config);
}

const withNamespaces = () =>
  rules({
    presence: false,
    namespaces: [
      { name: "chat", presence: true },
      { name: "feed", history_size: 10, history_ttl: "60s" },
      { name: "rx", channel_regex: "^[a-z0-9_]+$" },
    ],
  });

// -------------------------------------------------------------------------------------------------
// Names

test("invalidName: empty, too long and non-ASCII names are refused", () => {
  const r = rules();
  assert(r.invalidName("") !== undefined, "empty");
  assertEquals(r.invalidName("a".repeat(255)), undefined, "255 characters is the default maximum");
  assert(r.invalidName("a".repeat(256)) !== undefined, "256 characters is too long");
  assert(r.invalidName("café") !== undefined, "non-ASCII");
  assert(r.invalidName("chat:😀") !== undefined, "emoji");
  assertEquals(r.invalidName("news"), undefined);
  assertEquals(r.invalidName("$chat:room#1,2"), undefined, "special characters are ASCII");
  assertEquals(r.invalidName("a b\t~!@%^&*()"), undefined, "any ASCII is fine");
});

test("invalidName: channel_max_length is configurable", () => {
  const r = rules({ channel_max_length: 5 });
  assertEquals(r.invalidName("abcde"), undefined);
  assert(r.invalidName("abcdef") !== undefined, "6 > 5");
  assertEquals(r.maxLength, 5);
});

// -------------------------------------------------------------------------------------------------
// Namespaces

test("resolve: channels without a namespace get the top-level options", () => {
  const r = withNamespaces();
  const res = r.resolve("news")!;
  assertEquals(res.namespace, "");
  assertEquals(res.options.presence, false);
  // An empty part before the boundary is not a namespace.
  assertEquals(r.resolve(":news")!.namespace, "");
});

test("resolve: ns:name picks the namespace's options", () => {
  const r = withNamespaces();
  const chat = r.resolve("chat:room")!;
  assertEquals(chat.namespace, "chat");
  assertEquals(chat.options.presence, true);
  const feed = r.resolve("feed:x:y")!;
  assertEquals(feed.namespace, "feed", "only the first boundary splits");
  assert(hasHistory(feed.options), "feed has history");
  assert(!hasHistory(chat.options), "chat has no history");
  assertEquals(r.namespaceOf("chat:room#1,2"), "chat");
});

test("resolve: the private prefix is not part of the namespace ($ns:x)", () => {
  const r = withNamespaces();
  assert(r.isPrivate("$chat:secret"), "$ prefix is private");
  assert(!r.isPrivate("chat:$secret"), "only a prefix counts");
  const res = r.resolve("$chat:secret")!;
  assertEquals(res.namespace, "chat");
  assertEquals(res.options.presence, true);
  assertEquals(r.resolve("$news")!.namespace, "");
});

test("resolve: an unknown namespace resolves to undefined", () => {
  const r = withNamespaces();
  assertEquals(r.resolve("nope:room"), undefined);
  assertEquals(r.resolve("$nope:room"), undefined);
  assertEquals(r.resolve("Chat:room"), undefined, "namespace names are case-sensitive");
});

test("resolve: custom private prefix and namespace boundary", () => {
  const r = rules({
    channel_private_prefix: "private-",
    channel_namespace_boundary: "/",
    namespaces: [{ name: "chat", presence: true }],
  });
  assert(r.isPrivate("private-chat/x"), "custom private prefix");
  assert(!r.isPrivate("$chat/x"), "$ is an ordinary character now");
  assertEquals(r.resolve("private-chat/x")!.namespace, "chat");
  assertEquals(r.resolve("chat/x")!.namespace, "chat");
  assertEquals(r.resolve("chat:x")!.namespace, "", "':' is an ordinary character now");
});

test("isPrivate: an empty private prefix makes no channel private", () => {
  const r = rules({ channel_private_prefix: "" });
  assert(!r.isPrivate("$chat:x"), "no private channels");
  assert(!r.isPrivate("news"), "no private channels");
});

// -------------------------------------------------------------------------------------------------
// User-limited channels

test("userAllowed: dialog#1,2 admits users 1 and 2 only", () => {
  const r = rules();
  assert(r.isUserLimited("dialog#1,2"), "user-limited");
  assert(!r.isUserLimited("dialog"), "not user-limited");
  assert(r.userAllowed("dialog#1,2", "1"), "user 1");
  assert(r.userAllowed("dialog#1,2", "2"), "user 2");
  assert(!r.userAllowed("dialog#1,2", "3"), "user 3");
  assert(!r.userAllowed("dialog#1,2", ""), "anonymous");
  assert(!r.userAllowed("dialog#1,2", "1,2"), "the whole list is not a user");
  assert(!r.userAllowed("dialog#12", "1"), "no prefix match");
  assert(r.userAllowed("news", "anyone"), "channels without a boundary admit everyone");
  assert(r.userAllowed("#42", "42"), "personal channel");
  assert(r.userAllowed("chat:#42", "42"), "personal channel in a namespace");
  assert(r.userAllowed("$chat:dialog#7,8", "8"), "private, namespaced and user-limited");
});

test("userAllowed: the users come after the last boundary", () => {
  const r = rules();
  assert(r.userAllowed("a#b#1,2", "2"), "last part lists the users");
  assert(!r.userAllowed("a#1#2", "1"), "an earlier part does not count");
});

test("userAllowed: custom boundary and separator", () => {
  const r = rules({ channel_user_boundary: "@", channel_user_separator: ";" });
  assert(r.isUserLimited("dialog@1;2"), "custom boundary");
  assert(!r.isUserLimited("dialog#1,2"), "# is ordinary now");
  assert(r.userAllowed("dialog@1;2", "2"), "custom separator");
  assert(!r.userAllowed("dialog@1,2", "2"), ", is ordinary now");
  assert(r.userAllowed("dialog@1,2", "1,2"), "the whole part is one user");
});

test("isUserLimited: an empty user boundary disables user-limited channels", () => {
  const r = rules({ channel_user_boundary: "" });
  assert(!r.isUserLimited("dialog#1,2"), "no user-limited channels");
});

// -------------------------------------------------------------------------------------------------
// channel_regex

test("matchesRegex: applied to the part after ns: (true when the namespace has none)", () => {
  const r = withNamespaces();
  const rx = r.resolve("rx:abc_1")!;
  assert(r.matchesRegex("rx:abc_1", rx), "matches");
  assert(!r.matchesRegex("rx:ABC", rx), "upper case does not match");
  assert(!r.matchesRegex("rx:a-b", rx), "dash does not match");
  assert(r.matchesRegex("$rx:abc", r.resolve("$rx:abc")!), "private channel: part after ns:");
  assert(r.matchesRegex("chat:ANY-thing!", r.resolve("chat:ANY-thing!")!), "no regex → true");
});

test("matchesRegex: top-level channel_regex applies to the whole name", () => {
  const r = rules({ channel_regex: "^news_[0-9]+$" });
  assert(r.matchesRegex("news_1", r.resolve("news_1")!), "matches");
  assert(!r.matchesRegex("news_x", r.resolve("news_x")!), "does not match");
});

test("matchesRegex: works with a multi-character namespace boundary", () => {
  const r = rules({
    channel_namespace_boundary: "::",
    namespaces: [{ name: "rx", channel_regex: "^[a-z]+$" }],
  });
  const resolved = r.resolve("rx::abc");
  assert(resolved !== undefined && resolved.namespace === "rx", "rx::abc resolves to namespace rx");
  // The part after "rx::" is "abc", which matches ^[a-z]+$.
  assert(r.matchesRegex("rx::abc", resolved), "part after the boundary is tested");
  assert(!r.matchesRegex("rx:::abc", r.resolve("rx:::abc")!), "':abc' does not match");
});

test("userAllowed: an empty user separator means the part after the boundary is one user", () => {
  // Centrifugo: with channel_user_separator "" the whole part after the boundary must equal the user.
  const r = rules({ channel_user_separator: "" });
  assert(r.userAllowed("dialog#42", "42"), "exact user");
  assert(!r.userAllowed("dialog#42", "4"), "a single character of the user part is not a user");
});

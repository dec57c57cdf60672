/**
 * Permissions (core/permissions.ts): Centrifugo's allow_* rules for publish, history, presence
 * and subscribing without a token, per namespace (each namespace has its own options), for
 * users, anonymous connections, subscribers, and `client_insecure`.
 */
import { test } from "../harness.ts";
import { assertEquals } from "../assert.ts";
import {
  type Actor,
  canHistory,
  canPresence,
  canPublish,
  canSubscribeWithoutToken,
} from "../../src/core/permissions.ts";
import { ChannelRules } from "../../src/core/channel.ts";
import { type ChannelOptions, loadConfig } from "../../src/config/mod.ts";

function actor(user: string, subscribed: string[] = [], insecure = false): Actor {
  return { user, insecure, isSubscribed: (channel) => subscribed.includes(channel) };
}

const rules = new ChannelRules(
  loadConfig({
    file: {
      namespaces: [
        { name: "open", allow_publish_for_client: true, allow_history_for_client: true },
        { name: "members", allow_publish_for_subscriber: true, allow_presence_for_subscriber: true },
        { name: "public", allow_publish_for_client: true, allow_publish_for_anonymous: true },
      ],
    },
  }).config,
);
const options = (channel: string): ChannelOptions => rules.resolve(channel)!.options;

test("canPublish: by namespace — any user, subscribers only, anonymous too; nothing by default", () => {
  const ann = actor("ann", ["members:1"]);
  const anon = actor("");
  const cases: Array<[string, Actor, boolean]> = [
    ["open:1", ann, true],
    ["open:1", anon, false], // allow_*_for_client needs a user unless for_anonymous
    ["members:1", ann, true], // subscribed
    ["members:2", ann, false], // not subscribed
    ["public:1", anon, true],
    ["news", ann, false], // top level: nothing allowed by default
  ];
  for (const [channel, who, allowed] of cases) {
    assertEquals(
      canPublish(who, channel, options(channel)),
      allowed,
      `${who.user || "anonymous"} on ${channel}`,
    );
  }
});

test("canHistory / canPresence: subscriber rules, and assumeSubscribed while a subscribe is in progress", () => {
  const ann = actor("ann");
  assertEquals(canHistory(ann, "open:1", options("open:1")), true);
  assertEquals(canPresence(ann, "open:1", options("open:1")), false);
  assertEquals(canPresence(ann, "members:1", options("members:1")), false, "not subscribed");
  assertEquals(canPresence(ann, "members:1", options("members:1"), true), true, "being subscribed");
  assertEquals(canPresence(actor("ann", ["members:1"]), "members:1", options("members:1")), true);
  assertEquals(canHistory(ann, "members:1", options("members:1"), true), false, "history not allowed there");
});

test("client_insecure allows every operation (but never a private channel without a token)", () => {
  const insecure = actor("", [], true);
  const o = options("news");
  assertEquals([
    canPublish(insecure, "news", o),
    canHistory(insecure, "news", o),
    canPresence(insecure, "news", o),
  ], [
    true,
    true,
    true,
  ]);
  const flags = { isPrivate: false, isUserLimited: false, userAllowed: false };
  assertEquals(canSubscribeWithoutToken(insecure, o, flags), true);
  assertEquals(canSubscribeWithoutToken(insecure, o, { ...flags, isPrivate: true }), false);
});

test("canSubscribeWithoutToken: allow_subscribe_for_client/anonymous, private channels, user-limited channels", () => {
  const base = options("news");
  const forClient = { ...base, allow_subscribe_for_client: true };
  const forAnyone = { ...forClient, allow_subscribe_for_anonymous: true };
  const userLimited = { ...base, allow_user_limited_channels: true };
  const plain = { isPrivate: false, isUserLimited: false, userAllowed: false };
  const ann = actor("ann"), anon = actor("");
  assertEquals(canSubscribeWithoutToken(ann, base, plain), false, "nothing allowed by default");
  assertEquals(canSubscribeWithoutToken(ann, forClient, plain), true);
  assertEquals(canSubscribeWithoutToken(anon, forClient, plain), false);
  assertEquals(canSubscribeWithoutToken(anon, forAnyone, plain), true);
  assertEquals(
    canSubscribeWithoutToken(ann, forAnyone, { ...plain, isPrivate: true }),
    false,
    "private: token only",
  );
  const limited = { isPrivate: false, isUserLimited: true };
  assertEquals(canSubscribeWithoutToken(ann, userLimited, { ...limited, userAllowed: true }), true);
  assertEquals(canSubscribeWithoutToken(ann, userLimited, { ...limited, userAllowed: false }), false);
  // Where user-limited channels are not enabled, `#` is an ordinary character: the usual rule.
  assertEquals(canSubscribeWithoutToken(ann, forClient, { ...limited, userAllowed: false }), true);
});

/**
 * Hub: a user's connections, kept as the connection itself while there is one and as a map from
 * the second on (and back), must read the same either way; they are also the hub's list of all
 * connections. Sessions are indexed only for connections that take commands by session.
 */
import { test } from "../harness.ts";
import { assert, assertEquals } from "../assert.ts";
import { Hub, type HubClient } from "../../src/core/hub.ts";

function client(id: string, user: string, session = "", commandsBySession = false): HubClient {
  return {
    id,
    user,
    session,
    commandsBySession,
    checkPosition() {},
    deliverPublication() {},
    deliverJoinLeave() {},
  };
}

test("Hub: a user's connections through one, two, one and none", () => {
  const hub = new Hub();
  const a = client("a", "alice");
  const b = client("b", "alice");
  const c = client("c", "carol");
  hub.add(a);
  hub.add(c);
  assertEquals(hub.userConnections("alice"), [a]);
  assertEquals([hub.numUsers, hub.numClients], [2, 2]);
  hub.add(a); // added again: still one
  assertEquals(hub.userConnections("alice"), [a]);
  hub.add(b);
  assertEquals(hub.userConnections("alice"), [a, b]);
  assertEquals([hub.numUsers, hub.numClients], [2, 3]);
  assertEquals([...hub.allClients()], [a, b, c]);
  assert(hub.has(a) && hub.has(b) && !hub.has(client("a", "alice")));
  hub.remove(a);
  assertEquals(hub.userConnections("alice"), [b]);
  hub.remove(client("b", "alice")); // another object with b's id is not b
  assertEquals(hub.userConnections("alice"), [b]);
  hub.add(a);
  assertEquals(hub.userConnections("alice"), [b, a]);
  hub.remove(b);
  hub.remove(a);
  assert(!hub.has(a));
  assertEquals(hub.userConnections("alice"), []);
  assertEquals(hub.numUsers, 1);
  hub.remove(c);
  assertEquals(hub.numUsers, 0);
  assertEquals(hub.numClients, 0);
});

test("Hub: sessions are found only for connections that take commands by session", () => {
  const hub = new Hub();
  const emulated = client("e", "u", "s1", true);
  const uni = client("x", "u", "s2", false);
  hub.add(emulated);
  hub.add(uni);
  assert(hub.bySession("s1") === emulated);
  assertEquals(hub.bySession("s2"), undefined);
  hub.remove(emulated);
  assertEquals(hub.bySession("s1"), undefined);
  assertEquals(hub.userConnections("u"), [uni]);
});

test("Hub: a channel's subscribers, in subscription order", () => {
  const hub = new Hub();
  const a = client("a", "u1"), b = client("b", "u2");
  assertEquals(hub.subscribe("ch", a), true);
  assertEquals(hub.subscribe("ch", b), false);
  hub.subscribe("ch", a);
  assertEquals(hub.subscribersOf("ch"), [a, b]);
  assertEquals([hub.channelSubscribers("ch"), hub.numSubscriptions, hub.numChannels], [2, 2, 1]);
  assertEquals(hub.unsubscribe("ch", a), false);
  assertEquals(hub.unsubscribe("ch", a), false);
  assertEquals(hub.unsubscribe("ch", b), true);
  assertEquals([hub.hasSubscribers("ch"), hub.numChannels], [false, 0]);
});

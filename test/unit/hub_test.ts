/**
 * Hub: a user's connections, kept as the connection itself while there is one and as a map from
 * the second on (and back), must read the same either way.
 */
import { test } from "../harness.ts";
import { assertEquals } from "../assert.ts";
import { Hub, type HubClient } from "../../src/core/hub.ts";

function client(id: string, user: string): HubClient {
  return {
    id,
    user,
    session: "",
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
  assertEquals(hub.numUsers, 2);
  hub.add(a); // added again: still one
  assertEquals(hub.userConnections("alice"), [a]);
  hub.add(b);
  assertEquals(hub.userConnections("alice"), [a, b]);
  assertEquals(hub.numUsers, 2);
  hub.remove(a);
  assertEquals(hub.userConnections("alice"), [b]);
  hub.remove(client("b", "alice")); // another object with b's id is not b
  assertEquals(hub.userConnections("alice"), [b]);
  hub.add(a);
  assertEquals(hub.userConnections("alice"), [b, a]);
  hub.remove(b);
  hub.remove(a);
  assertEquals(hub.userConnections("alice"), []);
  assertEquals(hub.numUsers, 1);
  hub.remove(c);
  assertEquals(hub.numUsers, 0);
  assertEquals(hub.numClients, 0);
});

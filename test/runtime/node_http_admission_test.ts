/**
 * The node:http listeners' admission (`src/runtime/node_http/admission.ts`): connections beyond the
 * cap are refused and logged once, and the listeners listen again only after such a refusal, once
 * the connections are back under the cap and every refused socket has closed.
 */
import { EventEmitter } from "node:events";
import type { Socket } from "node:net";
import { test } from "../harness.ts";
import { assertEquals } from "../assert.ts";
import { Admission } from "../../src/runtime/node_http/admission.ts";

const socket = () => new EventEmitter() as unknown as Socket;
const close = (s: Socket) => (s as unknown as EventEmitter).emit("close");

function admission(cap: number | undefined) {
  const warnings: string[] = [];
  const log = { warn: (msg: string) => warnings.push(msg), info: () => {} };
  const a = new Admission(cap, 96, log);
  let relistens = 0;
  a.add({ relisten: () => relistens++ });
  return { a, warnings, relistens: () => relistens };
}

test("node_http admission: the cap refuses, and a refusal makes the listeners listen again once there is room", () => {
  const { a, warnings, relistens } = admission(2);
  const held = [socket(), socket()];
  assertEquals(held.map((s) => a.admit(s)), [true, true]);
  const refused = [socket(), socket()];
  assertEquals(refused.map((s) => a.admit(s)), [false, false]);
  assertEquals(warnings.length, 1, "logged once per episode");
  close(held[0]);
  assertEquals(relistens(), 0, "a refused socket may still hold its descriptor");
  close(refused[0]);
  close(refused[1]);
  assertEquals(relistens(), 1, "under the cap with every refused socket closed");
  close(held[1]);
  assertEquals(relistens(), 1, "once per refusal episode");
  // A second episode: refused again, logged again, listened again.
  const again = [socket(), socket(), socket()];
  assertEquals(again.map((s) => a.admit(s)), [true, true, false]);
  assertEquals(warnings.length, 2);
  close(again[2]);
  assertEquals(relistens(), 1, "still at the cap");
  close(again[0]);
  assertEquals(relistens(), 2);
});

test("node_http admission: at the cap without a refusal, closes change nothing; a failed listen retries", () => {
  const { a, relistens } = admission(1);
  const s = socket();
  a.admit(s);
  close(s);
  assertEquals(relistens(), 0, "never refused: the listeners never stalled");
  a.retry();
  const t = socket();
  a.admit(t);
  close(t);
  assertEquals(relistens(), 1, "a listen that failed is tried again at the next close");
});

test("node_http admission: without a known limit every connection is admitted", () => {
  const { a, warnings } = admission(undefined);
  for (let i = 0; i < 1000; i++) assertEquals(a.admit(socket()), true);
  assertEquals(warnings.length, 0);
});

import { test } from "../harness.ts";
import { assertEquals, assertThrows } from "../assert.ts";
import { parseOverride } from "../../src/wire/override.ts";

test("override: {value} objects flatten; {} is protobuf JSON for false", () => {
  const got = parseOverride({ presence: { value: true }, join_leave: {} }, "override", { unknown: "refuse" });
  assertEquals(got, { presence: true, join_leave: false });
});

test("override: strict callers refuse null, bare booleans and unknown names", () => {
  for (const bad of [{ presence: null }, { presence: true }, { presense: { value: true } }, [], "x"]) {
    assertThrows(() => parseOverride(bad, "override", { unknown: "refuse" }), (e) => e instanceof TypeError);
  }
});

test("override: lenient callers (proxies) skip null and unknown names, accept bare booleans", () => {
  const got = parseOverride(
    { presence: true, join_leave: null, future_flag: { value: true } },
    "override",
    { unknown: "ignore", lenient: true },
  );
  assertEquals(got, { presence: true });
  assertThrows(
    () => parseOverride({ presence: { value: "yes" } }, "override", { unknown: "ignore", lenient: true }),
    (e) => e instanceof TypeError,
  );
});

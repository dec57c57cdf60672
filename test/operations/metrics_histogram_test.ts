/**
 * Sluice's own duration histograms (server API calls, client commands, hook calls) render and add
 * up across workers exactly as prom-client's histograms do: the same observations give the same
 * exposition lines, whatever the durations (bucket edges, past the last bound) and label values.
 */
import { test } from "../harness.ts";
import { assertEquals } from "../assert.ts";
import fc from "fast-check";
import { AggregatorRegistry, Histogram, Registry } from "prom-client";
import { DURATION_BUCKETS, Metrics } from "../../src/metrics.ts";

const stats = { stats: () => ({ numClients: 0, numUsers: 0, numChannels: 0, numSubs: 0, uptime: 1 }) };
const API = "centrifugo_api_command_duration_seconds";
const HOOK = "sluice_plugin_hook_duration_seconds";

/** The lines of one metric family in an exposition text. */
const family = (text: string, name: string) =>
  text.split("\n").filter((l) =>
    l.startsWith(`${name}_`) || l.startsWith(`# HELP ${name} `) || l.startsWith(`# TYPE ${name} `)
  );

/** prom-client's own histogram fed the same observations: the reference registry. */
function reference(
  name: string,
  help: string,
  labelNames: string[],
  observations: Array<[Record<string, string>, number]>,
): Registry {
  const registry = new Registry();
  const h = new Histogram({ name, help, labelNames, buckets: DURATION_BUCKETS, registers: [registry] });
  for (const [labels, seconds] of observations) h.observe(labels, seconds);
  return registry;
}

const seconds = fc.oneof(
  fc.constantFrom(...DURATION_BUCKETS, 0, 10),
  fc.double({ min: 0, max: 8, noNaN: true }),
);

test("duration histograms: the exposition prom-client's histogram gives, and the same sum over workers", async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(fc.tuple(fc.constantFrom("publish", "history", "batch"), seconds), { maxLength: 40 }),
      fc.array(fc.tuple(fc.constantFrom("auth", "acl"), fc.constantFrom("onRpc", "onPublish"), seconds), {
        maxLength: 20,
      }),
      async (calls, hooks) => {
        const m = new Metrics("1", stats);
        for (const [method, s] of calls) m.apiCall(method, s);
        for (const [plugin, hook, s] of hooks) m.hookCall(plugin, hook, s);
        const text = await m.render();
        const api = reference(
          API,
          "Server API call time, by method.",
          ["method"],
          calls.map(([method, s]) => [{ method }, s]),
        );
        const hook = reference(
          HOOK,
          "Plugin hook call time, by plugin and hook.",
          ["plugin", "hook"],
          hooks.map(([plugin, hook, s]) => [{ plugin, hook }, s]),
        );
        assertEquals(family(text, API), family(await api.metrics(), API));
        assertEquals(family(text, HOOK), family(await hook.metrics(), HOOK));
        // two workers with these observations each, added up as prom-client adds up its own
        const snapshot = await m.snapshot();
        const ours = await Metrics.renderAggregated([snapshot, snapshot]);
        const json = await api.getMetricsAsJSON();
        const theirs = await AggregatorRegistry.aggregate([json, json]).metrics();
        assertEquals(family(ours, API), family(theirs, API));
      },
    ),
    { numRuns: 200 },
  );
});

/**
 * @module
 * Where Sluice differs from Centrifugo on purpose. Each entry is an item of the README's "Sluice
 * differs on purpose" list (`readme` is its text, found there verbatim) and says exactly how:
 * `patch` turns Centrifugo's normalised transcript into Sluice's. A scenario that pins it
 * (`differs: id`) passes only when Sluice sends precisely that, and fails once the two agree (then
 * the entry goes).
 *
 * An entry marked `everywhere` concerns what every connection of a kind shows (a header, a framing
 * line): its patch is applied to every scenario's Centrifugo transcript before comparing, and it
 * still needs a scenario of its own that pins it.
 */
import type { Transcript } from "./session.ts";
import type { Profile } from "./profiles.ts";

export interface KnownDifference {
  /** The README item's words (verbatim in README's "Sluice differs on purpose"). */
  readme: string;
  /** Applies to every scenario (headers, framing), not only to the ones that pin it. */
  everywhere?: boolean;
  /** Only these Sluice targets differ (a runtime's own behaviour); the others answer as Centrifugo. */
  onlyOn?: string[];
  /** Centrifugo's transcript → the one Sluice sends. Must leave a transcript it does not concern as it is. */
  patch: (centrifugo: Transcript, profile: Profile) => Transcript;
}

type Event = Record<string, unknown>;
type ConnRecord = { transport: string; events: Event[] };

/** Every connection record of a transcript (`c1`, `c2`, …). */
function connections(t: Transcript): ConnRecord[] {
  return Object.values(t).filter((v): v is ConnRecord =>
    !!v && typeof v === "object" && "transport" in v && Array.isArray((v as ConnRecord).events)
  );
}

/** Whether the (normalised) channel's namespace in `profile` keeps history. */
export function hasHistory(profile: Profile, channel: string): boolean {
  const channelConfig = profile.config.channel as {
    without_namespace?: Record<string, unknown>;
    namespaces?: Array<Record<string, unknown>>;
  };
  const at = channel.indexOf(":");
  const options = at < 0
    ? channelConfig.without_namespace
    : channelConfig.namespaces?.find((n) => n.name === channel.slice(0, at));
  return !!options && Number(options.history_size ?? 0) > 0 && !!options.history_ttl;
}

/** The recorded server API calls of `method`. */
function apiCalls(t: Transcript, method: string): Array<{ api: string; body: Record<string, unknown> }> {
  return ((t.http as Array<{ api?: string; body: Record<string, unknown> }> | undefined) ?? [])
    .filter((e): e is { api: string; body: Record<string, unknown> } => e.api === method);
}

/** Every recorded set of response headers: stream opens and plain HTTP answers. */
function headerSets(t: Transcript): Array<Record<string, string>> {
  const sets: Array<Record<string, string>> = [];
  for (const c of connections(t)) {
    for (const e of c.events) if (e.headers) sets.push(e.headers as Record<string, string>);
  }
  for (const e of (t.http as Event[] | undefined) ?? []) {
    if (e.headers) sets.push(e.headers as Record<string, string>);
  }
  return sets;
}

/**
 * For slow-consumer scenarios: the publication that overflowed and a disconnect push may or may
 * not reach the client before Centrifugo's close (a race on its side), so neither is compared.
 */
export function dropOverflow(t: Transcript): Transcript {
  for (const c of connections(t)) {
    c.events = c.events.filter((e) => {
      const msg = e.msg as Record<string, unknown> | undefined;
      const push = (msg?.push ?? msg) as Record<string, unknown> | undefined;
      return !(push?.pub || push?.disconnect);
    });
  }
  return t;
}

/** How a disconnect looks on `transport`: a close frame, or a disconnect push on a stream. */
function disconnectEvent(transport: string, code: number, reason: string, like: Event): Event {
  if (transport.includes("websocket")) return { close: { code, reason } };
  const e: Event = { msg: { push: { disconnect: { code, reason } } } };
  if ("sse" in like) e.sse = like.sse;
  return e;
}

export const DIFFERENCES: Record<string, KnownDifference> = {
  "turned-off-path-says-why": {
    readme: "a request to the path of a transport that is turned off is answered 404 with the config key " +
      "that turns it on (Centrifugo: `404 page not found`)",
    patch(t) {
      const keys: Record<string, string> = {
        "/connection/http_stream": "http_stream: true",
        "/connection/sse": "sse: true",
        "/connection/uni_sse": "uni_sse: true",
        "/connection/uni_http_stream": "uni_http_stream: true",
        "/connection/uni_websocket": "uni_websocket: true",
        "/emulation": "sse: true or http_stream: true",
      };
      for (const e of (t.http as Event[] | undefined) ?? []) {
        const path = String(e.http).split(" ")[1];
        if (keys[path]) {
          e.body = `Not Found: ${path} is turned off; set ${keys[path]} in the config to enable it`;
        }
      }
      return t;
    },
  },
  "uni-connect-error-terminal": {
    readme: "a unidirectional connection refused with an error that is not temporary (a connect proxy's " +
      "own code, say) ends with a disconnect that stops the client (3501 bad request; 3500, 3505 and 3508 " +
      "for 101, 106 and 108) — Centrifugo ends it with 3004 internal server error, so the client comes " +
      "back forever, and an error marked temporary gets 3004 either way",
    patch(t) {
      for (const c of connections(t)) {
        if (!c.transport.startsWith("uni_")) continue;
        for (const e of c.events) {
          const msg = e.msg as { disconnect?: { code: number; reason: string } } | undefined;
          const close = e.close as { code?: number; reason?: string } | undefined;
          for (const d of [msg?.disconnect, close]) {
            if (d?.code === 3004) Object.assign(d, { code: 3501, reason: "bad request" });
          }
        }
      }
      return t;
    },
  },
  "health-on-by-default": {
    readme: "`/health` is on unless `health: false` (Centrifugo serves it only with `health.enabled`)",
    patch(t) {
      for (const e of (t.http as Event[] | undefined) ?? []) {
        Object.assign(e, { status: 200, body: "{}", headers: { "content-type": "application/json" } });
      }
      return t;
    },
  },
  "health-broker-down": {
    readme:
      '`/health` answers 503 `{"status":"broker unavailable"}` while the broker is unreachable, so a load ' +
      "balancer sends clients elsewhere (Centrifugo keeps answering 200)",
    patch(t) {
      const after = (t.http as Event[])[1];
      Object.assign(after, { status: 503, body: '{"status":"broker unavailable"}' });
      return t;
    },
  },
  "foreign-origin-refused": {
    readme: "a request whose `Origin` is not in `allowed_origins` is refused with 403 on every HTTP " +
      "connection endpoint and on preflights (Centrifugo serves it and only leaves out the CORS headers)",
    patch(t) {
      const refused = { "content-type": "text/plain; charset=utf-8" };
      for (const c of connections(t)) {
        if (c.events[0]?.status === undefined) continue; // WebSocket: both refuse the upgrade
        delete (c as ConnRecord & { first_chunk?: string }).first_chunk; // a plain answer, not chunked
        c.events = [{ status: 403, headers: refused }, { body: "Forbidden: origin not allowed" }, {
          close: { ended: true },
        }];
      }
      for (const e of (t.http as Event[] | undefined) ?? []) {
        Object.assign(e, { status: 403, headers: refused, body: "Forbidden: origin not allowed" });
      }
      return t;
    },
  },
  "any-origin-no-credentials": {
    readme: 'with `allowed_origins: ["*"]` CORS is granted as `Access-Control-Allow-Origin: *` without ' +
      "credentials, so no page can ride a user's cookies (Centrifugo echoes the origin and allows credentials)",
    patch(t) {
      for (const h of headerSets(t)) {
        if (h["access-control-allow-origin"]) {
          h["access-control-allow-origin"] = "*";
          delete h["access-control-allow-credentials"];
        }
      }
      return t;
    },
  },
  "emulation-unknown-session": {
    readme: "an emulation request for a session that does not exist is answered 404, so SDK 5.8 reconnects " +
      "(Centrifugo answers 204 and the command is lost)",
    patch(t) {
      for (const e of (t.http as Event[] | undefined) ?? []) if (e.status === 204) e.status = 404;
      return t;
    },
  },
  "emulation-unidirectional": {
    readme:
      "a unidirectional session takes no commands through `/emulation`: 404 (Centrifugo runs them and " +
      "writes their replies into the unidirectional stream)",
    patch(t) {
      for (const e of (t.http as Event[] | undefined) ?? []) if (e.status === 204) e.status = 404;
      for (const c of connections(t)) {
        if (c.transport.startsWith("uni_")) {
          c.events = c.events.filter((e) => !(e.msg as { id?: number })?.id);
        }
      }
      return t;
    },
  },
  "emulation-malformed": {
    readme: "an emulation request whose `data` is not a string is refused with 400 (Centrifugo answers 204 " +
      "and drops it)",
    patch(t) {
      for (const e of (t.http as Event[] | undefined) ?? []) if (e.status === 204) e.status = 400;
      return t;
    },
  },
  "uni-sse-ping-event": {
    readme:
      "uni_sse pings are an event named `ping` with empty data (`event: ping`, `data:`), as Centrifugo's " +
      "documentation describes them (Centrifugo itself sends `data: {}`)",
    everywhere: true,
    patch(t) {
      for (const c of connections(t)) {
        if (c.transport !== "uni_sse") continue;
        c.events = c.events.map((e) => {
          const msg = e.msg as Record<string, unknown> | undefined;
          return msg && Object.keys(msg).length === 0 ? { sse: "event: ping\ndata:\n\n" } : e;
        });
      }
      return t;
    },
  },
  "slow-consumer-cut": {
    readme: "a connection whose queue overflows (3008) is cut at once, without what it had queued: an HTTP " +
      "stream is reset or ends without its last chunk (Centrifugo writes what it had queued, the message " +
      "that overflowed included, then ends the stream)",
    // What Centrifugo writes before the end races its close; the scenario leaves it out of both
    // transcripts (dropOverflow) and this pins the end itself.
    patch(t) {
      for (const c of connections(t)) {
        const end = c.events.findIndex((e) => (e.close as { ended?: boolean } | undefined)?.ended);
        if (end >= 0 && c.events[0]?.status === 200) {
          c.events.splice(end, 0, { read_error: "connection cut" });
        }
      }
      return t;
    },
  },
  "bun-message-too-big": {
    readme: "on Bun, a WebSocket message over the size limit is refused by Bun itself: close 1009 with the " +
      'reason "Received too big message" (Centrifugo, and Sluice on Deno, give no reason)',
    onlyOn: ["sluice-bun", "sluice-binary"],
    patch(t) {
      for (const c of connections(t)) {
        for (const e of c.events) {
          const close = e.close as { code?: number; reason?: string } | undefined;
          if (close?.code === 1009) close.reason = "Received too big message";
        }
      }
      return t;
    },
  },
  "api-subscribe-recovers": {
    readme: "server API `subscribe` with `recover_since` sends the recovered publications after the " +
      "subscribe push (Centrifugo works out the recovery but sends only the position)",
    patch(t) {
      for (const c of connections(t)) {
        const at = c.events.findIndex((e) =>
          (e.msg as { push?: { subscribe?: unknown } } | undefined)?.push?.subscribe
        );
        if (at < 0) continue;
        const push = (c.events[at].msg as { push: { channel: string; subscribe: { offset: number } } }).push;
        const recovered = (t.http as Array<{ api: string; body: { result: { offset?: number } } }>)
          .filter((e) => e.api === "publish").map((e) => e.body.result.offset ?? 0)
          .filter((offset) => offset > push.subscribe.offset);
        c.events.splice(
          at + 1,
          0,
          ...recovered.map((offset) => ({
            msg: { push: { channel: push.channel, pub: { data: { n: offset }, offset } } },
            ...("sse" in c.events[at] ? { sse: c.events[at].sse } : {}),
          })),
        );
      }
      return t;
    },
  },
  "api-internal-is-bad-request": {
    readme: "server API `history` reading backwards from offset 0 (`reverse` with `since.offset: 0`) and " +
      "`channels` with a `pattern` that does not compile are 107 bad request (Centrifugo answers 100 " +
      "internal server error)",
    patch(t) {
      for (const e of [...apiCalls(t, "history"), ...apiCalls(t, "channels")]) {
        if ((e.body.error as { code?: number } | undefined)?.code === 100) {
          e.body = { error: { code: 107, message: "bad request" } };
        }
      }
      return t;
    },
  },
  "api-subscribe-expired": {
    readme:
      "server API `subscribe` with an `expire_at` already past is 107 bad request and subscribes nobody " +
      "(Centrifugo answers 100 internal server error when the user is connected, `{}` when not)",
    patch(t) {
      for (const e of apiCalls(t, "subscribe")) {
        if ((e.body.error as { code?: number } | undefined)?.code === 100) {
          e.body = { error: { code: 107, message: "bad request" } };
        }
      }
      return t;
    },
  },
  "api-subscribe-twice": {
    readme:
      "server API `subscribe` of a connection already subscribed to the channel changes nothing and sends " +
      "nothing (Centrifugo subscribes it again: a second subscribe push, and a second join for a member already " +
      "there)",
    patch(t) {
      for (const c of connections(t)) {
        const subscribed = new Set<string>();
        const joined = new Set<string>();
        c.events = c.events.filter((e) => {
          const push = (e.msg as { push?: Record<string, unknown> } | undefined)?.push;
          if (!push || typeof push.channel !== "string") return true;
          if (push.subscribe) {
            if (subscribed.has(push.channel)) return false;
            subscribed.add(push.channel);
          } else if (push.join) {
            const key = `${push.channel} ${JSON.stringify(push.join)}`;
            if (joined.has(key)) return false;
            joined.add(key);
          }
          return true;
        });
      }
      return t;
    },
  },
  "sub-refresh-expired": {
    readme: "an expired token in `sub_refresh` closes the connection with 3005, so the SDK reconnects and " +
      "fetches a fresh subscription token (Centrifugo answers success and the subscription then never " +
      "expires)",
    patch(t) {
      for (const c of connections(t)) {
        const at = c.events.findIndex((e) => (e.msg as { sub_refresh?: unknown } | undefined)?.sub_refresh);
        if (at >= 0) c.events[at] = disconnectEvent(c.transport, 3005, "connection expired", c.events[at]);
      }
      return t;
    },
  },
  "cors-without-origin": {
    readme: "a request without an `Origin` header gets no CORS headers (Centrifugo answers an empty " +
      "`Access-Control-Allow-Origin` with credentials allowed)",
    everywhere: true,
    patch(t) {
      for (const h of headerSets(t)) {
        if (h["access-control-allow-origin"] === "") {
          delete h["access-control-allow-origin"];
          delete h["access-control-allow-credentials"];
        }
      }
      return t;
    },
  },
  "stream-labels": {
    readme: "streams carry the standard `Expires: 0` (Centrifugo writes `Expire: 0`), and `http_stream` / " +
      "`uni_http_stream` say `Content-Type: application/json` where Centrifugo sets none (Go's sniffing " +
      "then labels them `text/plain`)",
    everywhere: true,
    patch(t) {
      for (const c of connections(t)) {
        const h = c.events[0]?.headers as Record<string, string> | undefined;
        if (!h || c.events[0].status !== 200) continue;
        if ("expire" in h) {
          h.expires = h.expire;
          delete h.expire;
        }
        if (c.transport === "http_stream" || c.transport === "uni_http_stream") {
          h["content-type"] = "application/json";
        }
      }
      return t;
    },
  },
  "uni-sse-resume": {
    readme: "uni_sse starts with `retry:`, its events carry `id:` for `Last-Event-ID` resume, and every " +
      "channel with history is positioned there",
    everywhere: true,
    patch(t, profile) {
      let added = 0;
      for (const c of connections(t)) {
        if (c.transport !== "uni_sse" || c.events[0]?.status !== 200) continue;
        const at = c.events.findIndex((e) => "preamble" in e);
        c.events.splice(at + 1, 0, { sse: "retry: 1000\n\n" });
        // the preamble's chunk carries the retry line too
        const record = c as ConnRecord & { first_chunk?: string };
        if (record.first_chunk === "\r\n") record.first_chunk = "\r\nretry: 1000\n\n";
        for (const e of c.events) {
          const msg = e.msg as Record<string, unknown> | undefined;
          const subs =
            (msg?.connect as { subs?: Record<string, Record<string, unknown>> } | undefined)?.subs ?? {};
          if (msg?.subscribe && typeof msg.channel === "string") {
            subs[msg.channel] = msg.subscribe as Record<string, unknown>;
          }
          for (const [channel, sub] of Object.entries(subs)) {
            if (!sub.positioned && hasHistory(profile, channel)) {
              Object.assign(sub, { recoverable: true, positioned: true, epoch: `<epoch:new${++added}>` });
            }
          }
          // the connect push, a subscription with a position, every publication that moves one
          const positioned = msg &&
            (msg.connect || (msg.subscribe as { positioned?: boolean } | undefined)?.positioned ||
              (msg.pub as { offset?: number } | undefined)?.offset);
          if (positioned && typeof e.sse === "string") e.sse = "id: <id>\n" + e.sse;
        }
      }
      return t;
    },
  },
};

/** Centrifugo's transcript with every `everywhere` difference applied (but `except`). */
export function expectedEverywhere(t: Transcript, profile: Profile, except?: string): Transcript {
  for (const [id, d] of Object.entries(DIFFERENCES)) {
    if (d.everywhere && id !== except) t = d.patch(t, profile);
  }
  return t;
}

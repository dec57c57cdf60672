#!/usr/bin/env node
// SSE / WebSocket load client for bench/run.mjs: holds thousands of raw TCP connections (node:net),
// parses the HTTP response head, chunked transfer encoding (Bun, Deno) or a close-delimited body
// (nchan) and SSE incrementally — or, with `ws: true`, the 101 head and WebSocket frames (one
// message = one event) — and measures publish→receive latency from the `"t":<epoch ms>` in each.
//
//   node bench/load_client.mjs '<config JSON>'
//
// Config: { host, port, count, first = 0, path, groups = 1, token?, concurrency = 100,
//           progressMs = 1000, maxLifetimeMs = 600000, connectTimeoutMs = 30000, deferOpen = false, tag }
//   path: request path; `{i}` = global connection index (first + k), `{g}` = i % groups,
//         `{cf}` = URL-encoded `{"token": <JWT>}` (a unidirectional connect request),
//         `{cmd}` = URL-encoded `{"id":1,"connect":{"token": <JWT>}}` (bidirectional SSE's connect
//         command; its reply is the first event), `{token}` = the JWT itself.
//   token: { secret, sub: "u{i}", channels: ["u{i}", "g{g}"] } — an HS256 JWT per connection.
//
// Stdout: JSON lines — {"type":"hello"} once the requests are built, {"type":"progress",…} every
// progressMs, {"type":"opened",…} when every connection is ready or failed, {"type":"summary",…} on
// "report" and at the end. Stdin: lines "open", "report [id]", "reset", "interval <ms>", "close"
// (or JSON {"cmd":…,"id":…,"ms":…}). End of stdin = close. Never throws on network errors: they are
// counted. Exits by itself after maxLifetimeMs.
import net from "node:net";
import { createHmac } from "node:crypto";
import { performance } from "node:perf_hooks";
import { fstatSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";

const cfg = JSON.parse(process.argv[2] ?? "{}");
const HOST = cfg.host ?? "127.0.0.1";
const PORT = Number(cfg.port);
const COUNT = Number(cfg.count ?? 1);
const FIRST = Number(cfg.first ?? 0);
const GROUPS = Math.max(1, Number(cfg.groups ?? 1));
const CONCURRENCY = Math.max(1, Number(cfg.concurrency ?? 100));
const CONNECT_TIMEOUT = Number(cfg.connectTimeoutMs ?? 30_000);
const MAX_LIFETIME = Number(cfg.maxLifetimeMs ?? 600_000);
const TAG = cfg.tag ?? "w";
let progressMs = Number(cfg.progressMs ?? 1000);

const TIME_ORIGIN = performance.timeOrigin;
const now = () => TIME_ORIGIN + performance.now();

// ---------------------------------------------------------------------------------------------
// Histogram: fixed log buckets, 5% wide, from 10 µs to ~100 s. Values in milliseconds.
const H_MIN = 0.01;
const H_RATIO = 1.05;
const H_LOG = Math.log(H_RATIO);
const H_N = 340;

class Hist {
  constructor() {
    this.b = new Uint32Array(H_N);
    this.n = 0;
    this.sum = 0;
    this.max = 0;
    this.min = Infinity;
  }
  add(v) {
    let i = v <= H_MIN ? 0 : Math.floor(Math.log(v / H_MIN) / H_LOG) + 1;
    if (i >= H_N) i = H_N - 1;
    this.b[i]++;
    this.n++;
    this.sum += v;
    if (v > this.max) this.max = v;
    if (v < this.min) this.min = v;
  }
  reset() {
    this.b.fill(0);
    this.n = 0;
    this.sum = 0;
    this.max = 0;
    this.min = Infinity;
  }
  toJSON() {
    const sparse = [];
    for (let i = 0; i < H_N; i++) if (this.b[i] !== 0) sparse.push(i, this.b[i]);
    return { n: this.n, sum: this.sum, max: this.max, min: this.n ? this.min : 0, b: sparse };
  }
}

const lat = new Hist(); // publish → receive, per message event
const connectLat = new Hist(); // connect() called → first SSE block (event or comment)
const headLat = new Hist(); // connect() called → response head complete

// ---------------------------------------------------------------------------------------------
// Requests (built up front, so signing tokens is never inside a timed window).
const b64url = (s) => Buffer.from(s).toString("base64url");
const JWT_HEAD = b64url(JSON.stringify({ alg: "HS256", typ: "JWT" }));
const fill = (tpl, i) => tpl.replaceAll("{i}", String(i)).replaceAll("{g}", String(i % GROUPS));

function tokenFor(i) {
  const t = cfg.token;
  const claims = { sub: fill(t.sub ?? "u{i}", i) };
  if (t.channels) claims.channels = t.channels.map((c) => fill(c, i));
  const body = `${JWT_HEAD}.${b64url(JSON.stringify(claims))}`;
  return `${body}.${createHmac("sha256", t.secret).update(body).digest("base64url")}`;
}

function requestFor(i) {
  let path = fill(cfg.path, i);
  if (cfg.token) {
    const jwt = tokenFor(i);
    path = path
      .replace("{cf}", encodeURIComponent(JSON.stringify({ token: jwt })))
      .replace("{cmd}", encodeURIComponent(JSON.stringify({ id: 1, connect: { token: jwt } })))
      .replace("{token}", jwt);
  }
  if (cfg.ws) {
    const sub = cfg.protobuf ? "Sec-WebSocket-Protocol: centrifuge-protobuf\r\n" : "";
    const head =
      `GET ${path} HTTP/1.1\r\nHost: ${HOST}:${PORT}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n` +
      `${sub}Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: ${WS_KEY}\r\n\r\n`;
    if (cfg.protobuf) {
      // the connect command goes after the 101, as RFC 6455 has it (Centrifugo refuses a client
      // that sends data before the handshake is complete)
      const connect = PB.Command.encodeDelimited({ id: 1, connect: { token: tokenFor(i) } }).finish();
      connectFrames[i - FIRST] = maskedFrame(0x82, connect);
    }
    return head;
  }
  return `GET ${path} HTTP/1.1\r\nHost: ${HOST}:${PORT}\r\nAccept: text/event-stream\r\nCache-Control: no-cache\r\n\r\n`;
}

const WS_KEY = "dGhlIHNhbXBsZSBub25jZQ==";

// `protobuf: true` (with `ws`): Centrifugal's bidirectional protobuf protocol — a connect command
// after the 101, replies decoded with protobufjs from proto/client.proto, pings answered.
let PB;
if (cfg.protobuf) {
  const protobuf = createRequire(import.meta.url)("protobufjs");
  const root = protobuf.parse(readFileSync(new URL("../proto/client.proto", import.meta.url), "utf8"), {
    keepCase: true,
  }).root;
  const Command = root.lookupType("centrifugal.centrifuge.protocol.Command");
  const Reply = root.lookupType("centrifugal.centrifuge.protocol.Reply");
  PB = { Command, Reply, Reader: protobuf.Reader, pong: maskedFrame(0x82, Buffer.from([0])) };
}

/** A client frame (masked, as RFC 6455 requires of clients). */
function maskedFrame(opcode, payload) {
  const len = payload.length;
  const head = len < 126
    ? Buffer.from([opcode, 0x80 | len])
    : Buffer.from([opcode, 0x80 | 126, len >> 8, len & 255]);
  const mask = Buffer.from([1, 2, 3, 4]);
  const body = Buffer.allocUnsafe(len);
  for (let i = 0; i < len; i++) body[i] = payload[i] ^ mask[i & 3];
  return Buffer.concat([head, mask, body]);
}
const requests = new Array(COUNT);
const connectFrames = cfg.protobuf ? new Array(COUNT) : null;
for (let k = 0; k < COUNT; k++) requests[k] = requestFor(FIRST + k);

// ---------------------------------------------------------------------------------------------
// Counters
const st = {
  started: 0,
  ready: 0,
  failed: 0,
  closed: 0, // closed by the server (or by an error) after being ready
  events: 0, // SSE events with data
  msgs: 0, // events carrying a "t" timestamp
  beats: 0, // blocks after the first one without a timestamp (pings, comments, other pushes)
  bytes: 0,
  lastMsgAt: 0,
  firstStartAt: 0,
  lastReadyAt: 0,
};
const errors = {}; // error code → count
const statuses = {}; // HTTP status ≠ 200 → count
const countErr = (code) => (errors[code] = (errors[code] ?? 0) + 1);

// ---------------------------------------------------------------------------------------------
// Parsing
const CRLFCRLF = Buffer.from("\r\n\r\n");
const READ_BUF = Buffer.allocUnsafe(256 * 1024); // shared by every socket (onread is synchronous)

// chunked decoder states
const CS_SIZE = 0, CS_EXT = 1, CS_DATA = 2, CS_DATA_END = 3, CS_DONE = 4;

let pending = 0; // started, neither ready nor failed
let nextIndex = 0;
const conns = new Set();
let closing = false;

class Conn {
  constructor(k) {
    this.k = k;
    this.startAt = now();
    this.state = 0; // 0 head, 1 body, 2 done
    this.head = null; // partial head bytes
    this.chunked = false;
    this.cs = CS_SIZE;
    this.csize = 0;
    this.carry = null; // partial SSE line
    this.carryLen = 0;
    this.isReady = false;
    this.settled = false;
    this.blockData = false;
    this.blockAny = false;
    this.blockT = -1;
    this.timer = setTimeout(() => this.fail("timeout"), CONNECT_TIMEOUT);
    this.sock = net.connect({
      host: HOST,
      port: PORT,
      onread: { buffer: READ_BUF, callback: (n, buf) => this.onData(buf, n) },
    });
    this.sock.setNoDelay(true);
    this.sock.on("error", (err) => {
      countErr(err.code ?? "error");
      this.lost();
    });
    this.sock.on("close", () => this.lost());
    this.sock.on("end", () => this.lost());
    this.sock.write(requests[k]);
    requests[k] = undefined;
  }

  /** Ready or failed, once; counts before opening the next connection. */
  settle(ok, t) {
    if (this.settled) return;
    this.settled = true;
    clearTimeout(this.timer);
    pending--;
    if (ok) {
      st.ready++;
      st.lastReadyAt = t;
      connectLat.add(t - this.startAt);
    } else {
      st.failed++;
    }
    pump();
  }

  fail(reason) {
    if (this.settled) return;
    if (reason) countErr(reason);
    conns.delete(this);
    this.state = 2;
    this.sock.destroy();
    this.settle(false);
  }

  lost() {
    if (this.state === 2) return;
    if (!this.isReady) return this.fail(closing ? null : "closed_before_ready");
    this.state = 2;
    conns.delete(this);
    if (!closing) st.closed++;
    this.sock.destroy();
  }

  onData(buf, n) {
    if (this.state === 2) return;
    st.bytes += n;
    const t = now();
    let pos = 0;
    if (this.state === 0) {
      let data = buf, end = n;
      if (this.head) {
        this.head = Buffer.concat([this.head, buf.subarray(0, n)]);
        data = this.head;
        end = data.length;
      }
      const idx = data.indexOf(CRLFCRLF);
      if (idx < 0 || idx + 4 > end) {
        if (!this.head) this.head = Buffer.from(buf.subarray(0, n));
        if (this.head.length > 16384) this.fail("head_too_large");
        return;
      }
      const headText = data.toString("latin1", 0, idx);
      const status = Number(headText.slice(9, 12));
      if (status !== (cfg.ws ? 101 : 200)) {
        statuses[status] = (statuses[status] ?? 0) + 1;
        return this.fail(null);
      }
      this.chunked = /\r\ntransfer-encoding:[^\r]*chunked/i.test(headText);
      headLat.add(t - this.startAt);
      this.state = 1;
      if (connectFrames) {
        this.sock.write(connectFrames[this.k]);
        connectFrames[this.k] = undefined;
      }
      if (cfg.readyOnHead && !this.isReady) {
        this.isReady = true;
        this.settle(true, t);
      }
      if (this.head) {
        // rare: the head arrived in several reads; continue from a copy
        const rest = Buffer.from(data.subarray(idx + 4, end));
        this.head = null;
        this.body(rest, 0, rest.length, t);
        return;
      }
      pos = idx + 4;
    }
    this.body(buf, pos, n, t);
  }

  body(buf, pos, end, t) {
    if (cfg.ws) return this.frames(buf, pos, end, t);
    if (!this.chunked) return this.sse(buf, pos, end, t);
    while (pos < end && this.state === 1) {
      switch (this.cs) {
        case CS_SIZE: {
          const c = buf[pos++];
          if (c === 10) {
            if (this.csize === 0) this.cs = CS_DONE;
            else this.cs = CS_DATA;
          } else if (c === 59) this.cs = CS_EXT;
          else if (c !== 13) {
            const v = c <= 57 ? c - 48 : (c | 32) - 87;
            this.csize = this.csize * 16 + v;
          }
          break;
        }
        case CS_EXT:
          if (buf[pos++] === 10) this.cs = this.csize === 0 ? CS_DONE : CS_DATA;
          break;
        case CS_DATA: {
          const take = Math.min(this.csize, end - pos);
          this.sse(buf, pos, pos + take, t);
          pos += take;
          this.csize -= take;
          if (this.csize === 0) this.cs = CS_DATA_END;
          break;
        }
        case CS_DATA_END:
          if (buf[pos++] === 10) this.cs = CS_SIZE;
          break;
        case CS_DONE:
          return this.lost();
      }
    }
    if (this.cs === CS_DONE) this.lost();
  }

  sse(buf, pos, end, t) {
    while (pos < end) {
      const nl = buf.indexOf(10, pos);
      if (nl < 0 || nl >= end) {
        this.keep(buf, pos, end);
        return;
      }
      if (this.carryLen > 0) {
        this.keep(buf, pos, nl);
        this.line(this.carry, 0, this.carryLen, t);
        this.carryLen = 0;
      } else {
        this.line(buf, pos, nl, t);
      }
      pos = nl + 1;
    }
  }

  /**
   * WebSocket frames from the server (never masked): a 2–10 byte head, then the payload, which
   * is kept (like a partial SSE line) until complete. A text message is one event; a ping or
   * pong counts as a beat; a close frame ends the connection.
   */
  frames(buf, pos, end, t) {
    while (pos < end && this.state === 1) {
      if (this.wsNeed === undefined || this.wsNeed === 0 && this.wsHeadLen === 0) {
        // a new frame head: gather at least 2 bytes, then the extended length
        this.wsHead ??= Buffer.allocUnsafe(10);
        this.wsHeadLen = 0;
        this.wsNeed = -1;
      }
      if (this.wsNeed < 0) {
        this.wsHead[this.wsHeadLen++] = buf[pos++];
        if (this.wsHeadLen < 2) continue;
        const len7 = this.wsHead[1] & 127;
        const headLen = len7 === 126 ? 4 : len7 === 127 ? 10 : 2;
        if (this.wsHeadLen < headLen) continue;
        this.wsOp = this.wsHead[0] & 15;
        this.wsNeed = len7 === 126
          ? this.wsHead.readUInt16BE(2)
          : len7 === 127
          ? Number(this.wsHead.readBigUInt64BE(2))
          : len7;
        this.wsHeadLen = 0;
        this.carryLen = 0;
        if (this.wsNeed === 0) this.wsFrame(t);
        continue;
      }
      const take = Math.min(this.wsNeed, end - pos);
      this.keep(buf, pos, pos + take);
      pos += take;
      this.wsNeed -= take;
      if (this.wsNeed === 0) this.wsFrame(t);
    }
  }

  wsFrame(t) {
    const op = this.wsOp;
    const len = this.carryLen;
    this.carryLen = 0;
    this.wsNeed = undefined;
    if (op === 8) return this.lost(); // close
    if (op === 9) {
      // a frame ping: pong with its payload, as every WebSocket client does (Centrifugo's
      // uni_websocket closes a connection that does not answer within its pong timeout)
      this.sock.write(maskedFrame(0x8a, Buffer.from(this.carry ? this.carry.subarray(0, len) : [])));
      st.beats++;
      return;
    }
    if (PB && op === 2) return this.protobufReplies(len, t);
    if (op === 1 || op === 2 || op === 0) {
      this.blockAny = true;
      this.blockData = len > 3; // `{}` (plus a newline) is a ping
      if (this.carry && len > 0) this.blockT = findT(this.carry, 0, len);
      return this.dispatch(t);
    }
    st.beats++; // protocol ping/pong
  }

  /** A binary message of size-delimited protobuf replies: publications, pings, the connect reply. */
  protobufReplies(len, t) {
    const reader = PB.Reader.create(this.carry.subarray(0, len));
    while (reader.pos < reader.len) {
      const size = reader.uint32();
      const start = reader.pos;
      reader.skip(size);
      if (size === 0) {
        this.sock.write(PB.pong); // a ping: answer with an empty command
        st.beats++;
        continue;
      }
      const reply = PB.Reply.decode(this.carry.subarray(start, start + size));
      const data = reply.push?.pub?.data;
      this.blockAny = true;
      this.blockData = !!data;
      if (data) this.blockT = findT(data, 0, data.length);
      this.dispatch(t);
    }
  }

  keep(buf, from, to) {
    const len = to - from;
    if (len === 0) return;
    if (!this.carry || this.carry.length < this.carryLen + len) {
      const size = Math.max(256, (this.carryLen + len) * 2);
      if (size > 1 << 20) {
        countErr("line_too_long");
        this.carryLen = 0;
        return;
      }
      const next = Buffer.allocUnsafe(size);
      if (this.carry) this.carry.copy(next, 0, 0, this.carryLen);
      this.carry = next;
    }
    buf.copy(this.carry, this.carryLen, from, to);
    this.carryLen += len;
  }

  line(b, s, e, t) {
    if (e > s && b[e - 1] === 13) e--;
    if (s === e) return this.dispatch(t);
    const c = b[s];
    if (c === 58) { // ":" comment
      this.blockAny = true;
      return;
    }
    // "data" followed by ":" or end of line
    if (
      c === 100 && e - s >= 4 && b[s + 1] === 97 && b[s + 2] === 116 && b[s + 3] === 97 &&
      (e - s === 4 || b[s + 4] === 58)
    ) {
      this.blockAny = true;
      this.blockData = true;
      if (this.blockT < 0) this.blockT = findT(b, s + 5, e);
      return;
    }
    this.blockAny = true; // event:, id:, retry:, other fields
  }

  dispatch(t) {
    if (!this.blockAny) return; // a blank line alone (Sluice's preamble) is no event
    if (this.blockData) st.events++;
    if (this.blockT >= 0) {
      st.msgs++;
      st.lastMsgAt = t;
      lat.add(t - this.blockT);
    } else if (this.isReady) {
      st.beats++;
    }
    this.blockAny = false;
    this.blockData = false;
    this.blockT = -1;
    if (!this.isReady) {
      this.isReady = true;
      this.settle(true, t);
    }
  }
}

/** The number after the first `"t":` in b[s, e), or -1. A bounded scan: no allocation. */
function findT(b, s, e) {
  for (let i = s; i + 4 < e; i++) {
    if (b[i] === 34 && b[i + 1] === 116 && b[i + 2] === 34 && b[i + 3] === 58) return parseNum(b, i + 4, e);
  }
  return -1;
}

function parseNum(b, i, e) {
  while (i < e && b[i] === 32) i++;
  let v = 0;
  let any = false;
  for (; i < e; i++) {
    const c = b[i];
    if (c < 48 || c > 57) break;
    v = v * 10 + (c - 48);
    any = true;
  }
  if (i < e && b[i] === 46) {
    let scale = 0.1;
    for (i++; i < e; i++) {
      const c = b[i];
      if (c < 48 || c > 57) break;
      v += (c - 48) * scale;
      scale *= 0.1;
    }
  }
  return any ? v : -1;
}

// ---------------------------------------------------------------------------------------------
function pump() {
  if (!opened || closing) return;
  while (pending < CONCURRENCY && nextIndex < COUNT) {
    const k = nextIndex++;
    pending++;
    st.started++;
    if (st.firstStartAt === 0) st.firstStartAt = now();
    try {
      conns.add(new Conn(k));
    } catch (err) {
      pending--;
      st.failed++;
      countErr(err.code ?? "connect_throw");
    }
  }
  if (pending === 0 && nextIndex >= COUNT && !openedSent) emit("opened");
}

let opened = false;
let openedSent = false;

function snapshot(type) {
  return {
    type,
    tag: TAG,
    at: now(),
    count: COUNT,
    ...st,
    open: conns.size,
    pending,
    rssKB: Math.round(process.memoryUsage.rss() / 1024),
  };
}

function emit(type, extra) {
  if (type === "opened") {
    if (openedSent) return;
    openedSent = true;
  }
  const o = snapshot(type);
  if (type === "summary") {
    o.lat = lat.toJSON();
    o.connect = connectLat.toJSON();
    o.head = headLat.toJSON();
    o.errors = errors;
    o.statuses = statuses;
  }
  if (extra) Object.assign(o, extra);
  process.stdout.write(JSON.stringify(o) + "\n");
}

let progressTimer;
function setProgress(ms) {
  progressMs = ms;
  clearInterval(progressTimer);
  if (ms > 0) progressTimer = setInterval(() => emit("progress"), ms);
}

function open() {
  if (opened) return;
  opened = true;
  pump();
}

function reset() {
  st.events = 0;
  st.msgs = 0;
  st.beats = 0;
  st.bytes = 0;
  st.lastMsgAt = 0;
  lat.reset();
}

let exiting = false;
function closeAll(code = 0) {
  if (exiting) return;
  exiting = true;
  closing = true;
  clearInterval(progressTimer);
  for (const c of conns) {
    c.state = 2;
    clearTimeout(c.timer);
    c.sock.destroy();
  }
  conns.clear();
  emit("summary", { final: true });
  process.stdout.write("", () => process.exit(code));
}

function command(line) {
  line = line.trim();
  if (!line) return;
  let cmd, id, ms;
  if (line.startsWith("{")) {
    try {
      ({ cmd, id, ms } = JSON.parse(line));
    } catch {
      return;
    }
  } else {
    [cmd, id] = line.split(/\s+/);
    ms = Number(id);
  }
  switch (cmd) {
    case "open":
      return open();
    case "report":
      return emit("summary", { id });
    case "reset":
      reset();
      return emit("reset", { id });
    case "interval":
      return setProgress(Number(ms));
    case "close":
      return closeAll(0);
  }
}

let stdinBuf = "";
process.stdin.setEncoding("utf8");
process.stdin.on("data", (d) => {
  stdinBuf += d;
  let nl;
  while ((nl = stdinBuf.indexOf("\n")) >= 0) {
    const line = stdinBuf.slice(0, nl);
    stdinBuf = stdinBuf.slice(nl + 1);
    command(line);
  }
});
// A parent that goes away closes our stdin: stop then. (Run by hand with stdin on /dev/null or a
// terminal, the worker lives until "close", a signal or maxLifetimeMs.)
const stdinStat = fstatSync(0);
if (stdinStat.isFIFO() || stdinStat.isSocket()) process.stdin.on("end", () => closeAll(0));
process.on("SIGTERM", () => closeAll(0));
process.on("SIGINT", () => closeAll(0));
process.stdout.on("error", () => process.exit(0)); // parent went away
setTimeout(() => {
  countErr("max_lifetime");
  closeAll(0);
}, MAX_LIFETIME);

setProgress(progressMs);
emit("hello");
if (!cfg.deferOpen) open();

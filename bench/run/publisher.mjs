// Publishing from the bench process: keep-alive HTTP/1.1 on raw sockets (Node's http client was
// the bottleneck), a fixed-rate schedule or a burst; each message carries its send time.
import net from "node:net";
import { PAD } from "./options.mjs";
import { now, sleep } from "./processes.mjs";

/**
 * One keep-alive HTTP/1.1 connection on a raw socket, one request at a time. Node's `http` client
 * costs ~0.3 ms of CPU per request on this kind of machine and became the bottleneck; this is a few
 * times cheaper. Answers must carry Content-Length (or be chunked); that is true of all three servers.
 */
export class RawHttpConn {
  constructor(port) {
    this.port = port;
    this.sock = null;
    this.buf = null;
    this.current = null; // { resolve, sentOnReused }
  }
  connect() {
    this.buf = null;
    this.sock = net.connect({ host: "127.0.0.1", port: this.port });
    this.sock.setNoDelay(true);
    this.sock.on("data", (d) => this.onData(d));
    const dead = (err) => {
      this.sock = null;
      const cur = this.current;
      this.current = null;
      cur?.resolve({
        status: 0,
        body: "",
        error: err?.message ?? "connection closed",
        retry: cur.reused && !this.buf,
      });
    };
    this.sock.on("error", dead);
    this.sock.on("close", () => dead());
  }
  request(text) {
    const reused = this.sock !== null;
    if (!reused) this.connect();
    return new Promise((resolve) => {
      this.current = { resolve, reused };
      this.sock.write(text);
    });
  }
  onData(d) {
    this.buf = this.buf ? Buffer.concat([this.buf, d]) : d;
    const end = this.buf.indexOf("\r\n\r\n");
    if (end < 0) return;
    const head = this.buf.toString("latin1", 0, end);
    const status = Number(head.slice(9, 12));
    const cl = /\r\ncontent-length:\s*(\d+)/i.exec(head);
    let bodyEnd, body;
    if (cl) {
      bodyEnd = end + 4 + Number(cl[1]);
      if (this.buf.length < bodyEnd) return;
      body = this.buf.toString("utf8", end + 4, bodyEnd);
    } else if (/\r\ntransfer-encoding:\s*chunked/i.test(head)) {
      const z = this.buf.indexOf("\r\n0\r\n\r\n", end + 2);
      if (z < 0) return;
      bodyEnd = z + 7;
      body = this.buf.toString("utf8", end + 4, z); // chunk sizes included; only used in error messages
    } else {
      bodyEnd = end + 4;
      body = "";
    }
    this.buf = this.buf.length > bodyEnd ? this.buf.subarray(bodyEnd) : null;
    const cur = this.current;
    this.current = null;
    if (/\r\nconnection:\s*close/i.test(head)) {
      this.sock?.destroy();
      this.sock = null;
    }
    cur?.resolve({ status, body });
  }
  close() {
    this.sock?.destroy();
    this.sock = null;
  }
}

export class Publisher {
  constructor(server, sockets = 8) {
    this.server = server;
    this.free = Array.from({ length: sockets }, () => new RawHttpConn(server.port));
    this.all = this.free.slice();
    this.queue = [];
    this.errors = 0;
    this.sent = 0;
    this.lastError = "";
  }
  /** Publishes one message stamped now (when it is scheduled, even if it waits for a free socket). */
  publish(channel) {
    const payload = `{"t":${now().toFixed(3)},"p":"${PAD}"}`;
    const r = this.server.pub(channel, payload);
    let text = `POST ${r.path} HTTP/1.1\r\nHost: 127.0.0.1:${this.server.port}\r\nContent-Length: ${
      Buffer.byteLength(r.body)
    }\r\n`;
    for (const [k, v] of Object.entries(r.headers)) text += `${k}: ${v}\r\n`;
    text += `\r\n${r.body}`;
    this.sent++;
    return new Promise((resolve) => {
      this.queue.push({ text, resolve });
      this.pump();
    });
  }
  pump() {
    while (this.free.length && this.queue.length) {
      const conn = this.free.pop();
      const job = this.queue.shift();
      this.run(conn, job);
    }
  }
  async run(conn, job) {
    let res = await conn.request(job.text);
    if (res.retry) res = await conn.request(job.text); // the server closed an idle keep-alive socket
    const ok = res.status >= 200 && res.status < 300 && !res.body.startsWith('{"error"');
    if (!ok) {
      this.errors++;
      this.lastError = res.error ?? `${res.status} ${res.body.slice(0, 200)}`;
    }
    this.free.push(conn);
    this.pump();
    job.resolve(ok);
  }
  /** `rate` publishes per second for `seconds`, on a fixed schedule (late answers do not delay the next). */
  async atRate(rate, seconds, pick) {
    const total = Math.round(rate * seconds);
    const gap = 1000 / rate;
    const t0 = now();
    const inflight = [];
    for (let k = 0; k < total; k++) {
      const due = t0 + k * gap;
      const wait = due - now();
      if (wait > 1) await sleep(wait);
      inflight.push(this.publish(pick(k)));
    }
    await Promise.all(inflight);
    return { published: total, seconds: (now() - t0) / 1000 };
  }
  /** `total` publishes as fast as the server answers, `concurrency` in flight. */
  async burst(total, concurrency, pick) {
    let k = 0;
    const t0 = now();
    await Promise.all(Array.from({ length: concurrency }, async () => {
      while (k < total) await this.publish(pick(k++));
    }));
    return { published: total, seconds: (now() - t0) / 1000, t0 };
  }
  close() {
    for (const c of this.all) c.close();
  }
}

// Opens `count` uni_http_stream connections, waits for each connect push, then resets the
// connection (RST, no FIN). Run by Node (`node reset_cycles.mjs <port> <count> <body>`): its
// socket.resetAndDestroy() really sends a reset, which is what the test needs.
import net from "node:net";

const [port, count, body] = [Number(process.argv[2]), Number(process.argv[3]), process.argv[4]];
const request = `POST /connection/uni_http_stream HTTP/1.1\r\nHost: x\r\nContent-Length: ${
  Buffer.byteLength(body)
}\r\n\r\n${body}`;
let failed = 0;
const cycle = () =>
  new Promise((resolve) => {
    const sock = net.connect(port, "127.0.0.1", () => sock.write(request));
    sock.on("data", (d) => {
      if (d.toString().includes('"connect"')) {
        sock.resetAndDestroy();
        resolve();
      }
    });
    const fail = () => {
      failed++;
      resolve();
    };
    sock.on("error", fail);
    sock.on("end", fail);
  });
let next = 0;
await Promise.all(Array.from({ length: 32 }, async () => {
  while (next++ < count) await cycle();
}));
console.log(JSON.stringify({ count, failed }));

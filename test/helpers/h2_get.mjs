#!/usr/bin/env node
// An HTTP/2 GET over TLS (the server's certificate is not checked), run with Node by the TLS test.
// Prints `status <code> <body>`; exits 1 when the server does not speak HTTP/2.
//
//   node test/helpers/h2_get.mjs <port> <path>
import http2 from "node:http2";

const [port, path] = process.argv.slice(2);
const session = http2.connect(`https://127.0.0.1:${port}`, { rejectUnauthorized: false });
session.on("error", (err) => {
  console.log(`error ${err.message}`);
  process.exit(1);
});
const req = session.request({ ":path": path });
let status = 0;
let body = "";
req.on("response", (headers) => (status = headers[":status"]));
req.on("data", (d) => (body += d));
req.on("error", (err) => {
  console.log(`error ${err.message}`);
  process.exit(1);
});
req.on("end", () => {
  console.log(`status ${status} ${body.trim()}`);
  session.close();
});

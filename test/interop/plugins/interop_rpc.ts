/**
 * The RPC the interop suites call, answered by a Sluice plugin (Centrifugo, the control target,
 * answers the same through its RPC proxy: `test/interop/rpc_backend.ts`).
 *   method "echo": `{ "echo": <data>, "user": <the caller's user id> }`
 *   method "fail": error 4001 "rpc failed on purpose"
 *   any other: no answer, so the client gets error 104 (method not found)
 */
import { ClientError, definePlugin } from "sluice";

export default definePlugin({
  name: "interop_rpc",
  onRpc(event) {
    if (event.method === "echo") return { data: { echo: event.data, user: event.client.user } };
    if (event.method === "fail") throw new ClientError(4001, "rpc failed on purpose");
    return undefined;
  },
});

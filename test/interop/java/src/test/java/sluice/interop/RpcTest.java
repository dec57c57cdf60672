package sluice.interop;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import io.github.centrifugal.centrifuge.RPCResult;
import io.github.centrifugal.centrifuge.ReplyError;
import org.junit.jupiter.api.Test;

/**
 * The RPC the runner's server answers (a plugin in Sluice, the RPC proxy in Centrifugo): `echo`
 * returns the data and the caller's user, `fail` is error 4001, anything else 104.
 */
class RpcTest extends Interop {
  @Test
  void rpcEcho() {
    String user = user("u");
    Recorder r = connected(user);
    JsonNode data = JSON.createObjectNode().put("n", 42).put("s", "ping");
    RPCResult res = call("rpc echo", (cb) -> r.client.rpc("echo", bytes(data), cb));
    JsonNode got = parse(res.getData());
    assertEquals(data, got.path("echo"));
    assertEquals(user, got.path("user").asText());
  }

  @Test
  void rpcError() {
    Recorder r = connected(user("u"));
    ReplyError e = callError("rpc fail", (cb) -> r.client.rpc("fail", "{}".getBytes(), cb));
    assertEquals(4001, e.getCode(), describe(e));
    // The connection survives an application error.
    RPCResult ok = call("rpc echo after", (cb) -> r.client.rpc("echo", "{}".getBytes(), cb));
    assertEquals(JSON.createObjectNode(), parse(ok.getData()).path("echo"));
  }

  @Test
  void rpcUnknownMethod() {
    Recorder r = connected(user("u"));
    ReplyError e = callError("rpc nope", (cb) -> r.client.rpc("nope", "{}".getBytes(), cb));
    assertEquals(104, e.getCode(), describe(e));
  }
}

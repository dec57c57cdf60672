package sluice.interop;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.auth0.jwt.JWT;
import com.auth0.jwt.algorithms.Algorithm;
import com.fasterxml.jackson.databind.JsonNode;
import io.github.centrifugal.centrifuge.ClientInfo;
import io.github.centrifugal.centrifuge.ClientState;
import io.github.centrifugal.centrifuge.ConnectedEvent;
import io.github.centrifugal.centrifuge.DisconnectedEvent;
import io.github.centrifugal.centrifuge.PresenceResult;
import java.time.Instant;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Connecting with a connection token (HS256, the way a backend signs one). */
class ConnectTest extends Interop {
  @Test
  void connectsWithToken() {
    String user = user("u");
    Recorder r =
        client(sign(connectionClaims(user, 600).withClaim("info", Map.of("name", "Ada"))));
    r.client.connect();
    ConnectedEvent connected = r.connected.next();
    assertFalse(connected.getClient().isEmpty(), "the connect reply names the client");
    assertEquals(ClientState.CONNECTED, r.client.getState());

    // The server knows this connection as the token's user, with the token's info: the presence
    // entry of a channel it joins says so, under the client id the connect reply gave.
    String ch = channel("", "who");
    SubRecorder s = subscribed(r, ch);
    PresenceResult p = call("presence", s.sub::presence);
    ClientInfo me = p.getClients().get(connected.getClient());
    assertNotNull(me, "presence has the connected client: " + p.getClients().keySet());
    assertEquals(user, me.getUser());
    assertEquals(connected.getClient(), me.getClient());
    assertEquals(JSON.createObjectNode().put("name", "Ada"), parse(me.getConnInfo()));

    // ... and the server API sees the same.
    JsonNode apiPresence = api("presence", obj("channel", ch)).path("presence");
    assertEquals(user, apiPresence.path(connected.getClient()).path("user").asText());
  }

  @Test
  void invalidTokenIsRefusedForGood() {
    // Signed with another key: a permanent refusal (3500, no reconnect), not a retry loop.
    String bad =
        JWT.create()
            .withSubject(user("u"))
            .withExpiresAt(Instant.now().plusSeconds(600))
            .sign(Algorithm.HMAC256("not-the-server-secret-0123456789abcdef"));
    Recorder r = client(bad);
    r.client.connect();
    DisconnectedEvent d = r.disconnected.next();
    assertEquals(3500, d.getCode(), "disconnect code, reason " + d.getReason());
    assertEquals(ClientState.DISCONNECTED, r.client.getState());
    assertTrue(r.connected.drain().isEmpty(), "never connected");
  }

  @Test
  void apiDisconnectWithoutReconnect() {
    String user = user("u");
    Recorder r = connected(user);
    // 4500–4999: the SDK stays disconnected and reports the server's code and reason.
    api(
        "disconnect",
        obj("user", user).putPOJO("disconnect", Map.of("code", 4501, "reason", "banned for a test")));
    DisconnectedEvent d = r.disconnected.next();
    assertEquals(4501, d.getCode());
    assertEquals("banned for a test", d.getReason());
    sleep(500);
    assertEquals(ClientState.DISCONNECTED, r.client.getState());
    assertTrue(r.connected.drain().isEmpty(), "no reconnect");
  }
}

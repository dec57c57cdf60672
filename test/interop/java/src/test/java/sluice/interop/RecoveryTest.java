package sluice.interop;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.centrifugal.centrifuge.ClientState;
import io.github.centrifugal.centrifuge.ConnectingEvent;
import io.github.centrifugal.centrifuge.Options;
import io.github.centrifugal.centrifuge.PublicationEvent;
import io.github.centrifugal.centrifuge.ServerPublicationEvent;
import io.github.centrifugal.centrifuge.ServerSubscribedEvent;
import io.github.centrifugal.centrifuge.SubscribedEvent;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The server API disconnects the user with a code that asks the SDK to reconnect; what is published
 * while it is away reaches it after the reconnect, in order, with `recovered`.
 */
class RecoveryTest extends Interop {
  /** A reconnect code in the range the SDK reconnects after (4000–4499). */
  static final int RECONNECT_CODE = 4100;

  /** A reconnect delay long enough to publish while the client is away (the SDK adds jitter). */
  static Options awayOptions(String token) {
    Options opts = new Options();
    opts.setToken(token);
    opts.setMinReconnectDelay(1500);
    opts.setMaxReconnectDelay(3000);
    return opts;
  }

  void forceReconnect(Recorder r, String user) {
    api(
        "disconnect",
        obj("user", user)
            .putPOJO("disconnect", Map.of("code", RECONNECT_CODE, "reason", "go away and come back")));
    ConnectingEvent away = r.connecting.next();
    assertEquals(RECONNECT_CODE, away.getCode(), "reconnect reason: " + away.getReason());
  }

  @Test
  void recoversAfterForcedReconnect() {
    String user = user("u");
    Recorder r = client(awayOptions(connectionToken(user)));
    r.client.connect();
    r.connecting.next(); // "connect called"
    r.connected.next();
    String ch = channel("stream", "missed");
    SubRecorder s = subscribed(r, ch);

    apiPublish(ch, obj("i", 1));
    apiPublish(ch, obj("i", 2));
    assertEquals(1, s.publications.next().getOffset());
    assertEquals(2, s.publications.next().getOffset());

    forceReconnect(r, user);
    for (int i = 3; i <= 5; i++) apiPublish(ch, obj("i", i));
    // Published while away (else this test proves nothing about recovery).
    assertNotEquals(ClientState.CONNECTED, r.client.getState(), "client already back");

    r.connected.next();
    SubscribedEvent again = s.subscribed.next();
    assertEquals(Boolean.TRUE, again.wasRecovering(), "resubscribed with recover");
    assertEquals(Boolean.TRUE, again.getRecovered(), "recovered");
    for (int i = 3; i <= 5; i++) {
      PublicationEvent p = s.publications.next();
      assertEquals(i, p.getOffset());
      assertEquals(i, parse(p.getData()).path("i").asInt());
    }
    // Nothing twice, nothing more; and live delivery goes on from there.
    apiPublish(ch, obj("i", 6));
    PublicationEvent live = s.publications.next();
    assertEquals(6, live.getOffset());
    assertTrue(s.publications.drain().isEmpty(), "no duplicates");
  }

  @Test
  void serverSideSubscriptionRecovers() {
    String user = user("u");
    String ch = channel("", "srvmissed");
    Recorder r =
        client(awayOptions(sign(connectionClaims(user, 600).withClaim("channels", List.of(ch)))));
    r.client.connect();
    r.connecting.next();
    r.connected.next();
    ServerSubscribedEvent first = r.serverSubscribed.next();
    assertEquals(ch, first.getChannel());
    assertEquals(Boolean.TRUE, first.getRecoverable());

    apiPublish(ch, obj("i", 1));
    assertEquals(1, r.serverPublications.next().getOffset());

    forceReconnect(r, user);
    apiPublish(ch, obj("i", 2));
    apiPublish(ch, obj("i", 3));
    assertNotEquals(ClientState.CONNECTED, r.client.getState(), "client already back");

    r.connected.next();
    ServerSubscribedEvent again = r.serverSubscribed.next();
    assertEquals(ch, again.getChannel());
    assertEquals(Boolean.TRUE, again.wasRecovering());
    assertEquals(Boolean.TRUE, again.getRecovered());
    for (int i = 2; i <= 3; i++) {
      ServerPublicationEvent p = r.serverPublications.next();
      assertEquals(ch, p.getChannel());
      assertEquals(i, p.getOffset());
      assertEquals(i, parse(p.getData()).path("i").asInt());
    }
  }
}

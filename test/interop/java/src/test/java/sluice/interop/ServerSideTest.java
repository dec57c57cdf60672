package sluice.interop;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.centrifugal.centrifuge.ServerPublicationEvent;
import io.github.centrifugal.centrifuge.ServerSubscribedEvent;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/** Subscriptions the server makes for the client: from the token, and from the server API. */
class ServerSideTest extends Interop {
  @Test
  void tokenChannelsClaim() {
    String ch1 = channel("", "srv1");
    String ch2 = channel("stream", "srv2");
    Recorder r = client(sign(connectionClaims(user("u"), 600).withClaim("channels", List.of(ch1, ch2))));
    r.client.connect();
    r.connected.next();
    ServerSubscribedEvent a = r.serverSubscribed.next();
    ServerSubscribedEvent b = r.serverSubscribed.next();
    assertEquals(Set.of(ch1, ch2), Set.of(a.getChannel(), b.getChannel()));

    long off1 = apiPublish(ch1, obj("to", 1));
    long off2 = apiPublish(ch2, obj("to", 2));
    ServerPublicationEvent p1 = r.serverPublications.next();
    ServerPublicationEvent p2 = r.serverPublications.next();
    if (!p1.getChannel().equals(ch1)) {
      ServerPublicationEvent t = p1;
      p1 = p2;
      p2 = t;
    }
    assertEquals(ch1, p1.getChannel());
    assertEquals(1, parse(p1.getData()).path("to").asInt());
    assertEquals(off1, p1.getOffset());
    assertEquals(ch2, p2.getChannel());
    assertEquals(2, parse(p2.getData()).path("to").asInt());
    assertEquals(off2, p2.getOffset());
  }

  @Test
  void apiSubscribeAndUnsubscribe() {
    String user = user("u");
    Recorder r = connected(user);
    String ch = channel("", "dyn");
    api("subscribe", obj("user", user).put("channel", ch).putPOJO("data", obj("welcome", true)));
    ServerSubscribedEvent sub = r.serverSubscribed.next();
    assertEquals(ch, sub.getChannel());
    assertEquals(obj("welcome", true), parse(sub.getData()));

    apiPublish(ch, obj("text", "pushed"));
    ServerPublicationEvent p = r.serverPublications.next();
    assertEquals(ch, p.getChannel());
    assertEquals("{\"text\":\"pushed\"}", new String(p.getData(), StandardCharsets.UTF_8));

    api("unsubscribe", obj("user", user).put("channel", ch));
    assertEquals(ch, r.serverUnsubscribed.next().getChannel());
    // An unsubscribe push, not a reconnect: the SDK also reports a server-side subscription as
    // unsubscribed when a new connection comes back without it, so check it stayed connected.
    sleep(500);
    assertEquals(
        List.of("connect called"),
        r.connecting.drain().stream().map(e -> e.getReason()).collect(Collectors.toList()),
        "connecting events");
    assertTrue(r.connected.drain().isEmpty(), "no second connect");
    assertTrue(r.isConnected());
  }
}

package sluice.interop;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.github.centrifugal.centrifuge.JoinEvent;
import io.github.centrifugal.centrifuge.LeaveEvent;
import io.github.centrifugal.centrifuge.PublicationEvent;
import io.github.centrifugal.centrifuge.ReplyError;
import io.github.centrifugal.centrifuge.SubscribedEvent;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Subscribing, publications from the server API and from clients, join and leave. */
class PubSubTest extends Interop {
  @Test
  void receivesApiPublications() {
    Recorder r = connected(user("u"));
    String ch = channel("", "feed");
    SubRecorder s = subscribed(r, ch);

    List<Long> offsets = new ArrayList<>();
    List<String> sent = new ArrayList<>();
    for (int i = 1; i <= 3; i++) {
      String text = "{\"n\":" + i + ",\"text\":\"hello " + i + "\"}";
      sent.add(text);
      offsets.add(apiPublish(ch, parse(text.getBytes(StandardCharsets.UTF_8))));
    }
    // The channel keeps history, so the API gives each publication the next offset.
    assertEquals(List.of(1L, 2L, 3L), offsets);
    for (int i = 0; i < 3; i++) {
      PublicationEvent p = s.publications.next();
      // Compact JSON in, the same bytes out: the protobuf client gets the payload as it was sent.
      assertEquals(sent.get(i), new String(p.getData(), StandardCharsets.UTF_8));
      assertEquals(offsets.get(i), p.getOffset());
    }
  }

  @Test
  void subscribeReplyTellsRecoverable() {
    Recorder r = connected(user("u"));
    SubRecorder s = new SubRecorder();
    try {
      s.sub = r.client.newSubscription(channel("stream", "pos"), s);
    } catch (Exception e) {
      throw new AssertionError(e);
    }
    s.sub.subscribe();
    SubscribedEvent e = s.subscribed.next();
    // `stream` forces recovery: the reply says the subscription is recoverable and gives a position.
    assertEquals(Boolean.TRUE, e.getRecoverable());
    assertNotNull(e.getStreamPosition());
    assertEquals(Boolean.FALSE, e.wasRecovering());
  }

  @Test
  void clientPublishReachesSubscribers() {
    String pubUser = user("pub");
    Recorder publisher = connected(pubUser);
    Recorder reader = connected(user("reader"));
    String ch = channel("", "chat");
    SubRecorder ps = subscribed(publisher, ch);
    SubRecorder rs = subscribed(reader, ch);

    JsonNode json = JSON.createObjectNode().put("text", "hi").put("n", 7);
    publish(ps.sub, bytes(json));
    PublicationEvent got = rs.publications.next();
    assertEquals(json, parse(got.getData()));
    assertNotNull(got.getInfo(), "a client's publication carries its info");
    assertEquals(pubUser, got.getInfo().getUser());
    assertEquals(publisher.clientId, got.getInfo().getClient());
    assertTrue(got.getOffset() > 0, "offset in a channel with history");

    // Protobuf clients may publish any bytes: they arrive unchanged (no JSON in between).
    byte[] binary = {0, (byte) 0xff, 0x10, 0x7f, (byte) 0x80, 0};
    publish(ps.sub, binary);
    PublicationEvent bin = rs.publications.next();
    assertArrayEquals(binary, bin.getData());
    assertEquals(got.getOffset() + 1, bin.getOffset());

    // The publisher is subscribed too and gets both.
    assertEquals(json, parse(ps.publications.next().getData()));
    assertArrayEquals(binary, ps.publications.next().getData());
  }

  @Test
  void publishWithoutPermissionIsRefused() {
    Recorder r = connected(user("u"));
    // `stream` lets clients subscribe but not publish.
    SubRecorder s = subscribed(r, channel("stream", "ro"));
    ReplyError e = callError("publish", (cb) -> s.sub.publish("{}".getBytes(), cb));
    assertEquals(103, e.getCode(), "permission denied; got " + describe(e));
  }

  @Test
  void joinAndLeave() {
    Recorder a = connected(user("a"));
    String bUser = user("b");
    Recorder b = connected(bUser);
    String ch = channel("", "room");
    SubRecorder as = subscribed(a, ch);

    SubRecorder bs = subscribed(b, ch);
    JoinEvent join = nextJoinOf(as, bUser);
    assertEquals(b.clientId, join.getInfo().getClient());

    b.client.removeSubscription(bs.sub);
    bs.unsubscribed.next();
    LeaveEvent leave;
    do {
      leave = as.leaves.next();
    } while (!bUser.equals(leave.getInfo().getUser()));
    assertEquals(b.clientId, leave.getInfo().getClient());
  }

  /** Joins are pushed to everyone in the channel (the joiner too): skip any but `user`'s. */
  static JoinEvent nextJoinOf(SubRecorder s, String user) {
    JoinEvent e;
    do {
      e = s.joins.next();
    } while (!user.equals(e.getInfo().getUser()));
    return e;
  }

  @Test
  void apiUnsubscribeEndsClientSubscription() {
    String user = user("u");
    Recorder r = connected(user);
    String ch = channel("", "kicked");
    SubRecorder s = subscribed(r, ch);
    api("unsubscribe", obj("user", user).put("channel", ch));
    // The server's unsubscribe code (2000: below 2500, so the SDK does not resubscribe).
    assertEquals(2000, s.unsubscribed.next().getCode());
    sleep(300);
    assertEquals(io.github.centrifugal.centrifuge.SubscriptionState.UNSUBSCRIBED, s.sub.getState());
    assertTrue(s.subscribed.drain().isEmpty(), "not resubscribed");
    assertTrue(r.isConnected(), "the connection stays");
  }
}

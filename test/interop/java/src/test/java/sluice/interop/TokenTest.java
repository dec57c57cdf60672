package sluice.interop;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.centrifugal.centrifuge.ConnectionTokenEvent;
import io.github.centrifugal.centrifuge.ConnectionTokenGetter;
import io.github.centrifugal.centrifuge.Options;
import io.github.centrifugal.centrifuge.PublicationEvent;
import io.github.centrifugal.centrifuge.ReplyError;
import io.github.centrifugal.centrifuge.SubscriptionOptions;
import io.github.centrifugal.centrifuge.SubscriptionState;
import io.github.centrifugal.centrifuge.SubscriptionSubscribeError;
import io.github.centrifugal.centrifuge.SubscriptionTokenEvent;
import io.github.centrifugal.centrifuge.SubscriptionTokenGetter;
import io.github.centrifugal.centrifuge.TokenCallback;
import io.github.centrifugal.centrifuge.UnsubscribedEvent;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * Tokens that expire: the SDK asks the application's token getter for a new one (connection and
 * subscription), and subscription tokens for a namespace clients may not join on their own.
 */
class TokenTest extends Interop {
  /** Long enough for connect and subscribe on a busy machine, short enough to refresh soon. */
  static final long SHORT_TTL = 3;

  @Test
  void connectionTokenRefreshedThroughGetter() {
    String user = user("u");
    AtomicInteger calls = new AtomicInteger();
    Options opts = new Options();
    // No initial token: the SDK asks the getter at connect, then again when the token expires. Each
    // token carries its own `info`, so what the server uses after the refresh is visible in the
    // client info of the client's own publications.
    opts.setTokenGetter(
        new ConnectionTokenGetter() {
          @Override
          public void getConnectionToken(ConnectionTokenEvent event, TokenCallback cb) {
            int n = calls.incrementAndGet();
            long ttl = n == 1 ? SHORT_TTL : 600;
            cb.Done(null, sign(connectionClaims(user, ttl).withClaim("info", Map.of("v", n))));
          }
        });
    Recorder r = client(opts);
    r.client.connect();
    r.connected.next();
    String ch = channel("", "refresh");
    SubRecorder s = subscribed(r, ch);

    assertEquals(1, parse(publishAndReceive(s).getInfo().getConnInfo()).path("v").asInt());
    eventually("the SDK's second token request", () -> calls.get() >= 2);
    eventually(
        "publications with the refreshed token's info",
        () -> parse(publishAndReceive(s).getInfo().getConnInfo()).path("v").asInt() == 2);
    // Refreshed in place: no reconnect, no error.
    assertTrue(r.isConnected());
    assertEquals(1, r.connecting.drain().size(), "only the first connect");
    assertTrue(r.errors.drain().isEmpty(), "no client errors");
  }

  @Test
  void expiredConnectionTokenAtConnect() {
    String user = user("u");
    AtomicInteger calls = new AtomicInteger();
    Options opts = new Options();
    opts.setToken(sign(connectionClaims(user, -60))); // expired a minute ago
    opts.setTokenGetter(
        new ConnectionTokenGetter() {
          @Override
          public void getConnectionToken(ConnectionTokenEvent event, TokenCallback cb) {
            calls.incrementAndGet();
            cb.Done(null, connectionToken(user));
          }
        });
    Recorder r = client(opts);
    r.client.connect();
    // The server answers 109 (token expired); the SDK gets a new token and connects with it.
    Throwable err = r.errors.next();
    assertTrue(err instanceof ReplyError, "a server error: " + err);
    assertEquals(109, ((ReplyError) err).getCode(), describe(err));
    r.connected.next();
    assertEquals(1, calls.get());
  }

  @Test
  void subscriptionTokenRequired() {
    String user = user("u");
    Recorder r = connected(user);

    // Without a token the `secure` namespace refuses.
    SubRecorder denied = new SubRecorder();
    try {
      denied.sub = r.client.newSubscription(channel("secure", "closed"), denied);
    } catch (Exception e) {
      throw new AssertionError(e);
    }
    denied.sub.subscribe();
    UnsubscribedEvent u = denied.unsubscribed.next();
    assertEquals(103, u.getCode(), "unsubscribed: " + u.getReason());
    Throwable err = denied.errors.next();
    assertTrue(err instanceof SubscriptionSubscribeError, String.valueOf(err));
    assertEquals(103, ((ReplyError) ((SubscriptionSubscribeError) err).getError()).getCode());

    // With one from the application's getter it subscribes and gets publications.
    String ch = channel("secure", "open");
    AtomicInteger calls = new AtomicInteger();
    SubscriptionOptions so = new SubscriptionOptions();
    so.setTokenGetter(
        new SubscriptionTokenGetter() {
          @Override
          public void getSubscriptionToken(SubscriptionTokenEvent event, TokenCallback cb) {
            calls.incrementAndGet();
            assertEquals(ch, event.getChannel());
            cb.Done(null, subscriptionToken(user, event.getChannel(), 600));
          }
        });
    SubRecorder s = subscribed(r, ch, so);
    assertEquals(1, calls.get());
    apiPublish(ch, obj("secret", "yes"));
    assertEquals(obj("secret", "yes"), parse(s.publications.next().getData()));
  }

  @Test
  void subscriptionTokenRefreshedThroughGetter() {
    String user = user("u");
    Recorder r = connected(user);
    // `java_secure`: a subscription token is required and subscribers may publish, so the channel
    // info of each token shows in the client's own publications.
    String ch = channel("java_secure", "refresh");
    AtomicInteger calls = new AtomicInteger();
    SubscriptionOptions so = new SubscriptionOptions();
    so.setTokenGetter(
        new SubscriptionTokenGetter() {
          @Override
          public void getSubscriptionToken(SubscriptionTokenEvent event, TokenCallback cb) {
            int n = calls.incrementAndGet();
            long ttl = n == 1 ? SHORT_TTL : 600;
            cb.Done(
                null,
                sign(
                    connectionClaims(user, ttl)
                        .withClaim("channel", event.getChannel())
                        .withClaim("info", Map.of("v", n))));
          }
        });
    SubRecorder s = subscribed(r, ch, so);
    assertEquals(1, parse(publishAndReceive(s).getInfo().getChanInfo()).path("v").asInt());
    eventually("the SDK's second subscription token request", () -> calls.get() >= 2);
    eventually(
        "publications with the refreshed token's channel info",
        () -> parse(publishAndReceive(s).getInfo().getChanInfo()).path("v").asInt() == 2);
    assertEquals(SubscriptionState.SUBSCRIBED, s.sub.getState());
    assertTrue(s.errors.drain().isEmpty(), "no subscription errors");
    assertTrue(s.unsubscribed.drain().isEmpty(), "never unsubscribed");
  }

  /** Publishes from the subscription and returns the publication as the same client receives it. */
  static PublicationEvent publishAndReceive(SubRecorder s) {
    publish(s.sub, "{}".getBytes());
    return s.publications.next();
  }
}

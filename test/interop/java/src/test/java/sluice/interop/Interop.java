package sluice.interop;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

import com.auth0.jwt.JWT;
import com.auth0.jwt.JWTCreator;
import com.auth0.jwt.algorithms.Algorithm;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.github.centrifugal.centrifuge.Client;
import io.github.centrifugal.centrifuge.ClientState;
import io.github.centrifugal.centrifuge.ConnectedEvent;
import io.github.centrifugal.centrifuge.ConnectingEvent;
import io.github.centrifugal.centrifuge.DisconnectedEvent;
import io.github.centrifugal.centrifuge.ErrorEvent;
import io.github.centrifugal.centrifuge.EventListener;
import io.github.centrifugal.centrifuge.JoinEvent;
import io.github.centrifugal.centrifuge.LeaveEvent;
import io.github.centrifugal.centrifuge.Options;
import io.github.centrifugal.centrifuge.PublicationEvent;
import io.github.centrifugal.centrifuge.PublishResult;
import io.github.centrifugal.centrifuge.ReplyError;
import io.github.centrifugal.centrifuge.ResultCallback;
import io.github.centrifugal.centrifuge.ServerPublicationEvent;
import io.github.centrifugal.centrifuge.ServerSubscribedEvent;
import io.github.centrifugal.centrifuge.ServerUnsubscribedEvent;
import io.github.centrifugal.centrifuge.SubscribedEvent;
import io.github.centrifugal.centrifuge.Subscription;
import io.github.centrifugal.centrifuge.SubscriptionErrorEvent;
import io.github.centrifugal.centrifuge.SubscriptionEventListener;
import io.github.centrifugal.centrifuge.SubscriptionOptions;
import io.github.centrifugal.centrifuge.UnsubscribedEvent;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Consumer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.TestInfo;
import org.junit.jupiter.api.BeforeEach;

/**
 * What every test class shares: the server's addresses (INTEROP_* variables, set by the runner),
 * tokens signed like a backend signs them, the server HTTP API, SDK clients that are closed after
 * each test, and bounded waits (a missing event fails the test after {@link #WAIT_SECONDS}; nothing
 * waits forever).
 */
abstract class Interop {
  /** Generous: the machine is shared with other suites, and a slow answer is not what we test. */
  static final long WAIT_SECONDS = 10;

  static final ObjectMapper JSON = new ObjectMapper();
  static final String WS_URL = env("INTEROP_WS_URL");
  static final String API_URL = env("INTEROP_API_URL");
  static final String API_KEY = env("INTEROP_API_KEY");
  private static final Algorithm HMAC = Algorithm.HMAC256(env("INTEROP_HMAC_SECRET"));
  /**
   * The JDK's client as a Java backend uses it, defaults kept: on plain http it offers an upgrade to
   * HTTP/2 (`Upgrade: h2c`) with each first request, which the server must ignore.
   */
  private static final HttpClient HTTP =
      HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(WAIT_SECONDS)).build();

  private final List<Recorder> clients = new ArrayList<>();
  /** Unique per test and run: the server is shared by every test of a target. */
  String tag;

  private static String env(String name) {
    String v = System.getenv(name);
    if (v == null || v.isEmpty()) {
      throw new IllegalStateException(name + " is not set (run through test/interop/run.ts)");
    }
    return v;
  }

  @BeforeEach
  void nameThisTest(TestInfo info) {
    String method = info.getTestMethod().map(m -> m.getName()).orElse("t");
    tag = method + "-" + UUID.randomUUID().toString().substring(0, 8);
  }

  /**
   * Closes this test's clients; fails the test if one reconnected without the test taking that
   * event (a test that forces a reconnect takes it): a reconnect the test did not ask for means the
   * server closed a connection it should have kept.
   */
  @AfterEach
  void closeClients() throws InterruptedException {
    List<String> unexpected = new ArrayList<>();
    for (Recorder r : clients) {
      for (ConnectingEvent e : r.connecting.drain()) {
        // 0 is "connect called": the test's own connect.
        if (e.getCode() != 0) unexpected.add(e.getCode() + " " + e.getReason());
      }
    }
    for (Recorder r : clients) r.client.close(2000);
    clients.clear();
    if (!unexpected.isEmpty()) fail("unexpected reconnects: " + unexpected);
  }

  /** A channel name unique to this test (`ns` "" for the top-level namespace). */
  String channel(String ns, String name) {
    return (ns.isEmpty() ? "" : ns + ":") + "java-" + name + "-" + tag;
  }

  String user(String name) {
    return "java-" + name + "-" + tag;
  }

  // ---- tokens -------------------------------------------------------------------------------

  static JWTCreator.Builder connectionClaims(String user, long ttlSeconds) {
    return JWT.create().withSubject(user).withExpiresAt(Instant.now().plusSeconds(ttlSeconds));
  }

  static String sign(JWTCreator.Builder claims) {
    return claims.sign(HMAC);
  }

  static String connectionToken(String user) {
    return sign(connectionClaims(user, 600));
  }

  static String subscriptionToken(String user, String channel, long ttlSeconds) {
    return sign(
        JWT.create()
            .withSubject(user)
            .withClaim("channel", channel)
            .withExpiresAt(Instant.now().plusSeconds(ttlSeconds)));
  }

  // ---- server API ---------------------------------------------------------------------------

  /** POST /api/{method}; returns `result` and fails the test on an `error` answer. */
  static JsonNode api(String method, Object body) {
    try {
      HttpRequest req =
          HttpRequest.newBuilder(URI.create(API_URL + "/" + method))
              .timeout(Duration.ofSeconds(WAIT_SECONDS))
              .header("Content-Type", "application/json")
              .header("X-API-Key", API_KEY)
              .POST(HttpRequest.BodyPublishers.ofString(JSON.writeValueAsString(body)))
              .build();
      HttpResponse<String> res = HTTP.send(req, HttpResponse.BodyHandlers.ofString());
      assertEquals(200, res.statusCode(), "API " + method + " answered " + res.body());
      JsonNode reply = JSON.readTree(res.body());
      if (reply.has("error")) fail("API " + method + " failed: " + reply.get("error"));
      return reply.has("result") ? reply.get("result") : JSON.createObjectNode();
    } catch (java.io.IOException e) {
      throw new AssertionError("API " + method + ": " + e, e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError(e);
    }
  }

  /** Publishes through the server API; returns the offset the server gave the publication. */
  static long apiPublish(String channel, JsonNode data) {
    ObjectNode body = JSON.createObjectNode().put("channel", channel);
    body.set("data", data);
    return api("publish", body).path("offset").asLong(0);
  }

  /** `{key: value}` as a JSON tree (so it compares equal to what is parsed back). */
  static ObjectNode obj(String key, Object value) {
    ObjectNode o = JSON.createObjectNode();
    o.set(key, JSON.valueToTree(value));
    return o;
  }

  static JsonNode parse(byte[] data) {
    try {
      return JSON.readTree(data);
    } catch (java.io.IOException e) {
      throw new AssertionError(
          "not JSON: " + new String(data, StandardCharsets.UTF_8), e);
    }
  }

  static byte[] bytes(JsonNode node) {
    try {
      return JSON.writeValueAsBytes(node);
    } catch (java.io.IOException e) {
      throw new AssertionError(e);
    }
  }

  // ---- SDK clients ---------------------------------------------------------------------------

  /** A client with its events recorded; not connected yet. */
  Recorder client(Options opts) {
    Recorder r = new Recorder();
    r.client = new Client(WS_URL, opts, r);
    clients.add(r);
    return r;
  }

  Recorder client(String token) {
    Options opts = new Options();
    opts.setToken(token);
    return client(opts);
  }

  /** Connected with a token for `user`; fails the test if the connect does not succeed. */
  Recorder connected(String user) {
    Recorder r = client(connectionToken(user));
    r.client.connect();
    try {
      r.clientId = r.connected.next().getClient();
    } catch (AssertionError e) {
      // Say why: the SDK's errors (refused, HTTP status) and disconnects so far.
      throw new AssertionError(
          e.getMessage() + "; errors: " + r.errors.drain() + "; disconnects: "
              + r.disconnected.drain().stream().map(d -> d.getCode() + " " + d.getReason())
                  .collect(java.util.stream.Collectors.toList()));
    }
    return r;
  }

  /** Subscribes `r` to `channel` and waits for the subscribe reply. */
  static SubRecorder subscribed(Recorder r, String channel, SubscriptionOptions opts) {
    SubRecorder s = new SubRecorder();
    try {
      s.sub = r.client.newSubscription(channel, opts, s);
    } catch (Exception e) {
      throw new AssertionError(e);
    }
    s.sub.subscribe();
    s.subscribed.next();
    return s;
  }

  static SubRecorder subscribed(Recorder r, String channel) {
    return subscribed(r, channel, new SubscriptionOptions());
  }

  /** Calls an SDK method that answers through a ResultCallback and waits for its result. */
  static <T> T call(String what, Consumer<ResultCallback<T>> op) {
    CompletableFuture<T> f = new CompletableFuture<>();
    op.accept(
        (err, res) -> {
          if (err != null) f.completeExceptionally(err);
          else f.complete(res);
        });
    try {
      return f.get(WAIT_SECONDS, TimeUnit.SECONDS);
    } catch (ExecutionException e) {
      throw new AssertionError(what + " failed: " + describe(e.getCause()), e.getCause());
    } catch (TimeoutException e) {
      throw new AssertionError(what + ": no answer within " + WAIT_SECONDS + " s");
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError(e);
    }
  }

  /**
   * Calls an SDK method that must fail with a server error; returns that error. (A raw callback: the
   * result type does not matter here, and Java cannot infer it from the lambda alone.)
   */
  @SuppressWarnings({"rawtypes", "unchecked"})
  static ReplyError callError(String what, Consumer<ResultCallback> op) {
    CompletableFuture<Throwable> f = new CompletableFuture<>();
    op.accept((err, res) -> f.complete(err));
    Throwable err;
    try {
      err = f.get(WAIT_SECONDS, TimeUnit.SECONDS);
    } catch (Exception e) {
      throw new AssertionError(what + ": no answer within " + WAIT_SECONDS + " s");
    }
    if (err == null) fail(what + " succeeded; an error reply was expected");
    if (!(err instanceof ReplyError)) fail(what + " failed without a server error: " + describe(err));
    return (ReplyError) err;
  }

  /** A client publication through the subscription, waited for. */
  static void publish(Subscription sub, byte[] data) {
    Interop.<PublishResult>call("publish", (cb) -> sub.publish(data, cb));
  }

  static String describe(Throwable t) {
    if (t instanceof ReplyError) {
      ReplyError e = (ReplyError) t;
      return "error " + e.getCode() + " " + e.getMessage() + (e.isTemporary() ? " (temporary)" : "");
    }
    return String.valueOf(t);
  }

  /** Polls `check` until it holds or the wait runs out; the failure names `what`. */
  static void eventually(String what, java.util.function.BooleanSupplier check) {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(WAIT_SECONDS);
    while (!check.getAsBoolean()) {
      if (System.nanoTime() > deadline) fail(what + " did not happen within " + WAIT_SECONDS + " s");
      sleep(50);
    }
  }

  static void sleep(long ms) {
    try {
      Thread.sleep(ms);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError(e);
    }
  }

  // ---- event recording ----------------------------------------------------------------------

  /** Events of one kind, taken in order with a bounded wait. */
  static final class Events<T> {
    private final String name;
    private final LinkedBlockingQueue<T> queue = new LinkedBlockingQueue<>();

    Events(String name) {
      this.name = name;
    }

    void add(T event) {
      queue.add(event);
    }

    T next() {
      try {
        T e = queue.poll(WAIT_SECONDS, TimeUnit.SECONDS);
        if (e == null) fail("no " + name + " event within " + WAIT_SECONDS + " s");
        return e;
      } catch (InterruptedException ex) {
        Thread.currentThread().interrupt();
        throw new AssertionError(ex);
      }
    }

    /** The events that came so far, without waiting. */
    List<T> drain() {
      List<T> out = new ArrayList<>();
      queue.drainTo(out);
      return out;
    }

    int size() {
      return queue.size();
    }
  }

  /** The client's events. */
  static final class Recorder extends EventListener {
    Client client;
    /** The client id from the connect reply (set by {@link Interop#connected}). */
    String clientId;
    final Events<ConnectedEvent> connected = new Events<>("connected");
    final Events<ConnectingEvent> connecting = new Events<>("connecting");
    final Events<DisconnectedEvent> disconnected = new Events<>("disconnected");
    final Events<Throwable> errors = new Events<>("error");
    final Events<ServerSubscribedEvent> serverSubscribed = new Events<>("server-side subscribed");
    final Events<ServerUnsubscribedEvent> serverUnsubscribed =
        new Events<>("server-side unsubscribed");
    final Events<ServerPublicationEvent> serverPublications =
        new Events<>("server-side publication");

    @Override
    public void onConnected(Client c, ConnectedEvent e) {
      connected.add(e);
    }

    @Override
    public void onConnecting(Client c, ConnectingEvent e) {
      connecting.add(e);
    }

    @Override
    public void onDisconnected(Client c, DisconnectedEvent e) {
      disconnected.add(e);
    }

    @Override
    public void onError(Client c, ErrorEvent e) {
      errors.add(e.getError());
    }

    @Override
    public void onSubscribed(Client c, ServerSubscribedEvent e) {
      serverSubscribed.add(e);
    }

    @Override
    public void onUnsubscribed(Client c, ServerUnsubscribedEvent e) {
      serverUnsubscribed.add(e);
    }

    @Override
    public void onPublication(Client c, ServerPublicationEvent e) {
      serverPublications.add(e);
    }

    boolean isConnected() {
      return client.getState() == ClientState.CONNECTED;
    }
  }

  /** One subscription's events. */
  static final class SubRecorder extends SubscriptionEventListener {
    Subscription sub;
    final Events<SubscribedEvent> subscribed = new Events<>("subscribed");
    final Events<UnsubscribedEvent> unsubscribed = new Events<>("unsubscribed");
    final Events<PublicationEvent> publications = new Events<>("publication");
    final Events<JoinEvent> joins = new Events<>("join");
    final Events<LeaveEvent> leaves = new Events<>("leave");
    final Events<Throwable> errors = new Events<>("subscription error");

    @Override
    public void onSubscribed(Subscription s, SubscribedEvent e) {
      subscribed.add(e);
    }

    @Override
    public void onUnsubscribed(Subscription s, UnsubscribedEvent e) {
      unsubscribed.add(e);
    }

    @Override
    public void onPublication(Subscription s, PublicationEvent e) {
      publications.add(e);
    }

    @Override
    public void onJoin(Subscription s, JoinEvent e) {
      joins.add(e);
    }

    @Override
    public void onLeave(Subscription s, LeaveEvent e) {
      leaves.add(e);
    }

    @Override
    public void onError(Subscription s, SubscriptionErrorEvent e) {
      errors.add(e.getError());
    }
  }
}

package sluice.interop;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.github.centrifugal.centrifuge.PresenceResult;
import io.github.centrifugal.centrifuge.PresenceStatsResult;
import io.github.centrifugal.centrifuge.ReplyError;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** Presence and presence stats as a subscriber asks for them. */
class PresenceTest extends Interop {
  @Test
  void presenceAndStats() {
    String ua = user("a");
    String ub = user("b");
    Recorder a = connected(ua);
    Recorder b = connected(ub);
    Recorder a2 = connected(ua); // a second connection of the same user
    String ch = channel("", "here");
    SubRecorder as = subscribed(a, ch);
    subscribed(b, ch);
    subscribed(a2, ch);

    PresenceResult p = call("presence", as.sub::presence);
    Map<String, io.github.centrifugal.centrifuge.ClientInfo> clients = p.getClients();
    assertEquals(Set.of(a.clientId, b.clientId, a2.clientId), clients.keySet());
    assertEquals(ua, clients.get(a.clientId).getUser());
    assertEquals(ub, clients.get(b.clientId).getUser());
    assertEquals(ua, clients.get(a2.clientId).getUser());
    assertEquals(b.clientId, clients.get(b.clientId).getClient());

    PresenceStatsResult st = call("presence stats", as.sub::presenceStats);
    assertEquals(3, st.getNumClients());
    assertEquals(2, st.getNumUsers());

    // One leaves: both views follow.
    a2.client.disconnect();
    a2.disconnected.next();
    eventually(
        "presence without the disconnected client",
        () -> call("presence", as.sub::presence).getClients().keySet().equals(Set.of(a.clientId, b.clientId)));
    PresenceStatsResult after = call("presence stats", as.sub::presenceStats);
    assertEquals(2, after.getNumClients());
    assertEquals(2, after.getNumUsers());
  }

  @Test
  void presenceWhereItIsOff() {
    Recorder r = connected(user("u"));
    // `stream` keeps no presence: "not available".
    SubRecorder s = subscribed(r, channel("stream", "nopresence"));
    ReplyError e = callError("presence", s.sub::presence);
    assertEquals(108, e.getCode(), describe(e));
    ReplyError e2 = callError("presence stats", s.sub::presenceStats);
    assertEquals(108, e2.getCode(), describe(e2));
  }
}

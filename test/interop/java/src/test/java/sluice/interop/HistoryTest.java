package sluice.interop;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.github.centrifugal.centrifuge.HistoryOptions;
import io.github.centrifugal.centrifuge.HistoryResult;
import io.github.centrifugal.centrifuge.Publication;
import io.github.centrifugal.centrifuge.ReplyError;
import io.github.centrifugal.centrifuge.StreamPosition;
import java.util.List;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/** A channel's history as a subscriber reads it: pages, order, positions. */
class HistoryTest extends Interop {
  @Test
  void historyPagesAndPositions() {
    Recorder r = connected(user("u"));
    String ch = channel("", "log");
    SubRecorder s = subscribed(r, ch);
    String epoch = null;
    for (int i = 1; i <= 5; i++) {
      JsonNode res = api("publish", obj("channel", ch).putPOJO("data", obj("i", i)));
      assertEquals(i, res.path("offset").asLong());
      epoch = res.path("epoch").asText();
    }
    assertFalse(epoch.isEmpty(), "the API gives the stream's epoch");

    HistoryResult first = history(s, new HistoryOptions.Builder().withLimit(3).build());
    assertEquals(List.of(1L, 2L, 3L), offsets(first));
    assertEquals(List.of(1, 2, 3), values(first));
    assertEquals(5, first.getOffset(), "the stream's top offset");
    assertEquals(epoch, first.getEpoch());

    HistoryResult newest =
        history(s, new HistoryOptions.Builder().withLimit(2).withReverse(true).build());
    assertEquals(List.of(5L, 4L), offsets(newest));

    HistoryResult since =
        history(
            s,
            new HistoryOptions.Builder().withLimit(10).withSince(new StreamPosition(2, epoch)).build());
    assertEquals(List.of(3L, 4L, 5L), offsets(since));
    assertEquals(List.of(3, 4, 5), values(since));

    // Limit 0: only the position.
    HistoryResult position = history(s, new HistoryOptions.Builder().withLimit(0).build());
    assertTrue(position.getPublications().isEmpty());
    assertEquals(5, position.getOffset());
    assertEquals(epoch, position.getEpoch());
  }

  @Test
  void historySinceAnotherEpochIsRefused() {
    Recorder r = connected(user("u"));
    String ch = channel("", "epoch");
    SubRecorder s = subscribed(r, ch);
    apiPublish(ch, obj("i", 1));
    HistoryOptions opts =
        new HistoryOptions.Builder()
            .withLimit(10)
            .withSince(new StreamPosition(0, "not-this-streams-epoch"))
            .build();
    ReplyError e = callError("history", (cb) -> s.sub.history(opts, cb));
    assertEquals(112, e.getCode(), "unrecoverable position; got " + describe(e));
  }

  static HistoryResult history(SubRecorder s, HistoryOptions opts) {
    // ("history", not the options: HistoryOptions.toString() throws when `since` is unset.)
    return call("history", (cb) -> s.sub.history(opts, cb));
  }

  static List<Long> offsets(HistoryResult h) {
    return h.getPublications().stream().map(Publication::getOffset).collect(Collectors.toList());
  }

  static List<Integer> values(HistoryResult h) {
    return h.getPublications().stream()
        .map(p -> parse(p.getData()).path("i").asInt())
        .collect(Collectors.toList());
  }
}

package interop

import (
	"fmt"
	"reflect"
	"sync"
	"testing"

	"github.com/centrifugal/centrifuge-go"
)

// reconnectCode is a disconnect code the SDK reconnects after (4000–4499: application codes with
// reconnect).
const reconnectCode = 4000

// awayHook returns an onConnecting hook that runs do once, when the server's forced disconnect
// arrives: the SDK waits for the hook before it schedules its reconnect, so do runs while the
// client is away. Its error, if any, is reported by the returned check.
func awayHook(do func() error) (func(centrifuge.ConnectingEvent), func(t *testing.T)) {
	var once sync.Once
	var mu sync.Mutex
	var err error
	ran := false
	hook := func(e centrifuge.ConnectingEvent) {
		if e.Code != reconnectCode {
			return
		}
		once.Do(func() {
			mu.Lock()
			defer mu.Unlock()
			ran = true
			err = do()
		})
	}
	check := func(t *testing.T) {
		t.Helper()
		mu.Lock()
		defer mu.Unlock()
		if !ran {
			t.Fatal("the client never saw the forced disconnect")
		}
		if err != nil {
			t.Fatalf("while away: %v", err)
		}
	}
	return hook, check
}

// forceReconnect disconnects user's connections through the server API with a code the SDK
// reconnects after, and checks the SDK reports that code.
func forceReconnect(t *testing.T, c *client, user string) {
	t.Helper()
	api(t, "disconnect", map[string]any{
		"user":       user,
		"disconnect": map[string]any{"code": reconnectCode, "reason": "interop reconnect"},
	}, nil)
	e := recvMatch(t, c.connecting, "connecting event after the forced disconnect", func(e centrifuge.ConnectingEvent) bool {
		return e.Code != 0 // 0 is the SDK's own "connect called"
	})
	if e.Code != reconnectCode || e.Reason != "interop reconnect" {
		t.Fatalf("connecting code %d %q, want %d \"interop reconnect\"", e.Code, e.Reason, reconnectCode)
	}
}

// After a forced reconnect the SDK resubscribes from its last offset and the server hands over
// what was published meanwhile: recovered, in order, with the offsets that follow.
func TestRecovery(t *testing.T) {
	eachProtocol(t, func(t *testing.T, p protocol) {
		user := unique(t, "u-")
		channel := unique(t, "stream:")
		var away []publishResult
		hook, checkAway := awayHook(func() error {
			for i := 3; i <= 5; i++ {
				r, err := publishE(channel, fmt.Sprintf(`{"n":%d}`, i))
				if err != nil {
					return err
				}
				away = append(away, r)
			}
			return nil
		})
		c := newClient(t, p, connToken(user, 0, nil), nil)
		c.onConnecting = hook
		first := c.connect(t)
		s := c.newSub(t, channel, centrifuge.SubscriptionConfig{})
		ev := s.subscribe(t)
		if !ev.Recoverable || ev.StreamPosition == nil {
			t.Fatalf("subscribed %+v: the stream namespace should make it recoverable", ev)
		}
		epoch := ev.StreamPosition.Epoch
		apiPublish(t, channel, `{"n":1}`)
		apiPublish(t, channel, `{"n":2}`)
		if got := offsets(pubsOf(recvN(t, s.pubs, 2, "live publications"))); !reflect.DeepEqual(got, []uint64{1, 2}) {
			t.Fatalf("live offsets %v, want [1 2]", got)
		}

		forceReconnect(t, c, user)
		checkAway(t)
		second := recv(t, c.connected, "connected event after the reconnect")
		if second.ClientID == first.ClientID {
			t.Fatalf("the reconnect kept client id %s", first.ClientID)
		}
		re := recv(t, s.subscribed, "subscribed event after the reconnect")
		if !re.WasRecovering || !re.Recovered {
			t.Fatalf("resubscribe: wasRecovering=%v recovered=%v, want both", re.WasRecovering, re.Recovered)
		}
		// A recovered subscribe reply carries the position the client asked to recover from; the
		// recovered publications that follow move it on.
		if re.StreamPosition == nil || re.StreamPosition.Epoch != epoch || re.StreamPosition.Offset != 2 {
			t.Fatalf("resubscribe position %+v, want offset 2 (the request's) in epoch %q", re.StreamPosition, epoch)
		}
		recovered := recvN(t, s.pubs, 3, "recovered publications")
		for i, pub := range recovered {
			want := uint64(i + 3)
			if pub.Offset != want || away[i].Offset != want {
				t.Fatalf("recovered offsets %v (published at %v), want 3, 4, 5", offsets(pubsOf(recovered)), away)
			}
			sameJSON(t, fmt.Sprintf("recovered publication %d", want), pub.Data, fmt.Sprintf(`{"n":%d}`, want))
		}
		none(t, s.pubs, "publication beyond the recovered ones")

		// Live delivery carries on from there.
		apiPublish(t, channel, `{"n":6}`)
		if pub := recv(t, s.pubs, "live publication after recovery"); pub.Offset != 6 {
			t.Fatalf("live offset %d after recovery, want 6", pub.Offset)
		}
	})
}

// When what was missed is no longer in history, the resubscribe says so (recovered false) and
// hands over nothing partial; the position moves to the stream's top.
func TestRecoveryGap(t *testing.T) {
	eachProtocol(t, func(t *testing.T, p protocol) {
		user := unique(t, "u-")
		channel := unique(t, "stream:")
		hook, checkAway := awayHook(func() error {
			for i := 2; i <= 3; i++ {
				if _, err := publishE(channel, fmt.Sprintf(`{"n":%d}`, i)); err != nil {
					return err
				}
			}
			// history_remove drops the publications but keeps the stream's position.
			_, apiErr, err := postAPI("history_remove", map[string]any{"channel": channel})
			if err == nil && apiErr != nil {
				err = fmt.Errorf("history_remove: %d %s", apiErr.Code, apiErr.Message)
			}
			return err
		})
		c := newClient(t, p, connToken(user, 0, nil), nil)
		c.onConnecting = hook
		c.connect(t)
		s := c.subscribed(t, channel, centrifuge.SubscriptionConfig{})
		apiPublish(t, channel, `{"n":1}`)
		recv(t, s.pubs, "live publication")

		forceReconnect(t, c, user)
		checkAway(t)
		re := recv(t, s.subscribed, "subscribed event after the reconnect")
		if !re.WasRecovering || re.Recovered {
			t.Fatalf("resubscribe: wasRecovering=%v recovered=%v, want true/false", re.WasRecovering, re.Recovered)
		}
		if re.StreamPosition == nil || re.StreamPosition.Offset != 3 {
			t.Fatalf("resubscribe position %+v, want offset 3", re.StreamPosition)
		}
		none(t, s.pubs, "publication after an unrecovered resubscribe")
		apiPublish(t, channel, `{"n":4}`)
		if pub := recv(t, s.pubs, "live publication after the gap"); pub.Offset != 4 {
			t.Fatalf("live offset %d, want 4", pub.Offset)
		}
	})
}

// The SDK's GetState: the app's own state position is where the subscription starts; a position
// the server cannot recover from (another epoch) is refused with 112, so GetState is asked again.
func TestGetState(t *testing.T) {
	eachProtocol(t, func(t *testing.T, p protocol) {
		channel := unique(t, "stream:")
		var epoch string
		for i := 1; i <= 3; i++ {
			epoch = apiPublish(t, channel, fmt.Sprintf(`{"n":%d}`, i)).Epoch
		}
		calls := make(chan string, eventBuffer)
		var mu sync.Mutex
		n := 0
		c, _ := connected(t, p, unique(t, "u-"))
		s := c.newSub(t, channel, centrifuge.SubscriptionConfig{
			GetState: func(e centrifuge.SubscriptionGetStateEvent) (centrifuge.StreamPosition, error) {
				mu.Lock()
				defer mu.Unlock()
				n++
				calls <- e.Channel
				if n == 1 {
					// A position from another epoch: not recoverable.
					return centrifuge.StreamPosition{Offset: 1, Epoch: "stale-" + epoch}, nil
				}
				// The app's state includes offset 1: 2 and 3 are to come from the stream.
				return centrifuge.StreamPosition{Offset: 1, Epoch: epoch}, nil
			},
		})
		ev := s.subscribe(t)
		if got := recvN(t, calls, 2, "two GetState calls"); got[0] != channel || got[1] != channel {
			t.Fatalf("GetState called for %v", got)
		}
		if !ev.WasRecovering || !ev.Recovered || ev.StreamPosition == nil || ev.StreamPosition.Offset != 1 ||
			ev.StreamPosition.Epoch != epoch {
			t.Fatalf("subscribed %+v (position %+v), want recovered from offset 1 in epoch %q", ev, ev.StreamPosition, epoch)
		}
		pubs := recvN(t, s.pubs, 2, "publications after the app's state")
		if got := offsets(pubsOf(pubs)); !reflect.DeepEqual(got, []uint64{2, 3}) {
			t.Fatalf("offsets %v after GetState's position 1, want [2 3]", got)
		}
		select {
		case e := <-s.errors:
			t.Fatalf("subscription error %v: a 112 refusal with GetState set is handled by asking again", e.Error)
		default:
		}
	})
}

func pubsOf(events []centrifuge.PublicationEvent) []centrifuge.Publication {
	out := make([]centrifuge.Publication, len(events))
	for i, e := range events {
		out[i] = e.Publication
	}
	return out
}

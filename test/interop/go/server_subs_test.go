package interop

import (
	"fmt"
	"reflect"
	"testing"

	"github.com/centrifugal/centrifuge-go"
)

// Server-side subscriptions from the connection token's `channels` claim: the SDK reports them at
// connect, delivers their publications through the client's handlers, and recovers them after a
// forced reconnect (it sends their positions in the connect command).
func TestServerSideSubscriptionsFromToken(t *testing.T) {
	eachProtocol(t, func(t *testing.T, p protocol) {
		user := unique(t, "u-")
		channel := unique(t, "stream:")
		hook, checkAway := awayHook(func() error {
			for i := 2; i <= 3; i++ {
				if _, err := publishE(channel, fmt.Sprintf(`{"n":%d}`, i)); err != nil {
					return err
				}
			}
			return nil
		})
		c := newClient(t, p, connToken(user, 0, map[string]any{"channels": []string{channel}}), nil)
		c.onConnecting = hook
		c.connect(t)
		ev := recv(t, c.serverSubscribed, "server-side subscribed event")
		if ev.Channel != channel || !ev.Recoverable || ev.StreamPosition == nil || ev.StreamPosition.Epoch == "" {
			t.Fatalf("server-side subscribed %+v (position %+v), want %s, recoverable, with a position", ev, ev.StreamPosition, channel)
		}
		epoch := ev.StreamPosition.Epoch

		apiPublish(t, channel, `{"n":1}`)
		pub := recv(t, c.serverPubs, "server-side publication")
		if pub.Channel != channel || pub.Offset != 1 {
			t.Fatalf("server-side publication in %q at offset %d, want %q at 1", pub.Channel, pub.Offset, channel)
		}
		sameJSON(t, "server-side publication", pub.Data, `{"n":1}`)

		forceReconnect(t, c, user)
		checkAway(t)
		re := recv(t, c.serverSubscribed, "server-side subscribed event after the reconnect")
		if re.Channel != channel || !re.WasRecovering || !re.Recovered {
			t.Fatalf("after the reconnect: %+v, want %s recovered", re, channel)
		}
		if re.StreamPosition == nil || re.StreamPosition.Epoch != epoch || re.StreamPosition.Offset != 1 {
			t.Fatalf("after the reconnect: position %+v, want offset 1 (the request's) in epoch %q", re.StreamPosition, epoch)
		}
		got := recvN(t, c.serverPubs, 2, "recovered server-side publications")
		var offs []uint64
		for _, e := range got {
			if e.Channel != channel {
				t.Fatalf("recovered publication in %q, want %q", e.Channel, channel)
			}
			offs = append(offs, e.Offset)
			sameJSON(t, "recovered", e.Data, fmt.Sprintf(`{"n":%d}`, e.Offset))
		}
		if !reflect.DeepEqual(offs, []uint64{2, 3}) {
			t.Fatalf("recovered offsets %v, want [2 3]", offs)
		}
	})
}

// The token's `subs` claim: server-side subscriptions with options — data for the subscribed
// event, channel info for presence.
func TestServerSideSubscriptionsFromSubsClaim(t *testing.T) {
	eachProtocol(t, func(t *testing.T, p protocol) {
		user := unique(t, "u-")
		channel := unique(t, "ch-")
		c := newClient(t, p, connToken(user, 0, map[string]any{"subs": map[string]any{
			channel: map[string]any{"data": map[string]bool{"welcome": true}, "info": map[string]int{"seat": 7}},
		}}), nil)
		conn := c.connect(t)
		ev := recv(t, c.serverSubscribed, "server-side subscribed event")
		if ev.Channel != channel {
			t.Fatalf("server-side subscribed to %q, want %q", ev.Channel, channel)
		}
		sameJSON(t, "subscribed data", ev.Data, `{"welcome":true}`)

		var presence struct {
			Presence map[string]struct {
				User     string         `json:"user"`
				ChanInfo map[string]any `json:"chan_info"`
			} `json:"presence"`
		}
		api(t, "presence", map[string]string{"channel": channel}, &presence)
		if e, ok := presence.Presence[conn.ClientID]; !ok || e.User != user || e.ChanInfo["seat"] != float64(7) {
			t.Fatalf("presence %+v, want client %s of %s with chan_info seat=7", presence.Presence, conn.ClientID, user)
		}

		apiPublish(t, channel, `{"to":"subs"}`)
		pub := recv(t, c.serverPubs, "server-side publication")
		if pub.Channel != channel || pub.Offset != 1 {
			t.Fatalf("publication in %q at %d, want %q at 1", pub.Channel, pub.Offset, channel)
		}
		sameJSON(t, "publication", pub.Data, `{"to":"subs"}`)
	})
}

// Server-side subscriptions made and ended through the server API (`subscribe`, `unsubscribe`).
func TestServerSideSubscriptionsFromAPI(t *testing.T) {
	eachProtocol(t, func(t *testing.T, p protocol) {
		user := unique(t, "u-")
		channel := unique(t, "ch-")
		c, _ := connected(t, p, user)

		api(t, "subscribe", map[string]any{"user": user, "channel": channel, "data": map[string]string{"why": "api"}}, nil)
		ev := recv(t, c.serverSubscribed, "server-side subscribed event")
		if ev.Channel != channel {
			t.Fatalf("server-side subscribed to %q, want %q", ev.Channel, channel)
		}
		sameJSON(t, "subscribe push data", ev.Data, `{"why":"api"}`)

		apiPublish(t, channel, `"pushed"`)
		pub := recv(t, c.serverPubs, "server-side publication")
		if pub.Channel != channel {
			t.Fatalf("publication in %q, want %q", pub.Channel, channel)
		}
		sameJSON(t, "server-side publication", pub.Data, `"pushed"`)

		api(t, "unsubscribe", map[string]any{"user": user, "channel": channel}, nil)
		if u := recv(t, c.serverUnsubscribed, "server-side unsubscribed event"); u.Channel != channel {
			t.Fatalf("unsubscribed from %q, want %q", u.Channel, channel)
		}
		apiPublish(t, channel, `"after unsubscribe"`)
		none(t, c.serverPubs, "publication after the server-side unsubscribe")
	})
}

// The server API `unsubscribe` also ends a client-side subscription: the SDK reports the server's
// code (2000, "server unsubscribe") and does not resubscribe.
func TestServerUnsubscribesClientSubscription(t *testing.T) {
	eachProtocol(t, func(t *testing.T, p protocol) {
		user := unique(t, "u-")
		channel := unique(t, "ch-")
		c, _ := connected(t, p, user)
		s := c.subscribed(t, channel, centrifuge.SubscriptionConfig{})
		api(t, "unsubscribe", map[string]any{"user": user, "channel": channel}, nil)
		u := recv(t, s.unsubscribed, "unsubscribed event")
		if u.Code != 2000 {
			t.Fatalf("unsubscribed code %d %q, want 2000", u.Code, u.Reason)
		}
		none(t, s.subscribed, "resubscribe")
		if s.State() != centrifuge.SubStateUnsubscribed {
			t.Fatalf("state %s, want unsubscribed", s.State())
		}
	})
}

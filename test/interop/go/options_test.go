package interop

import (
	"fmt"
	"strings"
	"testing"

	"github.com/centrifugal/centrifuge-go"
)

// In the go_optin namespace (test/interop/config.ts) nothing is forced: the subscription is
// positioned, recoverable or told of joins and leaves only when the SDK asks.
func TestSubscriptionOptions(t *testing.T) {
	eachProtocol(t, func(t *testing.T, p protocol) {
		t.Run("nothing asked", func(t *testing.T) {
			channel := unique(t, "go_optin:")
			c, _ := connected(t, p, unique(t, "u-"))
			s := c.newSub(t, channel, centrifuge.SubscriptionConfig{})
			ev := s.subscribe(t)
			if ev.Positioned || ev.Recoverable || ev.StreamPosition != nil {
				t.Fatalf("subscribed %+v: neither positioned nor recoverable was asked for", ev)
			}
			// No join pushes without JoinLeave (the namespace has join_leave, not force_push).
			other, _ := connected(t, p, unique(t, "o-"))
			other.subscribed(t, channel, centrifuge.SubscriptionConfig{})
			none(t, s.joins, "join event without JoinLeave")
			// Publications still carry their offsets (the channel keeps history).
			apiPublish(t, channel, `"x"`)
			if pub := recv(t, s.pubs, "publication"); pub.Offset != 1 {
				t.Fatalf("offset %d, want 1", pub.Offset)
			}
		})
		t.Run("positioned", func(t *testing.T) {
			channel := unique(t, "go_optin:")
			apiPublish(t, channel, `"before"`)
			c, _ := connected(t, p, unique(t, "u-"))
			ev := c.newSub(t, channel, centrifuge.SubscriptionConfig{Positioned: true}).subscribe(t)
			if !ev.Positioned || ev.Recoverable || ev.StreamPosition == nil || ev.StreamPosition.Offset != 1 ||
				ev.StreamPosition.Epoch == "" {
				t.Fatalf("subscribed %+v (position %+v), want positioned at offset 1, not recoverable", ev, ev.StreamPosition)
			}
		})
		t.Run("recoverable", func(t *testing.T) {
			user := unique(t, "u-")
			channel := unique(t, "go_optin:")
			hook, checkAway := awayHook(func() error {
				_, err := publishE(channel, `{"n":2}`)
				return err
			})
			c := newClient(t, p, connToken(user, 0, nil), nil)
			c.onConnecting = hook
			c.connect(t)
			s := c.newSub(t, channel, centrifuge.SubscriptionConfig{Recoverable: true})
			ev := s.subscribe(t)
			if !ev.Recoverable || !ev.Positioned || ev.StreamPosition == nil {
				t.Fatalf("subscribed %+v, want recoverable (and so positioned)", ev)
			}
			apiPublish(t, channel, `{"n":1}`)
			recv(t, s.pubs, "live publication")
			forceReconnect(t, c, user)
			checkAway(t)
			if re := recv(t, s.subscribed, "resubscribe"); !re.WasRecovering || !re.Recovered {
				t.Fatalf("resubscribe %+v, want recovered", re)
			}
			pub := recv(t, s.pubs, "recovered publication")
			if pub.Offset != 2 {
				t.Fatalf("recovered offset %d, want 2", pub.Offset)
			}
			sameJSON(t, "recovered", pub.Data, `{"n":2}`)
		})
		t.Run("join leave", func(t *testing.T) {
			channel := unique(t, "go_optin:")
			c, _ := connected(t, p, unique(t, "u-"))
			s := c.subscribed(t, channel, centrifuge.SubscriptionConfig{JoinLeave: true})
			otherUser := unique(t, "o-")
			other, otherConn := connected(t, p, otherUser)
			os := other.subscribed(t, channel, centrifuge.SubscriptionConfig{})
			join := recvMatch(t, s.joins, "join of the other client", func(e centrifuge.JoinEvent) bool {
				return e.User == otherUser
			})
			if join.Client != otherConn.ClientID {
				t.Fatalf("join %+v, want client %s", join.ClientInfo, otherConn.ClientID)
			}
			if err := os.Unsubscribe(); err != nil {
				t.Fatal(err)
			}
			if leave := recv(t, s.leaves, "leave of the other client"); leave.Client != otherConn.ClientID || leave.User != otherUser {
				t.Fatalf("leave %+v, want client %s of %s", leave.ClientInfo, otherConn.ClientID, otherUser)
			}
		})
	})
}

// Subscribe requests the server refuses, and one it must accept as if the unsupported part had
// not been asked.
func TestSubscribeRefused(t *testing.T) {
	eachProtocol(t, func(t *testing.T, p protocol) {
		c, _ := connected(t, p, unique(t, "u-"))
		refused := func(what, channel string, cfg centrifuge.SubscriptionConfig, code uint32) {
			t.Helper()
			s := c.newSub(t, channel, cfg)
			if err := s.Subscribe(); err != nil {
				t.Fatal(err)
			}
			wantCode(t, what, recv(t, s.errors, what+": subscription error").Error, code)
			if u := recv(t, s.unsubscribed, what+": unsubscribed event"); u.Code != code {
				t.Fatalf("%s: unsubscribed code %d %q, want %d", what, u.Code, u.Reason, code)
			}
		}
		refused("unknown namespace", unique(t, "nonexistent:"), centrifuge.SubscriptionConfig{}, 102)
		refused("tags filter where the namespace does not allow one", unique(t, "ch-"), centrifuge.SubscriptionConfig{
			TagsFilter: centrifuge.FilterEq("kind", "a"),
		}, 107)
		refused("a channel name over max length", "ch-"+strings.Repeat("x", 300), centrifuge.SubscriptionConfig{}, 107)

		// Delta compression where the namespace allows none: the subscription goes ahead without
		// it and publications arrive whole.
		channel := unique(t, "ch-")
		s := c.subscribed(t, channel, centrifuge.SubscriptionConfig{Delta: centrifuge.DeltaTypeFossil})
		for i := 1; i <= 2; i++ {
			apiPublish(t, channel, fmt.Sprintf(`{"n":%d,"text":"same text each time"}`, i))
			sameJSON(t, "publication", recv(t, s.pubs, "publication").Data, fmt.Sprintf(`{"n":%d,"text":"same text each time"}`, i))
		}
		// The connection survived all of it.
		if c.State() != centrifuge.StateConnected {
			t.Fatalf("state %s", c.State())
		}
	})
}

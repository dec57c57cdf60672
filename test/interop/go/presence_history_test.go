package interop

import (
	"context"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/centrifugal/centrifuge-go"
)

// Presence lists every subscribed connection with its user and connection info; the stats count
// clients and users; an unsubscribed client leaves the list.
func TestPresence(t *testing.T) {
	eachProtocol(t, func(t *testing.T, p protocol) {
		channel := unique(t, "ch-")
		userA, userB := unique(t, "a-"), unique(t, "b-")
		a := newClient(t, p, connToken(userA, 0, map[string]any{"info": map[string]any{"name": "A"}}), nil)
		ca := a.connect(t)
		b := newClient(t, p, connToken(userB, 0, map[string]any{"info": map[string]any{"name": "B", "n": 2}}), nil)
		cb := b.connect(t)
		// A second connection of user B: two clients, but still two users.
		b2, cb2 := connected(t, p, userB)
		sa := a.subscribed(t, channel, centrifuge.SubscriptionConfig{})
		sb := b.subscribed(t, channel, centrifuge.SubscriptionConfig{})
		b2.subscribed(t, channel, centrifuge.SubscriptionConfig{})

		ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
		defer cancel()
		pres, err := sa.Presence(ctx)
		if err != nil {
			t.Fatalf("Presence: %v", err)
		}
		if len(pres.Clients) != 3 {
			t.Fatalf("presence has %d clients, want 3: %+v", len(pres.Clients), pres.Clients)
		}
		for _, want := range []struct {
			client, user, info string
		}{{ca.ClientID, userA, `{"name":"A"}`}, {cb.ClientID, userB, `{"name":"B","n":2}`}, {cb2.ClientID, userB, ""}} {
			got, ok := pres.Clients[want.client]
			if !ok {
				t.Fatalf("client %s missing from presence %+v", want.client, pres.Clients)
			}
			if got.Client != want.client || got.User != want.user {
				t.Fatalf("presence entry %+v, want client %q user %q", got, want.client, want.user)
			}
			if want.info == "" {
				if len(got.ConnInfo) != 0 {
					t.Fatalf("conn info %q for a token without info", got.ConnInfo)
				}
			} else {
				sameJSON(t, "conn info of "+want.user, got.ConnInfo, want.info)
			}
		}
		// Client.Presence answers the same as Subscription.Presence.
		pres2, err := b.Presence(ctx, channel)
		if err != nil || !reflect.DeepEqual(pres2.Clients, pres.Clients) {
			t.Fatalf("Client.Presence: %+v (%v), want %+v", pres2.Clients, err, pres.Clients)
		}

		stats, err := sa.PresenceStats(ctx)
		if err != nil {
			t.Fatalf("PresenceStats: %v", err)
		}
		if stats.NumClients != 3 || stats.NumUsers != 2 {
			t.Fatalf("presence stats %+v, want 3 clients of 2 users", stats.PresenceStats)
		}

		if err := sb.Unsubscribe(); err != nil {
			t.Fatal(err)
		}
		waitUntil(t, "B's first connection to leave presence", func() (bool, string) {
			pres, err := sa.Presence(ctx)
			if err != nil {
				return false, err.Error()
			}
			_, gone := pres.Clients[cb.ClientID]
			return !gone && len(pres.Clients) == 2, fmt.Sprintf("%+v", pres.Clients)
		})
		stats, err = a.PresenceStats(ctx, channel)
		if err != nil || stats.NumClients != 2 || stats.NumUsers != 2 {
			t.Fatalf("presence stats after unsubscribe %+v (%v), want 2 clients of 2 users", stats.PresenceStats, err)
		}

		// The stream namespace has no presence: 108 not available.
		streamCh := unique(t, "stream:")
		ss := a.subscribed(t, streamCh, centrifuge.SubscriptionConfig{})
		_, err = ss.Presence(ctx)
		wantCode(t, "presence in the stream namespace", err, 108)
		_, err = ss.PresenceStats(ctx)
		wantCode(t, "presence stats in the stream namespace", err, 108)
	})
}

// waitUntil polls cond (bounded) until it holds; the last state is in the failure.
func waitUntil(t *testing.T, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	last := ""
	for time.Now().Before(deadline) {
		ok, state := cond()
		if ok {
			return
		}
		last = state
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("timed out after %s waiting for %s; last: %s", waitTimeout, what, last)
}

// History: limit, since, reverse, the stream position, and error 112 for a position in another
// epoch.
func TestHistory(t *testing.T) {
	eachProtocol(t, func(t *testing.T, p protocol) {
		channel := unique(t, "ch-")
		c, _ := connected(t, p, unique(t, "u-"))
		s := c.subscribed(t, channel, centrifuge.SubscriptionConfig{})
		var epoch string
		for i := 1; i <= 5; i++ {
			epoch = apiPublish(t, channel, fmt.Sprintf(`{"n":%d}`, i)).Epoch
		}
		recvN(t, s.pubs, 5, "the five publications")

		ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
		defer cancel()
		check := func(what string, want []uint64, opts ...centrifuge.HistoryOption) {
			t.Helper()
			res, err := s.History(ctx, opts...)
			if err != nil {
				t.Fatalf("history %s: %v", what, err)
			}
			if res.Offset != 5 || res.Epoch != epoch {
				t.Fatalf("history %s: position %d/%q, want 5/%q", what, res.Offset, res.Epoch, epoch)
			}
			if got := offsets(res.Publications); !reflect.DeepEqual(got, want) && !(len(got) == 0 && len(want) == 0) {
				t.Fatalf("history %s: offsets %v, want %v", what, got, want)
			}
			for _, pub := range res.Publications {
				sameJSON(t, fmt.Sprintf("history %s, offset %d", what, pub.Offset), pub.Data, fmt.Sprintf(`{"n":%d}`, pub.Offset))
			}
		}
		check("without options (the position only)", nil)
		check("limit 2", []uint64{1, 2}, centrifuge.WithHistoryLimit(2))
		check("limit -1 (all)", []uint64{1, 2, 3, 4, 5}, centrifuge.WithHistoryLimit(-1))
		check("limit 10", []uint64{1, 2, 3, 4, 5}, centrifuge.WithHistoryLimit(10))
		check("since 2", []uint64{3, 4, 5},
			centrifuge.WithHistorySince(&centrifuge.StreamPosition{Offset: 2, Epoch: epoch}), centrifuge.WithHistoryLimit(10))
		check("since 2, limit 2", []uint64{3, 4},
			centrifuge.WithHistorySince(&centrifuge.StreamPosition{Offset: 2, Epoch: epoch}), centrifuge.WithHistoryLimit(2))
		check("since 5 (nothing newer)", nil,
			centrifuge.WithHistorySince(&centrifuge.StreamPosition{Offset: 5, Epoch: epoch}), centrifuge.WithHistoryLimit(10))
		check("reverse, limit 2", []uint64{5, 4}, centrifuge.WithHistoryReverse(true), centrifuge.WithHistoryLimit(2))
		check("reverse since 4", []uint64{3, 2, 1}, centrifuge.WithHistoryReverse(true),
			centrifuge.WithHistorySince(&centrifuge.StreamPosition{Offset: 4, Epoch: epoch}), centrifuge.WithHistoryLimit(10))

		// Client.History is the same call without a Subscription object.
		res, err := c.History(ctx, channel, centrifuge.WithHistoryLimit(1))
		if err != nil || !reflect.DeepEqual(offsets(res.Publications), []uint64{1}) {
			t.Fatalf("Client.History limit 1: %v (%v), want [1]", offsets(res.Publications), err)
		}

		_, err = s.History(ctx, centrifuge.WithHistorySince(&centrifuge.StreamPosition{Offset: 1, Epoch: "not-" + epoch}),
			centrifuge.WithHistoryLimit(10))
		wantCode(t, "history since a position in another epoch", err, 112)

		// The secure namespace keeps no history: 108 not available (before any permission check).
		_, err = c.History(ctx, unique(t, "secure:"), centrifuge.WithHistoryLimit(10))
		wantCode(t, "history in the secure namespace", err, 108)
	})
}

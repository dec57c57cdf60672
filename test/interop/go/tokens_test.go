package interop

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/centrifugal/centrifuge-go"
)

// shortTTL is the life of the tokens the refresh tests hand out: short enough that the SDK
// refreshes twice within a few seconds, long enough for a loaded machine to answer in time.
const shortTTL = 3 * time.Second

// The connection token is refreshed through the SDK's GetToken: an expired token at connect
// (error 109) makes the SDK ask for a new one and connect with it.
func TestTokenExpiredAtConnect(t *testing.T) {
	eachProtocol(t, func(t *testing.T, p protocol) {
		user := unique(t, "u-")
		var calls atomic.Int32
		c := newClient(t, p, connToken(user, -time.Minute, nil), func(cfg *centrifuge.Config) {
			cfg.GetToken = func(centrifuge.ConnectionTokenEvent) (string, error) {
				calls.Add(1)
				return connToken(user, 0, nil), nil
			}
		})
		c.connect(t)
		if n := calls.Load(); n != 1 {
			t.Fatalf("GetToken called %d times, want once", n)
		}
		none(t, c.disconnected, "disconnect")
	})
}

// A connection token that expires is refreshed before it does, on the same connection: the
// server's connect and refresh replies give the SDK the time to call GetToken again.
func TestTokenRefresh(t *testing.T) {
	eachProtocol(t, func(t *testing.T, p protocol) {
		user := unique(t, "u-")
		calls := make(chan time.Time, eventBuffer)
		c := newClient(t, p, connToken(user, shortTTL, nil), func(cfg *centrifuge.Config) {
			cfg.GetToken = func(centrifuge.ConnectionTokenEvent) (string, error) {
				calls <- time.Now()
				return connToken(user, shortTTL, nil), nil
			}
		})
		first := c.connect(t)
		// Two calls: the first follows the connect reply's ttl, the second the refresh reply's
		// (so the server accepted the refreshed token and said when it expires).
		recvN(t, calls, 2, "two GetToken calls")
		select {
		case e := <-c.connecting:
			if e.Code != 0 {
				t.Fatalf("the client reconnected (code %d %q): the refresh should keep the connection", e.Code, e.Reason)
			}
		default:
		}
		select {
		case e := <-c.connected:
			t.Fatalf("a second connected event (client %s, first %s): the refresh should keep the connection", e.ClientID, first.ClientID)
		case e := <-c.disconnected:
			t.Fatalf("disconnected %d %q", e.Code, e.Reason)
		default:
		}
		ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
		defer cancel()
		if _, err := c.RPC(ctx, "echo", []byte(`{}`)); err != nil {
			t.Fatalf("RPC after refresh: %v", err)
		}
	})
}

// The secure namespace takes subscriptions with a subscription token only. Its claims reach the
// server (the token's info is the channel info in presence); one for another channel ends the
// connection; one that expires is refreshed through the subscription's GetToken.
func TestSubscriptionToken(t *testing.T) {
	eachProtocol(t, func(t *testing.T, p protocol) {
		t.Run("without a token", func(t *testing.T) {
			c, _ := connected(t, p, unique(t, "u-"))
			s := c.newSub(t, unique(t, "secure:"), centrifuge.SubscriptionConfig{})
			if err := s.Subscribe(); err != nil {
				t.Fatal(err)
			}
			wantCode(t, "subscribe without a token", recv(t, s.errors, "subscription error").Error, 103)
			if u := recv(t, s.unsubscribed, "unsubscribed event"); u.Code != 103 {
				t.Fatalf("unsubscribed code %d %q, want 103", u.Code, u.Reason)
			}
		})
		t.Run("with a token", func(t *testing.T) {
			user := unique(t, "u-")
			channel := unique(t, "secure:")
			c, conn := connected(t, p, user)
			s := c.subscribed(t, channel, centrifuge.SubscriptionConfig{
				Token: subToken(user, channel, 0, map[string]any{"info": map[string]string{"role": "reader"}}),
			})
			var presence struct {
				Presence map[string]struct {
					User     string         `json:"user"`
					Client   string         `json:"client"`
					ChanInfo map[string]any `json:"chan_info"`
				} `json:"presence"`
			}
			api(t, "presence", map[string]string{"channel": channel}, &presence)
			entry, ok := presence.Presence[conn.ClientID]
			if !ok || entry.User != user || entry.ChanInfo["role"] != "reader" {
				t.Fatalf("presence %+v, want client %s of %s with chan_info role=reader", presence.Presence, conn.ClientID, user)
			}
			apiPublish(t, channel, `{"secret":true}`)
			sameJSON(t, "publication", recv(t, s.pubs, "publication").Data, `{"secret":true}`)
		})
		t.Run("for another channel", func(t *testing.T) {
			user := unique(t, "u-")
			c, _ := connected(t, p, user)
			s := c.newSub(t, unique(t, "secure:"), centrifuge.SubscriptionConfig{
				Token: subToken(user, unique(t, "secure:other-"), 0, nil),
			})
			if err := s.Subscribe(); err != nil {
				t.Fatal(err)
			}
			if d := recv(t, c.disconnected, "disconnected event"); d.Code != 3500 {
				t.Fatalf("disconnect code %d %q, want 3500 (invalid token)", d.Code, d.Reason)
			}
		})
		t.Run("refreshed", func(t *testing.T) {
			user := unique(t, "u-")
			channel := unique(t, "secure:")
			c, _ := connected(t, p, user)
			calls := make(chan string, eventBuffer)
			s := c.newSub(t, channel, centrifuge.SubscriptionConfig{
				Token: subToken(user, channel, shortTTL, nil),
				GetToken: func(e centrifuge.SubscriptionTokenEvent) (string, error) {
					calls <- e.Channel
					return subToken(user, channel, shortTTL, nil), nil
				},
			})
			s.subscribe(t)
			// As for the connection: the second call proves the server took the first refresh.
			if got := recvN(t, calls, 2, "two subscription GetToken calls"); got[0] != channel || got[1] != channel {
				t.Fatalf("GetToken called for %v, want %s", got, channel)
			}
			select {
			case e := <-s.errors:
				t.Fatalf("subscription error %v", e.Error)
			case e := <-s.unsubscribed:
				t.Fatalf("unsubscribed %d %q", e.Code, e.Reason)
			default:
			}
			// Still subscribed: publications arrive.
			apiPublish(t, channel, `"after refresh"`)
			sameJSON(t, "publication after refresh", recv(t, s.pubs, "publication").Data, `"after refresh"`)
		})
	})
}

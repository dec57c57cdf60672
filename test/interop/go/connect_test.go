package interop

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/centrifugal/centrifuge-go"
	"github.com/golang-jwt/jwt/v5"
)

// A connection token made here (HS256 with the configured secret) is accepted, and the server knows
// the token's user: the RPC answered on the server side sees it.
func TestConnectWithToken(t *testing.T) {
	eachProtocol(t, func(t *testing.T, p protocol) {
		user := unique(t, "u-")
		c, ev := connected(t, p, user)
		if ev.ClientID == "" {
			t.Fatal("connected event without a client id")
		}
		if c.State() != centrifuge.StateConnected {
			t.Fatalf("state %s after the connected event", c.State())
		}
		ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
		defer cancel()
		res, err := c.RPC(ctx, "echo", []byte(`{}`))
		if err != nil {
			t.Fatalf("RPC echo: %v", err)
		}
		var echo struct{ User string }
		if err := json.Unmarshal(res.Data, &echo); err != nil || echo.User != user {
			t.Fatalf("the server sees user %q (%v), want the token's sub %q", echo.User, err, user)
		}
	})
}

// What the SDK reports when the server refuses a connection: a bad token and a missing token end
// the client for good (no reconnect), an expired one makes the SDK ask GetToken for a new one.
func TestConnectRefused(t *testing.T) {
	eachProtocol(t, func(t *testing.T, p protocol) {
		t.Run("bad signature", func(t *testing.T) {
			bad, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"sub": "x"}).
				SignedString([]byte("not-the-secret"))
			if err != nil {
				t.Fatal(err)
			}
			c := newClient(t, p, bad, nil)
			if err := c.Connect(); err != nil {
				t.Fatalf("Connect: %v", err)
			}
			// 3500 invalid token: terminal, the SDK does not reconnect.
			if d := recv(t, c.disconnected, "disconnected event"); d.Code != 3500 {
				t.Fatalf("disconnect code %d %q, want 3500", d.Code, d.Reason)
			}
			none(t, c.connected, "connected event")
		})
		t.Run("no token", func(t *testing.T) {
			c := newClient(t, p, "", nil)
			if err := c.Connect(); err != nil {
				t.Fatalf("Connect: %v", err)
			}
			// Anonymous connections are not allowed by the config.
			if d := recv(t, c.disconnected, "disconnected event"); d.Code != 3501 {
				t.Fatalf("disconnect code %d %q, want 3501", d.Code, d.Reason)
			}
			none(t, c.connected, "connected event")
		})
		t.Run("expired without GetToken", func(t *testing.T) {
			c := newClient(t, p, connToken(unique(t, "u-"), -time.Minute, nil), nil)
			if err := c.Connect(); err != nil {
				t.Fatalf("Connect: %v", err)
			}
			// The server answers 109 (token expired); with no GetToken to ask, the SDK gives up
			// with its own code 1 "unauthorized". Any other answer would end differently.
			if d := recv(t, c.disconnected, "disconnected event"); d.Code != 1 {
				t.Fatalf("disconnect code %d %q, want the SDK's 1 (after error 109)", d.Code, d.Reason)
			}
			none(t, c.connected, "connected event")
		})
	})
}

// The RPC the runner's server answers (a plugin in Sluice, the RPC proxy in Centrifugo).
func TestRPC(t *testing.T) {
	eachProtocol(t, func(t *testing.T, p protocol) {
		user := unique(t, "u-")
		c, _ := connected(t, p, user)
		ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
		defer cancel()

		res, err := c.RPC(ctx, "echo", []byte(`{"n":1,"s":"héllo","list":[true,null]}`))
		if err != nil {
			t.Fatalf("RPC echo: %v", err)
		}
		sameJSON(t, "echo result", res.Data,
			`{"echo":{"n":1,"s":"héllo","list":[true,null]},"user":"`+user+`"}`)

		_, err = c.RPC(ctx, "fail", []byte(`{}`))
		if e := serverError(t, "RPC fail", err); e.Code != 4001 || e.Message != "rpc failed on purpose" {
			t.Fatalf("RPC fail: error %d %q, want 4001 \"rpc failed on purpose\"", e.Code, e.Message)
		}

		_, err = c.RPC(ctx, "no-such-method", []byte(`{}`))
		wantCode(t, "RPC of an unknown method", err, 104)

		// Errors of an RPC leave the connection as it was.
		if _, err := c.RPC(ctx, "echo", []byte(`1`)); err != nil {
			t.Fatalf("RPC echo after errors: %v", err)
		}
		if c.State() != centrifuge.StateConnected {
			t.Fatalf("state %s after RPC errors", c.State())
		}
	})
}

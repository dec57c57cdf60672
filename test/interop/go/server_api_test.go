package interop

import (
	"context"
	"reflect"
	"testing"

	"github.com/centrifugal/centrifuge-go"
)

// What the server API's `disconnect` and `refresh` do to a connection, as the SDK reports it:
// terminal codes end the client, reconnect codes (and an expired refresh) make it connect again.
func TestServerDisconnect(t *testing.T) {
	eachProtocol(t, func(t *testing.T, p protocol) {
		t.Run("default code", func(t *testing.T) {
			user := unique(t, "u-")
			c, _ := connected(t, p, user)
			api(t, "disconnect", map[string]any{"user": user}, nil)
			// 3503 force no reconnect
			if d := recv(t, c.disconnected, "disconnected event"); d.Code != 3503 {
				t.Fatalf("disconnect code %d %q, want 3503", d.Code, d.Reason)
			}
			none(t, c.connected, "reconnect")
		})
		t.Run("terminal application code", func(t *testing.T) {
			user := unique(t, "u-")
			c, _ := connected(t, p, user)
			api(t, "disconnect", map[string]any{"user": user, "disconnect": map[string]any{"code": 4501, "reason": "go away"}}, nil)
			if d := recv(t, c.disconnected, "disconnected event"); d.Code != 4501 || d.Reason != "go away" {
				t.Fatalf("disconnect %d %q, want 4501 \"go away\"", d.Code, d.Reason)
			}
			none(t, c.connected, "reconnect")
		})
		t.Run("reconnect code", func(t *testing.T) {
			user := unique(t, "u-")
			c, _ := connected(t, p, user)
			forceReconnect(t, c, user)
			recv(t, c.connected, "connected event after the reconnect")
		})
		t.Run("whitelist and client", func(t *testing.T) {
			user := unique(t, "u-")
			kept, keptConn := connected(t, p, user)
			gone, _ := connected(t, p, user)
			api(t, "disconnect", map[string]any{"user": user, "whitelist": []string{keptConn.ClientID}}, nil)
			if d := recv(t, gone.disconnected, "disconnect of the connection not whitelisted"); d.Code != 3503 {
				t.Fatalf("disconnect code %d %q, want 3503", d.Code, d.Reason)
			}
			none(t, kept.disconnected, "disconnect of the whitelisted connection")
			api(t, "disconnect", map[string]any{"user": user, "client": keptConn.ClientID}, nil)
			recv(t, kept.disconnected, "disconnect of the connection named by client")
		})
		t.Run("refresh expired", func(t *testing.T) {
			user := unique(t, "u-")
			c, _ := connected(t, p, user)
			api(t, "refresh", map[string]any{"user": user, "expired": true}, nil)
			// 3005 token expired: the SDK reconnects (with its token, which has no exp).
			e := recvMatch(t, c.connecting, "connecting event", func(e centrifuge.ConnectingEvent) bool { return e.Code != 0 })
			if e.Code != 3005 {
				t.Fatalf("connecting code %d %q, want 3005", e.Code, e.Reason)
			}
			recv(t, c.connected, "connected event after the reconnect")
		})
	})
}

// The server API's read methods agree with what the SDK sees: presence, presence_stats, history,
// channels and info report the SDK's connection and publications.
func TestServerAPIMatchesSDK(t *testing.T) {
	eachProtocol(t, func(t *testing.T, p protocol) {
		user := unique(t, "u-")
		channel := unique(t, "ch-")
		c := newClient(t, p, connToken(user, 0, map[string]any{"info": map[string]string{"k": "v"}}), nil)
		conn := c.connect(t)
		s := c.subscribed(t, channel, centrifuge.SubscriptionConfig{})
		ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
		defer cancel()
		if _, err := s.Publish(ctx, []byte(`{"from":"sdk"}`)); err != nil {
			t.Fatalf("Publish: %v", err)
		}
		recv(t, s.pubs, "own publication")

		var presence struct {
			Presence map[string]struct {
				User     string         `json:"user"`
				Client   string         `json:"client"`
				ConnInfo map[string]any `json:"conn_info"`
			} `json:"presence"`
		}
		api(t, "presence", map[string]string{"channel": channel}, &presence)
		e, ok := presence.Presence[conn.ClientID]
		if len(presence.Presence) != 1 || !ok || e.User != user || e.Client != conn.ClientID || e.ConnInfo["k"] != "v" {
			t.Fatalf("API presence %+v, want only client %s of %s with conn_info k=v", presence.Presence, conn.ClientID, user)
		}

		var stats struct {
			NumClients int `json:"num_clients"`
			NumUsers   int `json:"num_users"`
		}
		api(t, "presence_stats", map[string]string{"channel": channel}, &stats)
		if stats.NumClients != 1 || stats.NumUsers != 1 {
			t.Fatalf("API presence_stats %+v, want 1/1", stats)
		}

		var history struct {
			Publications []struct {
				Data   map[string]any `json:"data"`
				Offset uint64         `json:"offset"`
				Info   *struct {
					User   string `json:"user"`
					Client string `json:"client"`
				} `json:"info"`
			} `json:"publications"`
			Offset uint64 `json:"offset"`
			Epoch  string `json:"epoch"`
		}
		api(t, "history", map[string]any{"channel": channel, "limit": -1}, &history)
		sdkHistory, err := s.History(ctx, centrifuge.WithHistoryLimit(-1))
		if err != nil {
			t.Fatalf("SDK history: %v", err)
		}
		if len(history.Publications) != 1 || history.Publications[0].Offset != 1 ||
			history.Publications[0].Data["from"] != "sdk" || history.Publications[0].Info == nil ||
			history.Publications[0].Info.Client != conn.ClientID {
			t.Fatalf("API history %+v, want the SDK's publication at offset 1 with its client info", history)
		}
		if history.Offset != sdkHistory.Offset || history.Epoch != sdkHistory.Epoch {
			t.Fatalf("API history position %d/%q, SDK's %d/%q", history.Offset, history.Epoch, sdkHistory.Offset, sdkHistory.Epoch)
		}

		var channels struct {
			Channels map[string]struct {
				NumClients int `json:"num_clients"`
			} `json:"channels"`
		}
		api(t, "channels", map[string]string{"pattern": channel}, &channels)
		if !reflect.DeepEqual(channels.Channels, map[string]struct {
			NumClients int `json:"num_clients"`
		}{channel: {NumClients: 1}}) {
			t.Fatalf("API channels %+v, want only %s with 1 client", channels.Channels, channel)
		}

		// info: the node's counts are refreshed periodically (not checked), its identity is not.
		var info struct {
			Nodes []struct {
				UID     string `json:"uid"`
				Name    string `json:"name"`
				Version string `json:"version"`
			} `json:"nodes"`
		}
		api(t, "info", map[string]any{}, &info)
		if len(info.Nodes) != 1 || info.Nodes[0].UID == "" || info.Nodes[0].Name == "" || info.Nodes[0].Version == "" {
			t.Fatalf("API info %+v, want one node with uid, name and version", info)
		}
	})
}

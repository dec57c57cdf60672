package interop

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"reflect"
	"testing"

	"github.com/centrifugal/centrifuge-go"
)

// Publications sent through the server HTTP API reach a subscriber with their data, tags and
// offsets; the subscribe reply gives the stream position of a channel with history.
func TestSubscribeAndAPIPublish(t *testing.T) {
	eachProtocol(t, func(t *testing.T, p protocol) {
		c, _ := connected(t, p, unique(t, "u-"))
		channel := unique(t, "ch-")
		s := c.newSub(t, channel, centrifuge.SubscriptionConfig{})
		ev := s.subscribe(t)
		// The channel keeps history with force_recovery: the subscription is recoverable and
		// positioned at the start of a new stream.
		if !ev.Recoverable || ev.StreamPosition == nil || ev.StreamPosition.Epoch == "" || ev.StreamPosition.Offset != 0 {
			t.Fatalf("subscribed %+v (position %+v), want recoverable at offset 0 with an epoch", ev, ev.StreamPosition)
		}
		if ev.WasRecovering || ev.Recovered {
			t.Fatalf("first subscribe reports recovery: %+v", ev)
		}
		if s.State() != centrifuge.SubStateSubscribed {
			t.Fatalf("state %s after the subscribed event", s.State())
		}

		var r publishResult
		api(t, "publish", map[string]any{
			"channel": channel,
			"data":    map[string]any{"text": "hello", "n": 1},
			"tags":    map[string]string{"kind": "greeting"},
		}, &r)
		if r.Offset != 1 || r.Epoch != ev.StreamPosition.Epoch {
			t.Fatalf("publish result %+v, want offset 1 in epoch %q", r, ev.StreamPosition.Epoch)
		}
		pub := recv(t, s.pubs, "publication")
		sameJSON(t, "data", pub.Data, `{"text":"hello","n":1}`)
		if pub.Offset != 1 {
			t.Fatalf("offset %d, want 1", pub.Offset)
		}
		if !reflect.DeepEqual(pub.Tags, map[string]string{"kind": "greeting"}) {
			t.Fatalf("tags %v, want kind=greeting", pub.Tags)
		}
		if pub.Info != nil {
			t.Fatalf("an API publication carries client info %+v", pub.Info)
		}

		// JSON values of every kind arrive as they were sent, in order.
		values := []string{`"a string"`, `42`, `[1,"two",{"three":3}]`, `{"nested":{"deep":[null,false]}}`}
		for _, v := range values {
			apiPublish(t, channel, v)
		}
		got := recvN(t, s.pubs, len(values), "publications")
		for i, v := range values {
			sameJSON(t, fmt.Sprintf("publication %d", i), got[i].Data, v)
			if got[i].Offset != uint64(i+2) {
				t.Fatalf("publication %d: offset %d, want %d", i, got[i].Offset, i+2)
			}
		}

		// After unsubscribing nothing more arrives.
		if err := s.Unsubscribe(); err != nil {
			t.Fatal(err)
		}
		if u := recv(t, s.unsubscribed, "unsubscribed event"); u.Code != 0 {
			t.Fatalf("unsubscribe code %d, want the SDK's 0 (unsubscribe called)", u.Code)
		}
		apiPublish(t, channel, `"after unsubscribe"`)
		none(t, s.pubs, "publication after unsubscribe")
	})
}

// broadcast publishes one message to several channels.
func TestAPIBroadcast(t *testing.T) {
	eachProtocol(t, func(t *testing.T, p protocol) {
		c, _ := connected(t, p, unique(t, "u-"))
		a, b := unique(t, "a-"), unique(t, "stream:b-")
		sa := c.subscribed(t, a, centrifuge.SubscriptionConfig{})
		sb := c.subscribed(t, b, centrifuge.SubscriptionConfig{})
		var res struct {
			Responses []struct {
				Result *publishResult `json:"result"`
				Error  *apiError      `json:"error"`
			} `json:"responses"`
		}
		api(t, "broadcast", map[string]any{"channels": []string{a, b}, "data": map[string]int{"to": 2}}, &res)
		if len(res.Responses) != 2 || res.Responses[0].Error != nil || res.Responses[1].Error != nil {
			t.Fatalf("broadcast responses %+v", res.Responses)
		}
		for _, s := range []*subscription{sa, sb} {
			pub := recv(t, s.pubs, "publication in "+s.Channel)
			sameJSON(t, s.Channel, pub.Data, `{"to":2}`)
			if pub.Offset != 1 {
				t.Fatalf("%s: offset %d, want 1", s.Channel, pub.Offset)
			}
		}
	})
}

// A client's publication reaches subscribers of either protocol with the publisher's client info;
// the namespace's permissions are enforced.
func TestClientPublish(t *testing.T) {
	eachProtocol(t, func(t *testing.T, p protocol) {
		other := protocols[0]
		if p.name == other.name {
			other = protocols[1]
		}
		channel := unique(t, "ch-")
		pubUser := unique(t, "pub-")
		publisher, pubConn := connected(t, p, pubUser)
		// The subscriber speaks the other protocol: what crosses between the two must survive.
		subscriber, _ := connected(t, other, unique(t, "sub-"))
		ps := publisher.subscribed(t, channel, centrifuge.SubscriptionConfig{})
		ss := subscriber.subscribed(t, channel, centrifuge.SubscriptionConfig{})

		ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
		defer cancel()
		if _, err := ps.Publish(ctx, []byte(`{"text":"from a client","n":[1,2]}`)); err != nil {
			t.Fatalf("Subscription.Publish: %v", err)
		}
		for name, s := range map[string]*subscription{"subscriber": ss, "publisher": ps} {
			pub := recv(t, s.pubs, "publication at the "+name)
			sameJSON(t, name, pub.Data, `{"text":"from a client","n":[1,2]}`)
			if pub.Offset != 1 {
				t.Fatalf("%s: offset %d, want 1", name, pub.Offset)
			}
			if pub.Info == nil || pub.Info.User != pubUser || pub.Info.Client != pubConn.ClientID {
				t.Fatalf("%s: info %+v, want user %q client %q", name, pub.Info, pubUser, pubConn.ClientID)
			}
		}

		// Client.Publish (no Subscription object involved) also works for a subscribed client.
		if _, err := publisher.Publish(ctx, channel, []byte(`"second"`)); err != nil {
			t.Fatalf("Client.Publish: %v", err)
		}
		pub := recv(t, ss.pubs, "second publication")
		sameJSON(t, "second", pub.Data, `"second"`)
		if pub.Offset != 2 {
			t.Fatalf("second publication: offset %d, want 2", pub.Offset)
		}

		// allow_publish_for_subscriber: a client not subscribed to the channel may not publish.
		_, err := publisher.Publish(ctx, unique(t, "ch-"), []byte(`{}`))
		wantCode(t, "publish to a channel not subscribed", err, 103)
		// The stream namespace allows no client publications at all.
		streamCh := unique(t, "stream:")
		publisher.subscribed(t, streamCh, centrifuge.SubscriptionConfig{})
		_, err = publisher.Publish(ctx, streamCh, []byte(`{}`))
		wantCode(t, "publish in the stream namespace", err, 103)
	})
}

// Bytes that are not JSON reach a protobuf subscriber exactly, from the server API (b64data) and
// from a protobuf publisher. (JSON clients cannot carry them: JSON only.)
func TestBinaryData(t *testing.T) {
	t.Parallel()
	selected(t)
	p := protocols[1]
	channel := unique(t, "ch-")
	publisher, _ := connected(t, p, unique(t, "pub-"))
	subscriber, _ := connected(t, p, unique(t, "sub-"))
	ps := publisher.subscribed(t, channel, centrifuge.SubscriptionConfig{})
	ss := subscriber.subscribed(t, channel, centrifuge.SubscriptionConfig{})

	binary := []byte{0, 1, 2, 0xfe, 0xff, '{', 0x80}
	api(t, "publish", map[string]any{"channel": channel, "b64data": base64.StdEncoding.EncodeToString(binary)}, nil)
	if pub := recv(t, ss.pubs, "API publication"); !bytes.Equal(pub.Data, binary) {
		t.Fatalf("API b64data: got %v, want %v", pub.Data, binary)
	}

	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	fromClient := []byte{0xff, 0, 'x', 0x7f, 0xc3}
	if _, err := ps.Publish(ctx, fromClient); err != nil {
		t.Fatalf("Publish: %v", err)
	}
	if pub := recv(t, ss.pubs, "client publication"); !bytes.Equal(pub.Data, fromClient) || pub.Offset != 2 {
		t.Fatalf("client bytes: got %v at offset %d, want %v at 2", pub.Data, pub.Offset, fromClient)
	}
}

// Join and leave of other clients, with their client info (the namespace pushes them to everyone).
func TestJoinLeave(t *testing.T) {
	eachProtocol(t, func(t *testing.T, p protocol) {
		channel := unique(t, "ch-")
		watcher, watcherConn := connected(t, p, unique(t, "w-"))
		ws := watcher.subscribed(t, channel, centrifuge.SubscriptionConfig{})

		user := unique(t, "j-")
		joiner := newClient(t, p, connToken(user, 0, map[string]any{"info": map[string]string{"name": "joiner"}}), nil)
		jc := joiner.connect(t)
		js := joiner.subscribed(t, channel, centrifuge.SubscriptionConfig{})

		join := recvMatch(t, ws.joins, "join of the second client", func(e centrifuge.JoinEvent) bool {
			return e.Client != watcherConn.ClientID
		})
		if join.Client != jc.ClientID || join.User != user {
			t.Fatalf("join %+v, want client %q user %q", join.ClientInfo, jc.ClientID, user)
		}
		sameJSON(t, "join conn info", join.ConnInfo, `{"name":"joiner"}`)

		if err := js.Unsubscribe(); err != nil {
			t.Fatal(err)
		}
		leave := recv(t, ws.leaves, "leave of the second client")
		if leave.Client != jc.ClientID || leave.User != user {
			t.Fatalf("leave %+v, want client %q user %q", leave.ClientInfo, jc.ClientID, user)
		}
		sameJSON(t, "leave conn info", leave.ConnInfo, `{"name":"joiner"}`)
	})
}

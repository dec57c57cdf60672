// Package interop drives the official Go SDK (centrifuge-go) against the server whose addresses
// are in the INTEROP_* variables (test/interop/config.ts). The tests know nothing of which server
// that is: every one of them also passes against Centrifugo itself, which is how we know they test
// the protocol and not our reading of it.
package interop

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"reflect"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/centrifugal/centrifuge-go"
	"github.com/golang-jwt/jwt/v5"
)

// waitTimeout bounds every wait for something the server should deliver. Generous: the machine
// may be shared with other suites, and a wait that expires fails the test rather than hanging.
const waitTimeout = 15 * time.Second

// quiet is how long a test watches for something that must NOT arrive.
const quiet = 500 * time.Millisecond

var env struct {
	wsURL, apiURL, apiKey, hmacSecret string
	filters                           []string
}

func TestMain(m *testing.M) {
	for name, dst := range map[string]*string{
		"INTEROP_WS_URL":      &env.wsURL,
		"INTEROP_API_URL":     &env.apiURL,
		"INTEROP_API_KEY":     &env.apiKey,
		"INTEROP_HMAC_SECRET": &env.hmacSecret,
	} {
		*dst = os.Getenv(name)
		if *dst == "" {
			// Not a skip: a run without a server tests nothing and must say so.
			fmt.Fprintf(os.Stderr, "%s is not set: run this suite through `bun test/interop/run.ts --suites=go`\n", name)
			os.Exit(2)
		}
	}
	for _, f := range strings.Split(os.Getenv("INTEROP_FILTERS"), "\n") {
		if f = strings.TrimSpace(f); f != "" {
			env.filters = append(env.filters, strings.ToLower(f))
		}
	}
	os.Exit(m.Run())
}

// selected skips the test unless its full name contains one of the runner's filters (the same
// rule for every language suite: `run.ts recovery` runs each suite's recovery tests). The suite
// runner leaves skipped tests out of its results.
func selected(t *testing.T) {
	t.Helper()
	if !matches(t.Name()) {
		t.Skip("not selected by the runner's filters")
	}
}

func matches(name string) bool {
	if len(env.filters) == 0 {
		return true
	}
	name = strings.ToLower(name)
	for _, f := range env.filters {
		if strings.Contains(name, f) {
			return true
		}
	}
	return false
}

// protocol is one of the SDK's two wire formats; every test runs over both.
type protocol struct {
	name      string
	newClient func(endpoint string, config centrifuge.Config) *centrifuge.Client
}

var protocols = []protocol{
	{"json", centrifuge.NewJsonClient},
	{"protobuf", centrifuge.NewProtobufClient},
}

// eachProtocol runs fn as the subtests <Test>/json and <Test>/protobuf, in parallel with the other
// tests (each uses channels and users of its own).
func eachProtocol(t *testing.T, fn func(t *testing.T, p protocol)) {
	any := false
	for _, p := range protocols {
		any = any || matches(t.Name()+"/"+p.name)
	}
	if !any {
		t.Skip("not selected by the runner's filters")
	}
	t.Parallel()
	for _, p := range protocols {
		t.Run(p.name, func(t *testing.T) {
			selected(t)
			t.Parallel()
			fn(t, p)
		})
	}
}

var unsafeChars = regexp.MustCompile(`[^a-zA-Z0-9]+`)

// unique gives a name no other test and no other run uses: the server is shared by every test of
// a target, and a channel's history outlives a run.
func unique(t *testing.T, prefix string) string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return prefix + strings.ToLower(unsafeChars.ReplaceAllString(t.Name(), "-")) + "-" + hex.EncodeToString(b)
}

// --- tokens ---------------------------------------------------------------------------------------

// sign makes an HS256 token with the configured secret. (HMAC signing cannot fail with a []byte
// key; the helpers take no *testing.T so that SDK callbacks, on their own goroutines, can use them.)
func sign(claims jwt.MapClaims) string {
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString([]byte(env.hmacSecret))
	if err != nil {
		panic(err)
	}
	return s
}

// connToken is a connection token for user, expiring after ttl (0: no exp), with extra claims
// (info, channels, …).
func connToken(user string, ttl time.Duration, extra map[string]any) string {
	claims := jwt.MapClaims{"sub": user}
	if ttl != 0 {
		claims["exp"] = time.Now().Add(ttl).Unix()
	}
	for k, v := range extra {
		claims[k] = v
	}
	return sign(claims)
}

// subToken is a subscription token of user for channel.
func subToken(user, channel string, ttl time.Duration, extra map[string]any) string {
	claims := jwt.MapClaims{"sub": user, "channel": channel}
	if ttl != 0 {
		claims["exp"] = time.Now().Add(ttl).Unix()
	}
	for k, v := range extra {
		claims[k] = v
	}
	return sign(claims)
}

// --- the server HTTP API --------------------------------------------------------------------------

type apiError struct {
	Code    uint32 `json:"code"`
	Message string `json:"message"`
}

var httpClient = &http.Client{Timeout: waitTimeout}

// postAPI posts body to /api/<method> with the key in X-API-Key and returns the answer's result
// or its error object. It does not touch a *testing.T, so SDK callbacks may call it.
func postAPI(method string, body any) (json.RawMessage, *apiError, error) {
	raw, err := json.Marshal(body)
	if err != nil {
		return nil, nil, fmt.Errorf("api %s: encode: %w", method, err)
	}
	req, err := http.NewRequest(http.MethodPost, env.apiURL+"/"+method, bytes.NewReader(raw))
	if err != nil {
		return nil, nil, fmt.Errorf("api %s: %w", method, err)
	}
	req.Header.Set("X-API-Key", env.apiKey)
	req.Header.Set("Content-Type", "application/json")
	res, err := httpClient.Do(req)
	if err != nil {
		return nil, nil, fmt.Errorf("api %s: %w", method, err)
	}
	defer res.Body.Close()
	text, err := io.ReadAll(res.Body)
	if err != nil {
		return nil, nil, fmt.Errorf("api %s: read: %w", method, err)
	}
	if res.StatusCode != http.StatusOK {
		return nil, nil, fmt.Errorf("api %s %s: HTTP %d: %s", method, raw, res.StatusCode, text)
	}
	var answer struct {
		Result json.RawMessage `json:"result"`
		Error  *apiError       `json:"error"`
	}
	if err := json.Unmarshal(text, &answer); err != nil {
		return nil, nil, fmt.Errorf("api %s: answer %q: %w", method, text, err)
	}
	return answer.Result, answer.Error, nil
}

// callAPI is postAPI that fails the test when the call itself fails (not on an error answer).
func callAPI(t *testing.T, method string, body any) (json.RawMessage, *apiError) {
	t.Helper()
	result, apiErr, err := postAPI(method, body)
	if err != nil {
		t.Fatal(err)
	}
	return result, apiErr
}

// api is callAPI that also fails on an error answer; the result is decoded into out (if any).
func api(t *testing.T, method string, body any, out any) {
	t.Helper()
	result, apiErr := callAPI(t, method, body)
	if apiErr != nil {
		t.Fatalf("api %s: error %d %s", method, apiErr.Code, apiErr.Message)
	}
	if out != nil {
		if err := json.Unmarshal(result, out); err != nil {
			t.Fatalf("api %s: result %s: %v", method, result, err)
		}
	}
}

type publishResult struct {
	Offset uint64 `json:"offset"`
	Epoch  string `json:"epoch"`
}

// publishE publishes data (JSON text) to channel through the server API, without a *testing.T.
func publishE(channel, data string) (publishResult, error) {
	var r publishResult
	result, apiErr, err := postAPI("publish", map[string]any{"channel": channel, "data": json.RawMessage(data)})
	if err != nil {
		return r, err
	}
	if apiErr != nil {
		return r, fmt.Errorf("api publish: error %d %s", apiErr.Code, apiErr.Message)
	}
	err = json.Unmarshal(result, &r)
	return r, err
}

// apiPublish publishes data (JSON text) to channel through the server API.
func apiPublish(t *testing.T, channel, data string) publishResult {
	t.Helper()
	r, err := publishE(channel, data)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// --- clients and subscriptions, with their events as channels --------------------------------------

// client is an SDK client whose events are recorded; it is closed when the test ends.
type client struct {
	*centrifuge.Client
	connected          chan centrifuge.ConnectedEvent
	connecting         chan centrifuge.ConnectingEvent
	disconnected       chan centrifuge.DisconnectedEvent
	serverSubscribed   chan centrifuge.ServerSubscribedEvent
	serverSubscribing  chan centrifuge.ServerSubscribingEvent
	serverUnsubscribed chan centrifuge.ServerUnsubscribedEvent
	serverPubs         chan centrifuge.ServerPublicationEvent
	serverJoins        chan centrifuge.ServerJoinEvent
	serverLeaves       chan centrifuge.ServerLeaveEvent
	// onConnecting, when set before Connect, runs inside the SDK's connecting callback. The SDK
	// waits for that callback before it schedules the reconnect, so what the hook does happens
	// while the client is away (that is how recovery tests publish "while away" without racing).
	onConnecting func(centrifuge.ConnectingEvent)
	log          *eventLog
}

// eventLog keeps the SDK's errors and state changes, printed when the test fails. (t.Log from
// the SDK's goroutines could outlive the test.)
type eventLog struct {
	mu    sync.Mutex
	lines []string
}

func (l *eventLog) add(format string, args ...any) {
	l.mu.Lock()
	l.lines = append(l.lines, time.Now().Format("15:04:05.000 ")+fmt.Sprintf(format, args...))
	l.mu.Unlock()
}

func newEventLog(t *testing.T, what string) *eventLog {
	l := &eventLog{}
	t.Cleanup(func() {
		if t.Failed() {
			l.mu.Lock()
			defer l.mu.Unlock()
			t.Logf("%s events:\n  %s", what, strings.Join(l.lines, "\n  "))
		}
	})
	return l
}

// Buffers large enough that the SDK's callbacks never block on a test that is not reading.
const eventBuffer = 1024

func newClient(t *testing.T, p protocol, token string, configure func(*centrifuge.Config)) *client {
	t.Helper()
	cfg := centrifuge.Config{Token: token, Name: "interop-go"}
	if configure != nil {
		configure(&cfg)
	}
	c := &client{
		Client:             p.newClient(env.wsURL, cfg),
		connected:          make(chan centrifuge.ConnectedEvent, eventBuffer),
		connecting:         make(chan centrifuge.ConnectingEvent, eventBuffer),
		disconnected:       make(chan centrifuge.DisconnectedEvent, eventBuffer),
		serverSubscribed:   make(chan centrifuge.ServerSubscribedEvent, eventBuffer),
		serverSubscribing:  make(chan centrifuge.ServerSubscribingEvent, eventBuffer),
		serverUnsubscribed: make(chan centrifuge.ServerUnsubscribedEvent, eventBuffer),
		serverPubs:         make(chan centrifuge.ServerPublicationEvent, eventBuffer),
		serverJoins:        make(chan centrifuge.ServerJoinEvent, eventBuffer),
		serverLeaves:       make(chan centrifuge.ServerLeaveEvent, eventBuffer),
		log:                newEventLog(t, "client"),
	}
	c.OnConnected(func(e centrifuge.ConnectedEvent) {
		c.log.add("connected client=%s", e.ClientID)
		c.connected <- e
	})
	c.OnConnecting(func(e centrifuge.ConnectingEvent) {
		c.log.add("connecting code=%d reason=%q", e.Code, e.Reason)
		if c.onConnecting != nil {
			c.onConnecting(e)
		}
		c.connecting <- e
	})
	c.OnDisconnected(func(e centrifuge.DisconnectedEvent) {
		c.log.add("disconnected code=%d reason=%q", e.Code, e.Reason)
		c.disconnected <- e
	})
	c.OnError(func(e centrifuge.ErrorEvent) { c.log.add("error %v", e.Error) })
	c.OnSubscribed(func(e centrifuge.ServerSubscribedEvent) {
		c.log.add("server-side subscribed %s recovered=%v", e.Channel, e.Recovered)
		c.serverSubscribed <- e
	})
	c.OnSubscribing(func(e centrifuge.ServerSubscribingEvent) { c.serverSubscribing <- e })
	c.OnUnsubscribed(func(e centrifuge.ServerUnsubscribedEvent) {
		c.log.add("server-side unsubscribed %s", e.Channel)
		c.serverUnsubscribed <- e
	})
	c.OnPublication(func(e centrifuge.ServerPublicationEvent) { c.serverPubs <- e })
	c.OnJoin(func(e centrifuge.ServerJoinEvent) { c.serverJoins <- e })
	c.OnLeave(func(e centrifuge.ServerLeaveEvent) { c.serverLeaves <- e })
	t.Cleanup(c.Close)
	return c
}

// connect connects c and waits for the connected event.
func (c *client) connect(t *testing.T) centrifuge.ConnectedEvent {
	t.Helper()
	if err := c.Connect(); err != nil {
		t.Fatalf("Connect: %v", err)
	}
	return recv(t, c.connected, "connected event")
}

// connected is a new client of user (a token without exp), connected.
func connected(t *testing.T, p protocol, user string) (*client, centrifuge.ConnectedEvent) {
	t.Helper()
	c := newClient(t, p, connToken(user, 0, nil), nil)
	return c, c.connect(t)
}

type subscription struct {
	*centrifuge.Subscription
	subscribed   chan centrifuge.SubscribedEvent
	subscribing  chan centrifuge.SubscribingEvent
	unsubscribed chan centrifuge.UnsubscribedEvent
	errors       chan centrifuge.SubscriptionErrorEvent
	pubs         chan centrifuge.PublicationEvent
	joins        chan centrifuge.JoinEvent
	leaves       chan centrifuge.LeaveEvent
}

func (c *client) newSub(t *testing.T, channel string, cfg centrifuge.SubscriptionConfig) *subscription {
	t.Helper()
	sub, err := c.NewSubscription(channel, cfg)
	if err != nil {
		t.Fatalf("NewSubscription %s: %v", channel, err)
	}
	s := &subscription{
		Subscription: sub,
		subscribed:   make(chan centrifuge.SubscribedEvent, eventBuffer),
		subscribing:  make(chan centrifuge.SubscribingEvent, eventBuffer),
		unsubscribed: make(chan centrifuge.UnsubscribedEvent, eventBuffer),
		errors:       make(chan centrifuge.SubscriptionErrorEvent, eventBuffer),
		pubs:         make(chan centrifuge.PublicationEvent, eventBuffer),
		joins:        make(chan centrifuge.JoinEvent, eventBuffer),
		leaves:       make(chan centrifuge.LeaveEvent, eventBuffer),
	}
	sub.OnSubscribed(func(e centrifuge.SubscribedEvent) {
		c.log.add("%s subscribed recovered=%v wasRecovering=%v", channel, e.Recovered, e.WasRecovering)
		s.subscribed <- e
	})
	sub.OnSubscribing(func(e centrifuge.SubscribingEvent) {
		c.log.add("%s subscribing code=%d reason=%q", channel, e.Code, e.Reason)
		s.subscribing <- e
	})
	sub.OnUnsubscribed(func(e centrifuge.UnsubscribedEvent) {
		c.log.add("%s unsubscribed code=%d reason=%q", channel, e.Code, e.Reason)
		s.unsubscribed <- e
	})
	sub.OnError(func(e centrifuge.SubscriptionErrorEvent) {
		c.log.add("%s error %v", channel, e.Error)
		s.errors <- e
	})
	sub.OnPublication(func(e centrifuge.PublicationEvent) { s.pubs <- e })
	sub.OnJoin(func(e centrifuge.JoinEvent) { s.joins <- e })
	sub.OnLeave(func(e centrifuge.LeaveEvent) { s.leaves <- e })
	return s
}

// subscribe subscribes s and waits for the subscribed event.
func (s *subscription) subscribe(t *testing.T) centrifuge.SubscribedEvent {
	t.Helper()
	if err := s.Subscribe(); err != nil {
		t.Fatalf("Subscribe %s: %v", s.Channel, err)
	}
	return recv(t, s.subscribed, "subscribed event of "+s.Channel)
}

// subscribed is a new subscription of c to channel, subscribed.
func (c *client) subscribed(t *testing.T, channel string, cfg centrifuge.SubscriptionConfig) *subscription {
	t.Helper()
	s := c.newSub(t, channel, cfg)
	s.subscribe(t)
	return s
}

// --- waiting and comparing ------------------------------------------------------------------------

// recv waits (bounded) for the next value from ch.
func recv[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(waitTimeout):
		t.Fatalf("timed out after %s waiting for %s", waitTimeout, what)
		panic("unreachable")
	}
}

// recvN waits (bounded) for the next n values from ch.
func recvN[T any](t *testing.T, ch <-chan T, n int, what string) []T {
	t.Helper()
	out := make([]T, 0, n)
	deadline := time.After(waitTimeout)
	for len(out) < n {
		select {
		case v := <-ch:
			out = append(out, v)
		case <-deadline:
			t.Fatalf("timed out after %s waiting for %s: got %d of %d", waitTimeout, what, len(out), n)
		}
	}
	return out
}

// recvMatch waits (bounded) for the first value from ch that satisfies match, dropping the others
// (a subscriber also sees events of other clients; a test picks its own).
func recvMatch[T any](t *testing.T, ch <-chan T, what string, match func(T) bool) T {
	t.Helper()
	deadline := time.After(waitTimeout)
	for {
		select {
		case v := <-ch:
			if match(v) {
				return v
			}
		case <-deadline:
			t.Fatalf("timed out after %s waiting for %s", waitTimeout, what)
		}
	}
}

// none checks that nothing arrives on ch for a moment.
func none[T any](t *testing.T, ch <-chan T, what string) {
	t.Helper()
	select {
	case v := <-ch:
		t.Fatalf("unexpected %s: %+v", what, v)
	case <-time.After(quiet):
	}
}

// sameJSON fails unless got is JSON equal to want (the servers may re-encode JSON, so bytes can
// differ in spacing and key order, never in value).
func sameJSON(t *testing.T, what string, got []byte, want string) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("%s: not JSON: %q (%v)", what, got, err)
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("%s: bad expectation %q: %v", what, want, err)
	}
	if !reflect.DeepEqual(g, w) {
		t.Fatalf("%s: got %s, want %s", what, got, want)
	}
}

// serverError is the protocol error in err (a *centrifuge.Error, possibly wrapped), or fails.
func serverError(t *testing.T, what string, err error) *centrifuge.Error {
	t.Helper()
	var e *centrifuge.Error
	if !errors.As(err, &e) {
		t.Fatalf("%s: want a server error, got %v (%T)", what, err, err)
	}
	return e
}

// wantCode fails unless err is the protocol error code.
func wantCode(t *testing.T, what string, err error, code uint32) {
	t.Helper()
	if e := serverError(t, what, err); e.Code != code {
		t.Fatalf("%s: error %d %q, want code %d", what, e.Code, e.Message, code)
	}
}

func offsets(pubs []centrifuge.Publication) []uint64 {
	out := make([]uint64, len(pubs))
	for i, p := range pubs {
		out[i] = p.Offset
	}
	return out
}

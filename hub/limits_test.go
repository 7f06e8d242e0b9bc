package hub_test

import (
	"context"
	"encoding/json"
	"errors"
	"expvar"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/rfc6455/ws"
	"github.com/rfc6455/ws/event"
	"github.com/rfc6455/ws/hub"
	"github.com/rfc6455/ws/ratelimit"
	"github.com/rfc6455/ws/server"
)

// stoppedClock is a Limiter clock that does not move, so that buckets never
// refill during a test.
func stoppedClock() func() time.Time {
	t0 := time.Unix(1000, 0)
	return func() time.Time { return t0 }
}

func echo(c *hub.Client, typ ws.MessageType, data []byte) { c.Send(typ, data) }

func TestRateLimitRepliesWithAnErrorEvent(t *testing.T) {
	noLeaks(t)
	lim := ratelimit.New(1, 2)
	lim.Now = stoppedClock()
	e := newEnv(t, hub.Options{RateLimit: lim, OnMessage: echo}, server.Options{})
	c, _ := e.dial("")
	r := read(c)
	ctx := context.Background()
	for _, m := range []string{"1", "2", "3"} {
		c.WriteMessage(ctx, ws.Text, []byte(m))
	}
	for _, want := range []string{"1", "2"} {
		if got := string(r.next(t)); got != want {
			t.Fatalf("got %q, want %q", got, want)
		}
	}
	var reply struct {
		Type    string
		Payload struct{ Code string }
	}
	if err := json.Unmarshal(r.next(t), &reply); err != nil || reply.Type != "error" || reply.Payload.Code != "rate_limited" {
		t.Fatalf("third message answered with %+v, %v; want a rate_limited error event", reply, err)
	}
	if s := e.h.Stats(); s.RateLimited != 1 || s.MessagesIn != 3 {
		t.Fatalf("stats %+v", s)
	}
}

func TestRateLimitCloses1008(t *testing.T) {
	noLeaks(t)
	lim := ratelimit.New(1, 1)
	lim.Now = stoppedClock()
	e := newEnv(t, hub.Options{RateLimit: lim, RateLimitClose: true, OnMessage: echo}, server.Options{})
	c, _ := e.dial("")
	r := read(c)
	ctx := context.Background()
	c.WriteMessage(ctx, ws.Text, []byte("ok"))
	c.WriteMessage(ctx, ws.Text, []byte("too many"))
	if got := string(r.next(t)); got != "ok" {
		t.Fatalf("got %q", got)
	}
	if ce := r.closed(t); ce.Code != ws.ClosePolicyViolation || ce.Reason != "rate limit exceeded" {
		t.Fatalf("close %v %q, want 1008", ce.Code, ce.Reason)
	}
	if g := e.nextGone(); !errors.Is(g.err, hub.ErrRateLimited) {
		t.Fatalf("disconnect reason %v", g.err)
	}
}

func TestRateLimitPerUserSharesTheBudget(t *testing.T) {
	noLeaks(t)
	lim := ratelimit.New(1, 2)
	lim.Now = stoppedClock()
	e := newEnv(t, hub.Options{RateLimit: lim, RateLimitPerUser: true, RateLimitReply: []byte("slow down"), OnMessage: echo}, server.Options{})
	a1, _ := e.dial("user=alice")
	a2, _ := e.dial("user=alice")
	b, _ := e.dial("user=bob")
	ra1, ra2, rb := read(a1), read(a2), read(b)
	ctx := context.Background()
	a1.WriteMessage(ctx, ws.Text, []byte("a"))
	if got := string(ra1.next(t)); got != "a" {
		t.Fatalf("got %q", got)
	}
	a2.WriteMessage(ctx, ws.Text, []byte("b"))
	if got := string(ra2.next(t)); got != "b" {
		t.Fatalf("got %q", got)
	}
	a2.WriteMessage(ctx, ws.Text, []byte("c")) // alice's third
	if got := string(ra2.next(t)); got != "slow down" {
		t.Fatalf("alice's third message answered %q, want the limit reply", got)
	}
	b.WriteMessage(ctx, ws.Text, []byte("d"))
	if got := string(rb.next(t)); got != "d" {
		t.Fatalf("bob, with a budget of his own, got %q", got)
	}
}

func TestMetricsHandlerAndExpvar(t *testing.T) {
	noLeaks(t)
	e := newEnv(t, hub.Options{OnMessage: echo}, server.Options{})
	c, _ := e.dial("")
	r := read(c)
	c.WriteMessage(context.Background(), ws.Text, []byte("hello"))
	r.next(t)

	ms := httptest.NewServer(e.h.MetricsHandler(""))
	defer ms.Close()
	get := func(path, accept string) (string, string) {
		req, _ := http.NewRequest("GET", ms.URL+path, nil)
		if accept != "" {
			req.Header.Set("Accept", accept)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.Header.Get("Content-Type"), string(b)
	}
	ct, body := get("/", "")
	var s hub.Stats
	if err := json.Unmarshal([]byte(body), &s); err != nil || !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("JSON view %s %q: %v", ct, body, err)
	}
	// The writer counts a message once WritePrepared returns, which may
	// be a moment after the client has it; MessagesIn is counted first.
	if s.Connections != 1 || s.MessagesIn != 1 || s.BytesIn != 5 {
		t.Fatalf("JSON stats %+v", s)
	}
	for _, v := range []struct{ path, accept string }{{"/?format=prometheus", ""}, {"/", "text/plain;version=0.0.4"}} {
		ct, body := get(v.path, v.accept)
		if !strings.HasPrefix(ct, "text/plain") ||
			!strings.Contains(body, "# TYPE websocket_hub_connections gauge\nwebsocket_hub_connections 1\n") ||
			!strings.Contains(body, "websocket_hub_received_bytes_total 5\n") {
			t.Fatalf("Prometheus view %s:\n%s", ct, body)
		}
	}
	var ev hub.Stats
	if err := json.Unmarshal([]byte(e.h.Expvar().String()), &ev); err != nil || ev.Connections != 1 {
		t.Fatalf("expvar %s: %v", e.h.Expvar(), err)
	}
	var _ expvar.Var = e.h.Expvar()
}

// TestRateLimitErrorEchoesTheRequest: the rate_limited error event names
// the event that was refused and echoes its id, as the event package's
// other error events do, so that a client can match it to its request.
func TestRateLimitErrorEchoesTheRequest(t *testing.T) {
	noLeaks(t)
	lim := ratelimit.New(1, 1)
	lim.Now = stoppedClock()
	e := newEnv(t, hub.Options{RateLimit: lim, OnMessage: echo}, server.Options{})
	c, _ := e.dial("")
	r := read(c)
	ctx := context.Background()
	for _, m := range []string{
		`{"type":"say","id":"1","payload":"first"}`,
		`{"type":"say","id":"42","payload":"over the limit"}`,
		`{"type":"say","payload":"no id"}`,
		`not an event`,
	} {
		c.WriteMessage(ctx, ws.Text, []byte(m))
	}
	r.next(t) // the echo of the first
	type reply struct {
		Type    string
		Payload event.Error
	}
	for _, want := range []event.Error{
		{Code: "rate_limited", Message: "rate limit exceeded", Type: "say", ID: "42"},
		{Code: "rate_limited", Message: "rate limit exceeded", Type: "say"},
		{Code: "rate_limited", Message: "rate limit exceeded"},
	} {
		msg := r.next(t)
		var got reply
		if err := json.Unmarshal(msg, &got); err != nil || got.Type != "error" || got.Payload != want {
			t.Errorf("answered with %s, want the error event %+v", msg, want)
		}
	}
}

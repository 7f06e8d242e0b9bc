package auth_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/rfc6455/ws"
	"github.com/rfc6455/ws/auth"
	"github.com/rfc6455/ws/client"
	"github.com/rfc6455/ws/hub"
	"github.com/rfc6455/ws/server"
)

const testTimeout = 10 * time.Second

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// verify knows two tokens: "good" (alice) and "banned" (mallory, forbidden).
func verify(ctx context.Context, token string) (auth.Identity, error) {
	switch token {
	case "good":
		return auth.Identity{Subject: "alice"}, nil
	case "banned":
		return auth.Identity{}, auth.ErrForbidden
	}
	return auth.Identity{}, errors.New("unknown token")
}

func noLeaks(t *testing.T) {
	before := runtime.NumGoroutine()
	t.Cleanup(func() {
		deadline := time.Now().Add(testTimeout)
		for runtime.NumGoroutine() > before {
			if time.Now().After(deadline) {
				buf := make([]byte, 1<<20)
				t.Errorf("goroutines left behind:\n%s", buf[:runtime.Stack(buf, true)])
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
	})
}

// whoami is a WebSocket endpoint that tells the client who it is.
func whoami() *server.Server {
	return &server.Server{
		Options: server.Options{Subprotocols: []string{"chat.v1"}},
		Handle: func(c *ws.Conn, r *http.Request) {
			id, ok := auth.FromContext(r.Context())
			if !ok {
				id.Subject = "nobody"
			}
			ctx := context.Background()
			c.WriteMessage(ctx, ws.Text, []byte(id.Subject))
			c.ReadMessage(ctx, nil) // until the client closes
		},
	}
}

func TestRequireChecksTheTokenBeforeTheUpgrade(t *testing.T) {
	noLeaks(t)
	h := auth.Require(&auth.Options{
		Verify:  verify,
		Sources: []auth.Source{auth.Bearer(), auth.Query("access_token"), auth.Cookie("session"), auth.Subprotocol("access_token.")},
		Logger:  quiet(),
	}, whoami())
	ts := httptest.NewServer(h)
	defer ts.Close()
	url := "ws" + strings.TrimPrefix(ts.URL, "http")

	tests := []struct {
		name       string
		query      string
		opts       client.Options
		wantStatus int    // 0: upgraded
		wantAuth   string // WWW-Authenticate
	}{
		{name: "no token", wantStatus: 401, wantAuth: `Bearer realm="websocket"`},
		{name: "bad bearer", opts: client.Options{Header: http.Header{"Authorization": {"Bearer nope"}}}, wantStatus: 401, wantAuth: `Bearer realm="websocket", error="invalid_token"`},
		{name: "forbidden", query: "?access_token=banned", wantStatus: 403},
		{name: "bearer", opts: client.Options{Header: http.Header{"Authorization": {"Bearer good"}}}},
		{name: "query", query: "?access_token=good"},
		{name: "cookie", opts: client.Options{Header: http.Header{"Cookie": {"session=good"}}}},
		{name: "subprotocol", opts: client.Options{Subprotocols: []string{"chat.v1", "access_token.good"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
			defer cancel()
			c, resp, err := client.Dial(ctx, url+tt.query, &tt.opts)
			if tt.wantStatus != 0 {
				var he *client.HandshakeError
				if !errors.As(err, &he) || he.StatusCode != tt.wantStatus {
					t.Fatalf("Dial: %v, want status %d", err, tt.wantStatus)
				}
				if got := he.Response.Header.Get("WWW-Authenticate"); got != tt.wantAuth {
					t.Fatalf("WWW-Authenticate %q, want %q", got, tt.wantAuth)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close(ws.CloseNormal, "")
			_, msg, err := c.ReadMessage(ctx, nil)
			if err != nil || string(msg) != "alice" {
				t.Fatalf("identity %q, %v; want alice", msg, err)
			}
			if tt.name == "subprotocol" && resp.Header.Get("Sec-WebSocket-Protocol") != "chat.v1" {
				t.Fatalf("server selected %q, want chat.v1, never the token", resp.Header.Get("Sec-WebSocket-Protocol"))
			}
		})
	}
}

func TestBearerSource(t *testing.T) {
	tests := []struct {
		header, want string
		ok           bool
	}{
		{"Bearer abc", "abc", true},
		{"bearer abc", "abc", true},
		{"Basic abc", "", false},
		{"Bearer ", "", false},
		{"", "", false},
	}
	for _, tt := range tests {
		r := httptest.NewRequest("GET", "/", nil)
		r.Header.Set("Authorization", tt.header)
		got, ok := auth.Bearer()(r)
		if got != tt.want || ok != tt.ok {
			t.Errorf("Bearer(%q) = %q, %v; want %q, %v", tt.header, got, ok, tt.want, tt.ok)
		}
	}
}

// awaitServer runs Await on each connection and reports the outcome.
func awaitServer(t *testing.T, timeout time.Duration) (string, chan error) {
	t.Helper()
	results := make(chan error, 1)
	srv := &server.Server{Handle: func(c *ws.Conn, r *http.Request) {
		id, err := auth.Await(r.Context(), c, timeout, auth.TokenMessage(verify))
		if err == nil {
			c.WriteMessage(context.Background(), ws.Text, []byte("welcome "+id.Subject))
			c.ReadMessage(context.Background(), nil)
		}
		results <- err
	}}
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)
	return "ws" + strings.TrimPrefix(ts.URL, "http"), results
}

func TestAwaitAcceptsAnAuthMessage(t *testing.T) {
	noLeaks(t)
	url, results := awaitServer(t, testTimeout)
	ctx := context.Background()
	c, _, err := client.Dial(ctx, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	c.WriteMessage(ctx, ws.Text, []byte(`{"type":"auth","payload":{"token":"good"}}`))
	_, msg, err := c.ReadMessage(ctx, nil)
	if err != nil || string(msg) != "welcome alice" {
		t.Fatalf("got %q, %v", msg, err)
	}
	c.Close(ws.CloseNormal, "")
	if err := <-results; err != nil {
		t.Fatal(err)
	}
}

func TestAwaitClosesWith1008(t *testing.T) {
	tests := []struct {
		name    string
		msg     string // "" sends nothing
		reason  string
		wantErr error
	}{
		{"timeout", "", auth.ReasonTimeout, auth.ErrTimeout},
		{"bad token", `{"type":"auth","payload":{"token":"nope"}}`, auth.ReasonFailed, nil},
		{"not an auth event", `{"type":"chat"}`, auth.ReasonFailed, auth.ErrInvalidToken},
		{"not JSON", `hello`, auth.ReasonFailed, auth.ErrInvalidToken},
		{"forbidden", `{"type":"auth","payload":{"token":"banned"}}`, auth.ReasonForbidden, auth.ErrForbidden},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			noLeaks(t)
			timeout := testTimeout
			if tt.msg == "" {
				timeout = 50 * time.Millisecond
			}
			url, results := awaitServer(t, timeout)
			ctx := context.Background()
			c, _, err := client.Dial(ctx, url, nil)
			if err != nil {
				t.Fatal(err)
			}
			if tt.msg != "" {
				c.WriteMessage(ctx, ws.Text, []byte(tt.msg))
			}
			_, _, err = c.ReadMessage(ctx, nil)
			var ce *ws.CloseError
			if !errors.As(err, &ce) || ce.Code != ws.ClosePolicyViolation || ce.Reason != tt.reason {
				t.Fatalf("client saw %v, want close 1008 %q", err, tt.reason)
			}
			err = <-results
			if err == nil || (tt.wantErr != nil && !errors.Is(err, tt.wantErr)) {
				t.Fatalf("Await returned %v, want %v", err, tt.wantErr)
			}
		})
	}
}

func TestFromContextWithoutIdentity(t *testing.T) {
	if _, ok := auth.FromContext(context.Background()); ok {
		t.Fatal("identity found in an empty context")
	}
	id, ok := auth.FromContext(auth.NewContext(context.Background(), auth.Identity{Subject: "x"}))
	if !ok || id.Subject != "x" {
		t.Fatal("identity lost")
	}
}

func TestIdentityReachesTheHubClient(t *testing.T) {
	noLeaks(t)
	users := make(chan string, 1)
	h := hub.New(&hub.Options{Logger: quiet(), OnConnect: func(c *hub.Client) {
		id := c.Data().(auth.Identity)
		users <- c.User() + "/" + id.Subject
	}})
	srv := &server.Server{Handle: func(c *ws.Conn, r *http.Request) {
		id, _ := auth.FromContext(r.Context())
		h.Serve(r.Context(), c, hub.Info{User: id.Subject, Data: id})
	}}
	ts := httptest.NewServer(auth.Require(&auth.Options{Verify: verify}, srv))
	defer ts.Close()
	ctx := context.Background()
	c, _, err := client.Dial(ctx, "ws"+strings.TrimPrefix(ts.URL, "http")+"?access_token=good", nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := <-users; got != "alice/alice" {
		t.Fatalf("hub client user/identity %q", got)
	}
	c.Close(ws.CloseNormal, "")
	srv.Shutdown(ctx)
}

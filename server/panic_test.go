package server

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rfc6455/ws"
)

// syncBuffer is a bytes.Buffer safe for a logger and a test at once.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// Issue 20, bug 5: a panic in Handle, which runs on a goroutine of its own
// where net/http cannot recover it, is recovered: logged with its stack
// through Server.Logger, the connection closed with 1011, and the server
// goes on serving. http.ErrAbortHandler closes the connection without a
// log, as net/http does.
func TestServerRecoversPanicInHandle(t *testing.T) {
	var logs syncBuffer
	s := &Server{
		Logger: slog.New(slog.NewTextHandler(&logs, nil)),
		Handle: func(c *ws.Conn, r *http.Request) {
			_, m, err := c.ReadMessage(context.Background(), nil)
			switch {
			case err != nil:
			case string(m) == "panic":
				panic("boom from Handle")
			case string(m) == "abort":
				panic(http.ErrAbortHandler)
			default:
				c.WriteMessage(context.Background(), ws.Text, m)
			}
		},
	}
	srv := httptest.NewServer(s)
	defer srv.Close()

	c, _ := dialWS(t, srv)
	go c.WriteMessage(testContext(t), ws.Text, []byte("panic"))
	_, _, err := c.ReadMessage(testContext(t), nil)
	var ce *ws.CloseError
	if !errors.As(err, &ce) || ce.Code != ws.CloseInternalError {
		t.Fatalf("after the panic the client read %v, want close 1011", err)
	}
	if l := logs.String(); !strings.Contains(l, "boom from Handle") || !strings.Contains(l, "panic_test.go") {
		t.Fatalf("the log does not have the panic and its stack:\n%s", l)
	}

	c2, _ := dialWS(t, srv)
	if got := roundTrip(t, c2, ws.Text, "still serving"); got != "still serving" {
		t.Fatalf("echo after a panic: %q", got)
	}
	if _, _, err := c2.ReadMessage(testContext(t), nil); !errors.As(err, &ce) || ce.Code != ws.CloseNormal {
		t.Fatalf("then %v, want close 1000", err)
	}

	before := logs.String()
	c3, _ := dialWS(t, srv)
	go c3.WriteMessage(testContext(t), ws.Text, []byte("abort"))
	if _, _, err := c3.ReadMessage(testContext(t), nil); errors.As(err, &ce) {
		t.Fatalf("after http.ErrAbortHandler the client read a close frame (%v), want the connection dropped", err)
	}
	for deadline := time.Now().Add(testTimeout); s.Len() > 0; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the aborted connection is still counted")
		}
	}
	if logs.String() != before {
		t.Fatalf("http.ErrAbortHandler was logged:\n%s", strings.TrimPrefix(logs.String(), before))
	}
}

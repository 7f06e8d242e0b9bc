package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rfc6455/ws"
	"github.com/rfc6455/ws/server"
)

// fakeFuzzingServer speaks the suite's fuzzingserver protocol with a few
// trivial cases: case N sends N text messages and one binary message, checks
// the echoes and closes with 1000. Case hang never closes.
type fakeFuzzingServer struct {
	cases int
	hang  int // a case that waits for the client to give up

	hanging   chan struct{} // if set, closed when case hang starts
	hangEnded chan error    // if set, receives how case hang ended

	mu      sync.Mutex
	ran     []string // "N/agent/ok" per case run
	reports []string // agents whose reports were asked for
}

func (f *fakeFuzzingServer) handle(c *ws.Conn, r *http.Request) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	q := r.URL.Query()
	switch r.URL.Path {
	case "/getCaseCount":
		c.WriteMessage(ctx, ws.Text, []byte(strconv.Itoa(f.cases)))
		c.Close(ws.CloseNormal, "")
	case "/updateReports":
		f.mu.Lock()
		f.reports = append(f.reports, q.Get("agent"))
		f.mu.Unlock()
		c.Close(ws.CloseNormal, "")
	case "/runCase":
		n, _ := strconv.Atoi(q.Get("case"))
		if n == f.hang {
			if f.hanging != nil {
				// The client is in the case once it echoes.
				c.WriteMessage(ctx, ws.Text, []byte("are you there?"))
				c.ReadMessage(ctx, nil)
				close(f.hanging)
			}
			_, _, err := c.ReadMessage(ctx, nil) // until the client cuts the case off
			if f.hangEnded != nil {
				f.hangEnded <- err
			}
			return
		}
		ok := true
		for i := 0; i <= n; i++ {
			typ, msg := ws.Text, []byte(fmt.Sprintf("message %d of case %d", i, n))
			if i == n {
				typ, msg = ws.Binary, bytes.Repeat([]byte{0xfe}, 1<<20)
			}
			if err := c.WriteMessage(ctx, typ, msg); err != nil {
				ok = false
				break
			}
			gt, got, err := c.ReadMessage(ctx, nil)
			ok = ok && err == nil && gt == typ && bytes.Equal(got, msg)
		}
		f.mu.Lock()
		f.ran = append(f.ran, fmt.Sprintf("%d/%s/%t", n, q.Get("agent"), ok))
		f.mu.Unlock()
		c.Close(ws.CloseNormal, "")
	default:
		c.Close(ws.ClosePolicyViolation, "unknown path")
	}
}

func (f *fakeFuzzingServer) start(t *testing.T) string {
	t.Helper()
	srv := &server.Server{Handle: f.handle}
	hs := httptest.NewServer(srv)
	t.Cleanup(func() {
		srv.Shutdown(context.Background())
		hs.Close()
	})
	return "ws" + strings.TrimPrefix(hs.URL, "http")
}

func TestEchoClientRunsEveryCaseThenUpdatesReports(t *testing.T) {
	f := &fakeFuzzingServer{cases: 4}
	url := f.start(t)
	var out strings.Builder
	if err := run(context.Background(), []string{"-url", url, "-agent", "ws test"}, &out); err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	want := []string{"1/ws test/true", "2/ws test/true", "3/ws test/true", "4/ws test/true"}
	if fmt.Sprint(f.ran) != fmt.Sprint(want) {
		t.Errorf("cases run %q, want %q", f.ran, want)
	}
	if len(f.reports) != 1 || f.reports[0] != "ws test" {
		t.Errorf("reports asked for %q, want once for %q", f.reports, "ws test")
	}
	if !strings.Contains(out.String(), "case 4/4: closed by the server with 1000") {
		t.Errorf("transcript:\n%s", out.String())
	}
}

func TestEchoClientCutsOffAHangingCaseAndGoesOn(t *testing.T) {
	f := &fakeFuzzingServer{cases: 3, hang: 2}
	url := f.start(t)
	var out strings.Builder
	if err := run(context.Background(), []string{"-url", url, "-case-timeout", "2s"}, &out); err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if want := []string{"1/ws/true", "3/ws/true"}; fmt.Sprint(f.ran) != fmt.Sprint(want) {
		t.Errorf("cases run %q, want %q", f.ran, want)
	}
	if !strings.Contains(out.String(), "case 2/3: cut off after 2s") || len(f.reports) != 1 {
		t.Errorf("transcript:\n%s", out.String())
	}
}

// TestInterruptClosesTheCaseWithGoingAway: SIGINT or SIGTERM (the end of
// run's context) in the middle of a case closes its connection with 1001
// at once, as a client going away does (RFC 6455 §7.4.1), rather than
// dropping TCP.
func TestInterruptClosesTheCaseWithGoingAway(t *testing.T) {
	f := &fakeFuzzingServer{cases: 3, hang: 1, hanging: make(chan struct{}), hangEnded: make(chan error, 1)}
	url := f.start(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- run(ctx, []string{"-url", url}, io.Discard) }()
	<-f.hanging
	start := time.Now()
	cancel()
	err := <-f.hangEnded
	latency := time.Since(start)
	var ce *ws.CloseError
	if !errors.As(err, &ce) || ce.Code != ws.CloseGoingAway {
		t.Fatalf("the server saw %v, want a 1001 close", err)
	}
	t.Logf("1001 %q %v after the interrupt", ce.Reason, latency)
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("run: %v, want context.Canceled", err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.ran) != 0 || len(f.reports) != 0 {
		t.Errorf("after the interrupt: cases %q, reports %q", f.ran, f.reports)
	}
}

func TestEchoClientRejectsBadFlags(t *testing.T) {
	for _, args := range [][]string{
		{"-url", "http://127.0.0.1:9001"},
		{"-agent", ""},
		{"-case-timeout", "0s"},
		{"-nope"},
	} {
		if err := run(context.Background(), args, &strings.Builder{}); err == nil {
			t.Errorf("run %q succeeded", args)
		}
	}
}

func TestEchoClientFailsWhenNoServerListens(t *testing.T) {
	hs := httptest.NewServer(http.NotFoundHandler())
	url := "ws" + strings.TrimPrefix(hs.URL, "http")
	hs.Close()
	if err := run(context.Background(), []string{"-url", url, "-case-timeout", "5s"}, &strings.Builder{}); err == nil {
		t.Error("run succeeded without a server")
	}
}

package main

import (
	"context"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rfc6455/ws/examples/ticker/feed"
	"github.com/rfc6455/ws/server"
)

// tickerServer runs a feed on addr until stopped.
type tickerServer struct {
	f    *feed.Feed
	hs   *http.Server
	stop context.CancelFunc
	wg   sync.WaitGroup
}

func startTicker(t *testing.T, addr string) (*tickerServer, string) {
	t.Helper()
	var ln net.Listener
	var err error
	for range 100 { // a restart may find the port still being released
		if ln, err = net.Listen("tcp", addr); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		t.Fatal(err)
	}
	s := &tickerServer{f: feed.New(&feed.Options{Interval: 2 * time.Millisecond})}
	s.hs = server.NewHTTPServer("", s.f.Handler())
	ctx, cancel := context.WithCancel(context.Background())
	s.stop = cancel
	s.wg.Go(func() { s.hs.Serve(ln) })
	s.wg.Go(func() { s.f.Run(ctx) })
	return s, ln.Addr().String()
}

// shutdown closes every client with 1001 and stops the server.
func (s *tickerServer) shutdown() {
	s.stop()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	server.Shutdown(ctx, s.hs, s.f.Server())
	s.f.Hub().Shutdown(ctx)
	s.wg.Wait()
}

// syncWriter is an io.Writer safe for the client and the test at once.
type syncWriter struct {
	mu sync.Mutex
	b  strings.Builder
}

func (w *syncWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

func (w *syncWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.String()
}

// The client prints a bounded number of updates of the symbols it asked
// for, across a restart of the server on the same port: it reconnects,
// subscribes again (a second snapshot), and goes on.
func TestClientPrintsUpdatesAcrossServerRestart(t *testing.T) {
	srv, addr := startTicker(t, "127.0.0.1:0")
	out := &syncWriter{}
	done := make(chan error, 1)
	go func() {
		done <- run(context.Background(), []string{"-url", "ws://" + addr + "/ws", "-symbols", "ACME,GOPH", "-n", "200"}, out)
	}()

	// Wait for some updates, then restart the server.
	deadline := time.After(60 * time.Second)
	for !strings.Contains(out.String(), "#10\n") {
		select {
		case err := <-done:
			t.Fatalf("client ended early: %v\n%s", err, out.String())
		case <-deadline:
			t.Fatalf("no 10th update:\n%s", out.String())
		case <-time.After(5 * time.Millisecond):
		}
	}
	srv.shutdown()
	srv, _ = startTicker(t, addr)
	defer srv.shutdown()

	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("client: %v\n%s", err, out.String())
		}
	case <-time.After(60 * time.Second):
		t.Fatalf("client did not finish:\n%s", out.String())
	}
	got := out.String()
	var prices, snapshots int
	for line := range strings.SplitSeq(got, "\n") {
		switch {
		case strings.HasPrefix(line, "snapshot "):
			snapshots++
		case strings.HasPrefix(line, "ACME ") || strings.HasPrefix(line, "GOPH "):
			prices++
		case strings.HasPrefix(line, "-- ") || line == "":
		default:
			t.Errorf("unexpected line %q", line)
		}
	}
	if prices != 200 {
		t.Errorf("printed %d updates, want 200", prices)
	}
	if snapshots != 4 { // two symbols, two connections
		t.Errorf("printed %d snapshot lines, want 4 (two per connection)", snapshots)
	}
	if n := strings.Count(got, "connecting -> open"); n != 2 {
		t.Errorf("opened %d times, want 2:\n%s", n, got)
	}
	if !strings.Contains(got, "open -> waiting") || !strings.Contains(got, "1001") {
		t.Errorf("no disconnection with 1001 in the output:\n%s", got)
	}
}

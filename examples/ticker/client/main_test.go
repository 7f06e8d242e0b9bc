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

// tickerServer runs a feed on addr until stopped. The test moves its
// prices (Feed.Step) itself, as fast as the client prints them, so that
// how many come before the restart does not depend on the machine's pace.
type tickerServer struct {
	f  *feed.Feed
	hs *http.Server
	wg sync.WaitGroup
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
	s := &tickerServer{f: feed.New(nil)}
	s.hs = server.NewHTTPServer("", s.f.Handler())
	s.wg.Go(func() { s.hs.Serve(ln) })
	return s, ln.Addr().String()
}

// shutdown closes every client with 1001 and stops the server.
func (s *tickerServer) shutdown() {
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
	count := func(prefixes ...string) int {
		n := 0
		for line := range strings.SplitSeq(out.String(), "\n") {
			for _, p := range prefixes {
				if strings.HasPrefix(line, p) {
					n++
				}
			}
		}
		return n
	}
	printed := func() int { return count("ACME ", "GOPH ") }
	// await waits until cond holds; it reports false if the client ended
	// first (with err, which must be nil).
	await := func(what string, cond func() bool) bool {
		t.Helper()
		deadline := time.After(60 * time.Second)
		for !cond() {
			select {
			case err := <-done:
				done <- err
				if err != nil {
					t.Fatalf("client: %v\n%s", err, out.String())
				}
				return false
			case <-deadline:
				t.Fatalf("no %s:\n%s", what, out.String())
			case <-time.After(time.Millisecond):
			}
		}
		return true
	}
	// step moves the prices once and waits until the client printed both
	// quotes, or ended.
	step := func() bool {
		t.Helper()
		before := printed()
		srv.f.Step()
		return await("update after a step", func() bool { return printed() >= before+2 })
	}

	// Some updates, then a restart of the server.
	await("snapshot", func() bool { return count("snapshot ") == 2 })
	for printed() < 10 {
		if !step() {
			t.Fatalf("client ended early:\n%s", out.String())
		}
	}
	srv.shutdown()
	srv, _ = startTicker(t, addr)
	defer srv.shutdown()
	await("snapshot after the restart", func() bool { return count("snapshot ") == 4 })
	for range 200 {
		if !step() {
			break
		}
	}
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

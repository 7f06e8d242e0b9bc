package server

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/rfc6455/ws"
	"github.com/rfc6455/ws/internal/servertest"
)

// serveHTTP serves hs on a loopback port and returns its address; the
// server is closed when the test ends.
func serveHTTP(t *testing.T, hs *http.Server) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		hs.Serve(ln)
	}()
	t.Cleanup(func() {
		hs.Close()
		<-done
	})
	return ln.Addr().String()
}

// TestNewHTTPServerAnswersAHeaderBombWith431: a WebSocket request with 1 MiB
// of header is refused with 431 before it reaches the handler, while the
// zero http.Server (net/http's 1 MiB default) accepts it with a 101.
func TestNewHTTPServerAnswersAHeaderBombWith431(t *testing.T) {
	t.Parallel()
	accepted := make(chan struct{}, 2)
	h := &Server{Handle: func(c *ws.Conn, r *http.Request) { accepted <- struct{}{} }}
	addr := serveHTTP(t, NewHTTPServer("", h))
	servertest.CheckHeaderBomb(t, addr, "/")
	select {
	case <-accepted:
		t.Fatal("the handler ran")
	default:
	}

	// The same request just under net/http's own default limit: a 101.
	plain := serveHTTP(t, &http.Server{Handler: h})
	status, err := servertest.HeaderBomb(plain, "/", 1<<20-4<<10)
	if err != nil || !strings.HasPrefix(status, "HTTP/1.1 101 ") {
		t.Fatalf("the zero http.Server answered %q, %v; want a 101 (the test's control)", status, err)
	}

	// What a browser sends with a few cookies goes through.
	status, err = servertest.HeaderBomb(addr, "/", 8<<10)
	if err != nil || !strings.HasPrefix(status, "HTTP/1.1 101 ") {
		t.Fatalf("8 KiB of header answered %q, %v; want a 101", status, err)
	}
}

func TestNewHTTPServerLimits(t *testing.T) {
	hs := NewHTTPServer(":8080", http.NotFoundHandler())
	if hs.Addr != ":8080" || hs.MaxHeaderBytes != DefaultMaxHeaderBytes || hs.ReadHeaderTimeout != DefaultReadHeaderTimeout ||
		hs.IdleTimeout != DefaultIdleTimeout || hs.ReadTimeout != 0 || hs.WriteTimeout != 0 {
		t.Fatalf("%+v", hs)
	}
}

// TestShutdownReachesWebSocketsWhileHTTPWaits: Shutdown sends every
// WebSocket its 1001 while net/http still waits for a browser's spare
// connection and for a slow handler, and returns once those are done.
func TestShutdownReachesWebSocketsWhileHTTPWaits(t *testing.T) {
	t.Parallel()
	wsSrv := Handler(echo)
	slowStarted, releaseSlow := make(chan struct{}), make(chan struct{})
	mux := http.NewServeMux()
	mux.Handle("/ws", wsSrv)
	mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
		close(slowStarted)
		<-releaseSlow
		io.WriteString(w, "done")
	})
	hs := NewHTTPServer("", mux)
	addr := serveHTTP(t, hs)

	slowDone := make(chan error, 1)
	go func() {
		resp, err := http.Get("http://" + addr + "/slow")
		if err == nil {
			_, err = io.ReadAll(resp.Body)
			resp.Body.Close()
		}
		slowDone <- err
	}()
	<-slowStarted

	shutdownDone := make(chan error, 1)
	ctx, cancel := context.WithTimeout(context.Background(), servertest.Timeout)
	defer cancel()
	latency := servertest.CheckGoingAway(t, "ws://"+addr+"/ws", func() {
		go func() { shutdownDone <- Shutdown(ctx, hs, wsSrv) }()
	})
	select {
	case err := <-shutdownDone:
		t.Fatalf("Shutdown returned %v before the slow request was done", err)
	default:
	}
	close(releaseSlow)
	if err := <-slowDone; err != nil {
		t.Errorf("the slow request: %v", err)
	}
	if err := <-shutdownDone; err != nil {
		t.Errorf("Shutdown: %v", err)
	}
	if wsSrv.Len() != 0 {
		t.Errorf("%d WebSockets left", wsSrv.Len())
	}
	t.Logf("1001 after %v", latency)
}

// TestShutdownClosesEverythingWhenTheContextEnds: a handler that never
// returns does not keep Shutdown, or its connection, past the context.
func TestShutdownClosesEverythingWhenTheContextEnds(t *testing.T) {
	t.Parallel()
	stuck := make(chan struct{})
	defer close(stuck)
	started := make(chan struct{})
	mux := http.NewServeMux()
	mux.HandleFunc("/stuck", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusOK)
		w.(http.Flusher).Flush()
		close(started)
		<-stuck
	})
	wsSrv := Handler(echo)
	hs := NewHTTPServer("", mux)
	addr := serveHTTP(t, hs)
	resp, err := http.Get("http://" + addr + "/stuck")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	<-started
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if err := Shutdown(ctx, hs, wsSrv); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Shutdown: %v, want the context's error", err)
	}
	// The stuck response's connection was closed: its body ends.
	readDone := make(chan error, 1)
	go func() { _, err := io.ReadAll(resp.Body); readDone <- err }()
	select {
	case <-readDone:
	case <-time.After(servertest.Timeout):
		t.Fatal("the stuck request's connection is still open")
	}
}

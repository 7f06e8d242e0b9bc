package catalog

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/rfc6455/ws"
	"github.com/rfc6455/ws/deflate"
	"github.com/rfc6455/ws/loop"
)

// loopEcho echoes every message of an event-loop connection.
type loopEcho struct{}

func (loopEcho) OnOpen(*loop.Conn)                                  {}
func (loopEcho) OnMessage(c *loop.Conn, t ws.MessageType, b []byte) { c.Send(t, b) }
func (loopEcho) OnClose(*loop.Conn, error)                          {}

// loopServer starts this project's event-loop server (package loop) with an
// echo handler and permessage-deflate on its defaults, and returns its
// URL. Its send queues are unbounded: an echo server's backpressure is its
// pause in reading while too much waits to be written.
func loopServer(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &loop.Server{Handler: loopEcho{}, Policy: loop.Policy{QueueBytes: -1, QueueSize: -1}}
	s.Options.Compression = &deflate.ServerConfig{}
	go s.Serve(ln)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		s.Shutdown(ctx)
	})
	return "ws://" + ln.Addr().String() + "/"
}

// TestCatalogAgainstLoopServer runs every case of sections 1 to 10 against
// the event-loop server (a sample under the race detector).
func TestCatalogAgainstLoopServer(t *testing.T) {
	t.Parallel()
	url := loopServer(t)
	start := time.Now()
	cases := casesFor(sections1to10(t))
	reports, err := RunServerTests(context.Background(), url, "rfc6455-ws-loop", cases, &Options{OutDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d cases against the event-loop server in %v", len(reports), time.Since(start).Round(time.Millisecond))
	checkAll(t, reports, len(cases))
}

// TestSections12And13AgainstLoopServer runs sections 12 and 13
// (permessage-deflate) against the event-loop server.
func TestSections12And13AgainstLoopServer(t *testing.T) {
	t.Parallel()
	url := loopServer(t)
	cases := casesFor(sections12and13(t))
	start := time.Now()
	reports, err := RunServerTests(context.Background(), url, "rfc6455-ws-loop", cases, s1213Options(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d cases against the event-loop server in %v", len(reports), time.Since(start).Round(time.Millisecond))
	checkAll(t, reports, len(cases))
	checkNegotiated(t, reports, false)
}

package loop

import (
	"context"
	"errors"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/rfc6455/ws"
)

// echoHandler sends every message back and records the events.
type echoHandler struct {
	mu     sync.Mutex
	opened int
	closed []error
	done   chan error // gets each OnClose's error
}

func newEcho() *echoHandler { return &echoHandler{done: make(chan error, 100)} }

func (h *echoHandler) OnOpen(c *Conn) {
	h.mu.Lock()
	h.opened++
	h.mu.Unlock()
}

func (h *echoHandler) OnMessage(c *Conn, typ ws.MessageType, data []byte) {
	c.Send(typ, data)
}

func (h *echoHandler) OnClose(c *Conn, err error) {
	h.mu.Lock()
	h.closed = append(h.closed, err)
	h.mu.Unlock()
	h.done <- err
}

// start serves s on a loopback port and returns its address; the server is
// shut down when the test ends.
func start(t testing.TB, s *Server) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 1)
	go func() { errc <- s.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := s.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
		if err := <-errc; err != ErrServerClosed {
			t.Errorf("Serve: %v", err)
		}
	})
	return ln.Addr().String()
}

// drivers are the two ways a Server serves connections, for tests that run
// against both.
var drivers = []struct {
	name       string
	goroutines bool
}{
	{"loop", false},
	{"goroutines", true},
}

func asCloseError(err error, ce **ws.CloseError) bool { return errorsAs(err, ce) }

func errorsAs(err error, target any) bool { return errors.As(err, target) }

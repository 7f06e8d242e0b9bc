package echo

import (
	"context"
	"errors"
	"net"
	"time"

	"github.com/rfc6455/ws"
	"github.com/rfc6455/ws/loop"
)

// serveLoop is the library under test's event-loop server (package loop):
// epoll loops, one per CPU, serving every connection, the handshake parsed
// in place from the socket, an OnMessage that sends the message back. Its
// send queues are unbounded (Policy -1): an echo server's backpressure is
// the loop's pause in reading from a client while too much waits to be
// written to it. The options are ours's.
func serveLoop(ctx context.Context, ln net.Listener, mode string) error {
	s := &loop.Server{
		Handler: loopEcho{},
		Options: *oursOptions(mode),
		Policy:  loop.Policy{QueueBytes: -1, QueueSize: -1},
	}
	errc := make(chan error, 1)
	go func() { errc <- s.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s.Shutdown(sctx)
	if err := <-errc; !errors.Is(err, loop.ErrServerClosed) {
		return err
	}
	return nil
}

// loopEcho sends every message back as it came.
type loopEcho struct{}

func (loopEcho) OnOpen(*loop.Conn)                                    {}
func (loopEcho) OnMessage(c *loop.Conn, typ ws.MessageType, b []byte) { c.Send(typ, b) }
func (loopEcho) OnClose(*loop.Conn, error)                            {}

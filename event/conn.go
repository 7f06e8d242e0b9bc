package event

import (
	"context"
	"sync"

	"github.com/rfc6455/ws"
)

// Conn adapts a *ws.Conn to Sender, for programs that dispatch events
// without package hub. Serve makes one; handlers receive it.
type Conn struct {
	ctx  context.Context
	conn *ws.Conn

	mu     sync.Mutex
	ended  bool
	closes sync.WaitGroup
}

// Serve reads events from c and dispatches them with r until the
// connection ends, and returns the error that ended it, as ws.Conn.Serve
// does. Handlers run on Serve's goroutine, one at a time.
func Serve(ctx context.Context, c *ws.Conn, r *Router[*Conn]) error {
	ec := &Conn{ctx: ctx, conn: c}
	err := c.Serve(ctx, ws.Handler{OnMessage: func(typ ws.MessageType, data []byte) {
		r.Dispatch(ec, typ, data)
	}})
	ec.mu.Lock()
	ec.ended = true
	ec.mu.Unlock()
	c.CloseNow()
	ec.closes.Wait()
	return err
}

// Context returns the context Serve was called with.
func (c *Conn) Context() context.Context { return c.ctx }

// Conn returns the underlying connection.
func (c *Conn) Conn() *ws.Conn { return c.conn }

// Send writes a message, bounded by the context.
func (c *Conn) Send(typ ws.MessageType, data []byte) error {
	return c.conn.WriteMessage(c.ctx, typ, data)
}

// Close starts the close handshake and returns without waiting for it: the
// read loop, which may be the caller, receives the peer's answer, and Serve
// returns once the handshake is over.
func (c *Conn) Close(code ws.CloseCode, reason string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ended {
		return ws.ErrClosed
	}
	c.closes.Add(1)
	go func() {
		defer c.closes.Done()
		c.conn.Close(code, reason)
	}()
	return nil
}

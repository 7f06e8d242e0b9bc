//go:build !js

package ws

import (
	"context"
	"errors"
)

// Serve runs a read loop that dispatches messages, pings, pongs and the
// peer's close to h, in the style of an event emitter, until the connection
// ends. It returns the error that ended it: a *CloseError when the peer
// closed, the protocol error when the peer broke the rules, or the I/O
// error. An application that only writes (a ticker, a dashboard) still needs
// a reader for pings to be answered and the peer's close to be seen; Serve
// with an empty Handler is that reader.
//
// Serve is the connection's reader while it runs: do not call ReadMessage or
// NextReader concurrently, nor from a callback. To end it, call Close, from
// a callback or another goroutine. Called from a callback, Close sends the
// close frame and returns, and Serve completes the handshake when the
// callback returns. Called from another goroutine, Close waits, as always,
// for the handshake to end, which needs the callback running then to
// return; at Options.CloseTimeout it closes TCP anyway. Ping called from a
// callback fails with ErrPingFromReader; WritePing works. If ctx ends
// first, or had ended before the call, the connection is closed at once.
func (c *Conn) Serve(ctx context.Context, h Handler) error {
	if err := c.acquireRead(ctx); err != nil {
		return err
	}
	defer c.readSem.unlock()
	c.hooks = &h
	c.serving = true
	c.extra().hookG.Store(goid())
	defer func() {
		// Also after a callback's panic: the Conn must not believe a
		// callback still runs.
		c.inHook.Store(false)
		c.hooks = nil
		c.serving = false
	}()
	if err := ctx.Err(); err != nil {
		c.closeTransport()
		return err
	}
	w := c.watch(ctx, false)
	c.setReadCtx(ctx)
	defer c.clearReadCtx()
	var buf []byte
	var err error
	for {
		typ, msg, ok := c.popPending(buf[:0])
		if !ok {
			if c.readError() != nil {
				break
			}
			typ, msg, err = c.readMessage(buf[:0])
		}
		if err != nil {
			break
		}
		if h.OnMessage != nil {
			c.inHook.Store(true)
			h.OnMessage(typ, msg)
			c.inHook.Store(false)
		}
		buf = msg
	}
	if err == nil {
		err = c.readError()
	}
	err = c.stopWatch(ctx, w, err)
	var ce *CloseError
	if h.OnClose != nil && errors.As(err, &ce) {
		c.inHook.Store(true)
		h.OnClose(ce.Code, ce.Reason)
		c.inHook.Store(false)
	}
	return err
}

//go:build !js

package ws

import (
	"context"
	"errors"
	"time"

	"github.com/rfc6455/ws/closecode"
)

var errKeepAliveInterval = errors.New("ws: KeepAlive needs a positive interval")

// abortWriteTimeout bounds the write of the close frame that Abort sends
// before it closes TCP: enough for a frame that fits in the socket's send
// buffer, not enough to wait for a peer that does not read.
const abortWriteTimeout = 100 * time.Millisecond

// KeepAlive pings the peer every interval and waits up to timeout for each
// pong (RFC 6455 §5.5.2: a ping may serve as a keepalive), until ctx ends or
// the connection closes. It suits connections that may stay silent for
// long: it finds a peer that went away without closing (a dropped network,
// a sleeping laptop) and keeps idle-timeout proxies from cutting the
// connection. Run it on a goroutine of its own:
//
//	go c.KeepAlive(ctx, 30*time.Second, 10*time.Second)
//
// Pongs are seen by the goroutine that reads, so the connection needs a
// reader (Serve, or a loop calling ReadMessage or NextReader), as for Ping.
// A timeout of zero or less means interval.
//
// When a pong does not come in time, KeepAlive fails the connection: it
// sends a close frame with 1011 (internal error) and the reason "keepalive
// timeout" if the writer is free, without waiting for an answer, and closes
// TCP at once. Reads then return an error with close code 1006 (abnormal
// closure) that wraps ErrKeepAliveTimeout, and KeepAlive returns
// ErrKeepAliveTimeout. It returns ErrClosed once the connection is closed
// for another reason, and ctx's error, leaving the connection open, when
// ctx ends.
//
// Each KeepAlive holds a ticker; to watch many connections from one
// goroutine, use WritePing and Options.OnPong, or the hub package's
// heartbeat.
func (c *Conn) KeepAlive(ctx context.Context, interval, timeout time.Duration) error {
	if interval <= 0 {
		return errKeepAliveInterval
	}
	if timeout <= 0 {
		timeout = interval
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-c.done():
			return ErrClosed
		case <-t.C:
		}
		pctx, cancel := context.WithTimeout(ctx, timeout)
		err := c.Ping(pctx)
		cancel()
		switch {
		case err == nil:
		case ctx.Err() != nil:
			return ctx.Err()
		case errors.Is(err, context.DeadlineExceeded):
			c.abort(closecode.InternalError, "keepalive timeout", ErrKeepAliveTimeout)
			return ErrKeepAliveTimeout
		case errors.Is(err, ErrClosed) || c.State() == StateClosed:
			return ErrClosed
		default:
			return err
		}
	}
}

// abort fails the connection for a local reason, without a close
// handshake: a close frame with code and reason goes out if no other frame
// is being written, bounded by abortWriteTimeout, and TCP is closed at once.
// Reads return an error that wraps cause from then on.
func (c *Conn) abort(code CloseCode, reason string, cause error) {
	c.extra().abortCause.CompareAndSwap(nil, &cause)
	if c.frameSem.tryLock() {
		if !c.tx.CloseSent() && c.writeError() == nil {
			bp := writeBufPool.Get().(*[]byte)
			b, _ := c.tx.AppendClose((*bp)[:0], code, reason)
			c.tx.MarkCloseSent()
			c.setState(StateClosing)
			c.nc.SetWriteDeadline(time.Now().Add(abortWriteTimeout))
			c.nc.Write(b)
			writeBufPool.Put(bp)
		}
		c.frameSem.unlock()
	}
	c.closeTransport()
}

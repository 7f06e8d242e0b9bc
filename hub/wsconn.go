package hub

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rfc6455/ws"
)

// wsConn is the Transport of the clients Serve runs: a *ws.Conn, whose
// writes block, behind a bounded queue emptied by a writer goroutine of its
// own, so that one slow reader never delays the others, and a heartbeat
// goroutine that pings it.
type wsConn struct {
	c    *Client
	conn *ws.Conn

	queue    chan *ws.PreparedMessage
	buffered atomic.Int64
	abort    atomic.Bool   // no more messages are written
	stopped  atomic.Bool   // the writer is making, or has made, its last drain
	done     chan struct{} // closed when the read loop has ended

	closeCode   ws.CloseCode // of the close frame queued behind the messages
	closeReason string       // guarded by c.mu
	wg          sync.WaitGroup
}

// closeMarker, queued by a flushing close, tells the writer to send the
// close frame.
var closeMarker = &ws.PreparedMessage{}

func newWSConn(conn *ws.Conn, queueSize int) *wsConn {
	return &wsConn{
		conn:  conn,
		queue: make(chan *ws.PreparedMessage, queueSize),
		done:  make(chan struct{}),
	}
}

// Send queues a payload without blocking; a payload other than a
// *ws.PreparedMessage is sent as a message of its type and data.
func (t *wsConn) Send(p Payload) error {
	pm, ok := p.(*ws.PreparedMessage)
	if !ok {
		var err error
		if pm, err = ws.NewPreparedMessage(p.Type(), p.Data()); err != nil {
			return err
		}
	}
	n := int64(len(pm.Data()))
	h := t.c.hub
	// Reserve the bytes first, so that concurrent senders cannot together
	// go over the bound. A message larger than the bound still goes into
	// an empty queue.
	total := t.buffered.Add(n)
	if h.opts.QueueBytes > 0 && total > h.opts.QueueBytes && total != n {
		t.buffered.Add(-n)
		return ErrQueueFull
	}
	// Counted before it is queued: the writer's subtraction may come
	// first otherwise, and Stats would see the sum go negative.
	h.m.queued.Add(n)
	select {
	case t.queue <- pm:
		if t.stopped.Load() {
			// The writer may have made its last drain before this
			// message landed, and nothing would take it out, or
			// its bytes out of the counts (issue 20, bug 9): take
			// out what is left. The writer sets stopped before
			// that drain, so either it sees this message or this
			// sees stopped.
			t.drain()
		}
		return nil
	default:
		t.buffered.Add(-n)
		h.m.queued.Add(-n)
		return ErrQueueFull
	}
}

// Close queues the close frame behind the messages waiting (flush), or, if
// the queue is full or flush is not set, drops them and sends it at once.
// The client's state machine (Client.closeWith) calls it at most once per
// mode, holding the client's lock, before the read loop has ended.
func (t *wsConn) Close(code ws.CloseCode, reason string, flush bool) error {
	if flush {
		t.closeCode, t.closeReason = code, reason
		select {
		case t.queue <- closeMarker:
			return nil
		default:
		}
	}
	t.abort.Store(true)
	t.wg.Add(1)
	go func() {
		defer t.wg.Done()
		t.conn.Close(code, reason)
	}()
	if flush {
		return ErrQueueFull
	}
	return nil
}

// CloseNow closes the TCP connection at once.
func (t *wsConn) CloseNow() error {
	t.abort.Store(true)
	return t.conn.CloseNow()
}

// BufferedAmount returns the bytes queued or being written.
func (t *wsConn) BufferedAmount() int64 { return t.buffered.Load() }

// Queued returns the number of messages waiting in the queue.
func (t *wsConn) Queued() int { return len(t.queue) }

// start runs the writer and the heartbeat; c.mu is held.
func (t *wsConn) start() {
	t.wg.Add(1)
	go t.writeLoop()
	if o := &t.c.hub.opts; o.PingInterval > 0 {
		t.wg.Add(1)
		go t.heartbeat(o.PingInterval, o.PongTimeout)
	}
}

// end stops the writer and the heartbeat once the read loop has ended.
func (t *wsConn) end() {
	t.abort.Store(true)
	close(t.done)
}

// writeLoop writes queued messages until the client ends.
func (t *wsConn) writeLoop() {
	defer t.wg.Done()
	c := t.c
	h := c.hub
	for {
		select {
		case pm := <-t.queue:
			if pm == closeMarker {
				if !t.abort.Load() {
					c.mu.Lock()
					code, reason := t.closeCode, t.closeReason
					c.mu.Unlock()
					t.conn.Close(code, reason)
				}
				t.lastDrain()
				return
			}
			n := int64(len(pm.Data()))
			var err error
			if !t.abort.Load() {
				err = t.write(pm)
			}
			t.buffered.Add(-n)
			h.m.queued.Add(-n)
			if err != nil {
				c.setClosing()
				t.abort.Store(true)
				t.lastDrain()
				return
			}
		case <-t.done:
			t.lastDrain()
			return
		}
	}
}

// lastDrain is the writer's last act: no message is written any more, and
// the queue is emptied. A sender that queues a message after it sees
// stopped and drains it itself.
func (t *wsConn) lastDrain() {
	t.stopped.Store(true)
	t.drain()
}

// write writes one message, bounded by WriteTimeout.
func (t *wsConn) write(pm *ws.PreparedMessage) error {
	h := t.c.hub
	ctx := context.Background()
	if d := h.opts.WriteTimeout; d > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, d)
		defer cancel()
	}
	if err := t.conn.WritePrepared(ctx, pm); err != nil {
		return err
	}
	t.c.sent.Add(1)
	h.m.messagesOut.Add(1)
	h.m.bytesOut.Add(uint64(len(pm.Data())))
	return nil
}

// drain empties the queue of a client that writes no more, taking each
// message's bytes out of the counts. Senders see closing set and queue
// nothing new, but one may have passed the check just before: it drains
// again after its message landed (Send). Concurrent drains take each
// message once.
func (t *wsConn) drain() {
	for {
		select {
		case pm := <-t.queue:
			n := int64(len(pm.Data()))
			t.buffered.Add(-n)
			t.c.hub.m.queued.Add(-n)
		default:
			return
		}
	}
}

// heartbeat pings the peer every interval and terminates it when a pong is
// late. The pong is seen by the read loop, Serve's goroutine.
func (t *wsConn) heartbeat(interval, timeout time.Duration) {
	defer t.wg.Done()
	c := t.c
	h := c.hub
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case <-t.done:
			return
		case <-tick.C:
		}
		cctx := c.Context()
		ctx, cancel := context.WithTimeout(cctx, timeout)
		err := t.conn.Ping(ctx)
		cancel()
		switch {
		case err == nil:
			h.m.pongs.Add(1)
			continue
		case errors.Is(err, context.DeadlineExceeded) && cctx.Err() == nil:
			h.m.pongTimeouts.Add(1)
			h.log.Warn("hub: terminating a client that did not answer a ping", "id", c.id, "user", c.user, "timeout", timeout)
			c.terminate(ErrPongTimeout)
		}
		return
	}
}

package hub

import (
	"bytes"
	"context"
	"errors"
	"runtime/debug"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rfc6455/ws"
)

// Client is a connection in a hub: its identity, its rooms, and its bounded
// send queue, written by a goroutine of its own so that a slow reader never
// blocks the others. Its methods are safe for concurrent use.
type Client struct {
	hub  *Hub
	conn *ws.Conn
	id   string
	user string
	ns   string
	data any

	ctx    context.Context
	cancel context.CancelFunc

	queue    chan *ws.PreparedMessage
	buffered atomic.Int64
	dropped  atomic.Uint64
	sent     atomic.Uint64
	closing  atomic.Bool   // no more messages are queued
	abort    atomic.Bool   // no more messages are written
	done     chan struct{} // closed when the read loop has ended

	mu          sync.Mutex
	ended       bool // the read loop has ended; no goroutine may start
	closeMode   int  // notClosing, closeQueued or closeStarted
	closeCode   ws.CloseCode
	closeReason string
	why         error // the reason the hub ended the client
	values      map[any]any
	wg          sync.WaitGroup // writer, heartbeat and closers

	rooms map[string]struct{} // guarded by hub.mu
}

// ID returns the client's ID: unique in the hub, unpredictable, and safe to
// show to other clients.
func (c *Client) ID() string { return c.id }

// User returns Info.User.
func (c *Client) User() string { return c.user }

// Data returns Info.Data.
func (c *Client) Data() any { return c.data }

// Conn returns the connection. Write to it through the client (Send) so
// that the queue and its accounting stay right; reading belongs to the hub.
func (c *Client) Conn() *ws.Conn { return c.conn }

// Context returns the client's context; it ends when the client is gone.
func (c *Client) Context() context.Context { return c.ctx }

// Hub returns the hub the client belongs to.
func (c *Client) Hub() *Hub { return c.hub }

// Namespace returns the client's namespace.
func (c *Client) Namespace() Namespace { return Namespace{h: c.hub, name: c.ns} }

// Set attaches a value to the client under key, as per-connection metadata
// that handlers share.
func (c *Client) Set(key, value any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.values == nil {
		c.values = make(map[any]any)
	}
	c.values[key] = value
}

// Get returns the value attached under key, or nil.
func (c *Client) Get(key any) any {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.values[key]
}

// BufferedAmount returns the payload bytes queued for the client and not
// yet written to the network, like the browser's WebSocket.bufferedAmount.
func (c *Client) BufferedAmount() int64 { return c.buffered.Load() }

// Queued returns the number of messages waiting in the send queue.
func (c *Client) Queued() int { return len(c.queue) }

// Sent returns the number of messages written to the client.
func (c *Client) Sent() uint64 { return c.sent.Load() }

// Dropped returns the number of messages dropped because the client's queue
// was full.
func (c *Client) Dropped() uint64 { return c.dropped.Load() }

// Send queues a message for the client and returns at once; the client's
// writer sends it. data is copied. It returns ErrQueueFull when the queue
// is full (the message is dropped, or the client closed, as the Overflow
// policy says) and ErrClosed when the client is closing.
func (c *Client) Send(typ ws.MessageType, data []byte) error {
	pm, err := ws.NewPreparedMessage(typ, bytes.Clone(data))
	if err != nil {
		return err
	}
	return c.enqueue(pm)
}

// SendPrepared queues a prepared message for the client, as Send does,
// without copying it.
func (c *Client) SendPrepared(pm *ws.PreparedMessage) error { return c.enqueue(pm) }

// Close closes the client with code and reason, after the messages already
// queued for it have been written; messages sent after Close are refused
// with ErrClosed. It returns at once, so it may be called from OnMessage:
// the client's writer sends the close frame, and Serve returns once the
// close handshake is over (within the connection's CloseTimeout). If the
// queue is full, the close frame goes out at once instead. Closing a client
// that is closing already does nothing.
func (c *Client) Close(code ws.CloseCode, reason string) error {
	c.closeWith(nil, code, reason, true)
	return nil
}

// closeMarker, queued by a flushing close, tells the writer to send the
// close frame.
var closeMarker = &ws.PreparedMessage{}

// Close modes.
const (
	notClosing = iota
	closeQueued
	closeStarted
)

// closeWith closes the client, recording why (if why is not nil and no
// reason was recorded before). With flush, the close frame is queued behind
// the messages waiting; without it, or when the queue is full, it is sent at
// once and the messages waiting are dropped. It reports whether it started
// an immediate close.
func (c *Client) closeWith(why error, code ws.CloseCode, reason string, flush bool) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.why == nil {
		c.why = why
	}
	c.closing.Store(true)
	if c.ended || c.closeMode == closeStarted || (c.closeMode == closeQueued && flush) {
		return false
	}
	if flush {
		c.closeCode, c.closeReason = code, reason
		select {
		case c.queue <- closeMarker:
			c.closeMode = closeQueued
			return false
		default:
		}
	}
	c.closeMode = closeStarted
	c.abort.Store(true)
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		c.conn.Close(code, reason)
	}()
	return true
}

// terminate closes the TCP connection at once, recording why.
func (c *Client) terminate(why error) {
	c.mu.Lock()
	if c.why == nil {
		c.why = why
	}
	c.mu.Unlock()
	c.closing.Store(true)
	c.abort.Store(true)
	c.conn.CloseNow()
}

// reason returns why the hub ended the client, or nil.
func (c *Client) reason() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.why
}

// start runs the writer and the heartbeat.
func (c *Client) start() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.wg.Add(1)
	go c.writeLoop()
	if c.hub.opts.PingInterval > 0 {
		c.wg.Add(1)
		go c.heartbeat(c.hub.opts.PingInterval, c.hub.opts.PongTimeout)
	}
}

// end marks the read loop over: no more messages are queued, and the
// client's goroutines stop.
func (c *Client) end() {
	c.mu.Lock()
	c.ended = true
	c.mu.Unlock()
	c.closing.Store(true)
	c.abort.Store(true)
	close(c.done)
	c.cancel()
}

// enqueue queues pm without blocking, applying the Overflow policy when the
// queue is full.
func (c *Client) enqueue(pm *ws.PreparedMessage) error {
	if c.closing.Load() {
		return ErrClosed
	}
	n := int64(len(pm.Data()))
	h := c.hub
	// Reserve the bytes first, so that concurrent senders cannot together
	// go over the bound. A message larger than the bound still goes into
	// an empty queue.
	total := c.buffered.Add(n)
	if h.opts.QueueBytes > 0 && total > h.opts.QueueBytes && total != n {
		c.buffered.Add(-n)
		return c.overflow()
	}
	select {
	case c.queue <- pm:
		h.m.queued.Add(n)
		return nil
	default:
		c.buffered.Add(-n)
		return c.overflow()
	}
}

// overflow applies the Overflow policy to a message that did not fit.
func (c *Client) overflow() error {
	h := c.hub
	if h.opts.Overflow == CloseSlow {
		if c.closeWith(ErrQueueFull, h.opts.OverflowCode, "send queue full", false) {
			h.m.slowClosed.Add(1)
			h.log.Warn("hub: closed a slow client", "id", c.id, "user", c.user, "queued", c.Queued(), "buffered", c.BufferedAmount())
		}
		return ErrQueueFull
	}
	c.dropped.Add(1)
	h.m.dropped.Add(1)
	return ErrQueueFull
}

// writeLoop writes queued messages until the client ends.
func (c *Client) writeLoop() {
	defer c.wg.Done()
	h := c.hub
	for {
		select {
		case pm := <-c.queue:
			if pm == closeMarker {
				if !c.abort.Load() {
					c.mu.Lock()
					code, reason := c.closeCode, c.closeReason
					c.mu.Unlock()
					c.conn.Close(code, reason)
				}
				c.drain()
				return
			}
			n := int64(len(pm.Data()))
			var err error
			if !c.abort.Load() {
				err = c.write(pm)
			}
			c.buffered.Add(-n)
			h.m.queued.Add(-n)
			if err != nil {
				c.closing.Store(true)
				c.abort.Store(true)
				c.drain()
				return
			}
		case <-c.done:
			c.drain()
			return
		}
	}
}

// write writes one message, bounded by WriteTimeout.
func (c *Client) write(pm *ws.PreparedMessage) error {
	ctx := context.Background()
	if d := c.hub.opts.WriteTimeout; d > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, d)
		defer cancel()
	}
	if err := c.conn.WritePrepared(ctx, pm); err != nil {
		return err
	}
	c.sent.Add(1)
	c.hub.m.messagesOut.Add(1)
	c.hub.m.bytesOut.Add(uint64(len(pm.Data())))
	return nil
}

// drain empties the queue of a client that writes no more. Senders see
// closing set and queue nothing new, but one may have passed the check
// just before; its message stays in the channel and is collected with the
// client.
func (c *Client) drain() {
	for {
		select {
		case pm := <-c.queue:
			n := int64(len(pm.Data()))
			c.buffered.Add(-n)
			c.hub.m.queued.Add(-n)
		default:
			return
		}
	}
}

// heartbeat pings the peer every interval and terminates it when a pong is
// late. The pong is seen by the read loop, Serve's goroutine.
func (c *Client) heartbeat(interval, timeout time.Duration) {
	defer c.wg.Done()
	t := time.NewTicker(interval)
	defer t.Stop()
	h := c.hub
	for {
		select {
		case <-c.done:
			return
		case <-t.C:
		}
		ctx, cancel := context.WithTimeout(c.ctx, timeout)
		err := c.conn.Ping(ctx)
		cancel()
		switch {
		case err == nil:
			h.m.pongs.Add(1)
			continue
		case errors.Is(err, context.DeadlineExceeded) && c.ctx.Err() == nil:
			h.m.pongTimeouts.Add(1)
			h.log.Warn("hub: terminating a client that did not answer a ping", "id", c.id, "user", c.user, "timeout", timeout)
			c.terminate(ErrPongTimeout)
		}
		return
	}
}

// onMessage handles a message from the read loop.
func (c *Client) onMessage(typ ws.MessageType, data []byte) {
	h := c.hub
	h.m.messagesIn.Add(1)
	h.m.bytesIn.Add(uint64(len(data)))
	if lim := h.opts.RateLimit; lim != nil {
		key := c.id
		if h.opts.RateLimitPerUser && c.user != "" {
			key = "user:" + c.user
		}
		if !lim.Allow(key) {
			h.m.rateLimited.Add(1)
			if h.opts.RateLimitClose {
				h.log.Warn("hub: closing a client over its rate limit", "id", c.id, "user", c.user)
				c.closeWith(ErrRateLimited, ws.ClosePolicyViolation, "rate limit exceeded", true)
			} else {
				c.enqueue(h.rateReply)
			}
			return
		}
	}
	if h.opts.OnMessage == nil {
		return
	}
	defer func() {
		if v := recover(); v != nil {
			h.recovered(c, "OnMessage", v)
			if h.panicMsg != nil {
				c.enqueue(h.panicMsg)
				return
			}
			c.closeWith(ErrPanic, ws.CloseInternalError, "internal error", true)
		}
	}()
	h.opts.OnMessage(c, typ, data)
}

// Rooms returns the names of the rooms the client is in, sorted.
func (c *Client) Rooms() []string {
	c.hub.mu.RLock()
	defer c.hub.mu.RUnlock()
	rs := make([]string, 0, len(c.rooms))
	for r := range c.rooms {
		rs = append(rs, r)
	}
	slices.Sort(rs)
	return rs
}

// Join adds the client to rooms of its namespace, creating them as needed.
// A client that is gone joins nothing.
func (c *Client) Join(rooms ...string) {
	h := c.hub
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.clients[c.id] != c {
		return
	}
	ns := h.nsLocked(c.ns, true)
	if c.rooms == nil {
		c.rooms = make(map[string]struct{})
	}
	for _, r := range rooms {
		set := ns.rooms[r]
		if set == nil {
			set = make(map[*Client]struct{})
			ns.rooms[r] = set
		}
		set[c] = struct{}{}
		c.rooms[r] = struct{}{}
	}
}

// Leave removes the client from rooms; a room left empty is deleted.
func (c *Client) Leave(rooms ...string) {
	h := c.hub
	h.mu.Lock()
	defer h.mu.Unlock()
	ns := h.namespaces[c.ns]
	if ns == nil {
		return
	}
	for _, r := range rooms {
		if _, ok := c.rooms[r]; ok {
			h.leaveLocked(ns, r, c)
			delete(c.rooms, r)
		}
	}
}

// leaveLocked removes c from a room's members; h.mu must be held.
func (h *Hub) leaveLocked(ns *nsState, room string, c *Client) {
	set := ns.rooms[room]
	delete(set, c)
	if len(set) == 0 {
		delete(ns.rooms, room)
	}
}

// stack returns the current goroutine's stack, for panic logs.
func stack() string { return string(debug.Stack()) }
